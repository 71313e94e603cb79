#pragma once
// Small filesystems a test makes and removes: a tmpfs of a given size, an
// ext4 image on a loop device. Everything is mounted inside a private mount
// namespace the test process enters first, so nothing is visible to the host
// and nothing outlives the process, even if it crashes.

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.h"

namespace reflex::testing {

// Moves this process (it must be single-threaded) into its own mount
// namespace with private propagation. Idempotent.
Status enter_private_mount_namespace();

// Mounted at construction, lazily unmounted at destruction.
class Mount {
 public:
  static Result<Mount> tmpfs(const std::filesystem::path& at, std::uint64_t bytes);
  // A fresh ext4 image file of `bytes`, loop-mounted with errors=remount-ro.
  static Result<Mount> ext4_image(const std::filesystem::path& image, const std::filesystem::path& at,
                                  std::uint64_t bytes);
  Mount(Mount&& o) noexcept;
  Mount& operator=(Mount&&) = delete;
  Mount(const Mount&) = delete;
  ~Mount();

  Status remount(bool read_only);
  Status unmount();      // now (fails if something holds it)
  Status mount_again();  // after unmount(): the same source and options
  // ext4 only: an error as the kernel would raise on a failing disk; with
  // errors=remount-ro the filesystem turns read-only under its users.
  Status trigger_fs_error();
  Status fsck();  // ext4 only, unmounted
  const std::filesystem::path& path() const { return at_; }

 private:
  Mount(std::filesystem::path at, std::string type, std::string source, std::string options)
      : at_(std::move(at)),
        type_(std::move(type)),
        source_(std::move(source)),
        options_(std::move(options)) {}
  std::filesystem::path at_;
  std::string type_, source_, options_;
  std::string device_;  // /dev/loopN for ext4
  bool mounted_ = false;
};

}  // namespace reflex::testing
