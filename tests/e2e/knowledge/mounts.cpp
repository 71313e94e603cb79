#include "tests/e2e/knowledge/mounts.h"

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <fstream>

#include "sim/netns.h"

namespace reflex::testing {
namespace {

namespace fs = std::filesystem;

Result<std::string> mount_source_of(const fs::path& at) {
  auto out = sim::run_command({"findmnt", "-n", "-o", "SOURCE", "--mountpoint", at.string()});
  if (!out) return out.error();
  std::string s = *out;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Status enter_private_mount_namespace() {
  static bool done = false;
  if (done) return ok();
  if (::unshare(CLONE_NEWNS) != 0) return errno_error("unshare(CLONE_NEWNS)", errno, "run the test as root");
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return errno_error("make / private in the test's mount namespace", errno);
  done = true;
  return ok();
}

Result<Mount> Mount::tmpfs(const fs::path& at, std::uint64_t bytes) {
  std::error_code ec;
  fs::create_directories(at, ec);
  std::string opts = "size=" + std::to_string(bytes) + ",mode=0755";
  if (::mount("tmpfs", at.c_str(), "tmpfs", 0, opts.c_str()) != 0)
    return errno_error("mount a tmpfs of " + std::to_string(bytes) + " bytes at " + at.string(), errno);
  Mount m(at, "tmpfs", "tmpfs", opts);
  m.mounted_ = true;
  return m;
}

Result<Mount> Mount::ext4_image(const fs::path& image, const fs::path& at, std::uint64_t bytes) {
  std::error_code ec;
  fs::create_directories(at, ec);
  { std::ofstream f(image, std::ios::binary | std::ios::trunc); }
  fs::resize_file(image, bytes, ec);
  if (ec) return errno_error("size " + image.string(), ec.value());
  if (auto r = sim::run_command({"mkfs.ext4", "-q", "-F", image.string()}); !r) return r.error();
  Mount m(at, "ext4", image.string(), "loop,errors=remount-ro");
  if (auto s = m.mount_again(); !s) return s.error();
  return m;
}

Mount::Mount(Mount&& o) noexcept
    : at_(std::move(o.at_)),
      type_(std::move(o.type_)),
      source_(std::move(o.source_)),
      options_(std::move(o.options_)),
      device_(std::move(o.device_)),
      mounted_(std::exchange(o.mounted_, false)) {}

Mount::~Mount() {
  if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
}

Status Mount::remount(bool read_only) {
  unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
  if (::mount(nullptr, at_.c_str(), nullptr, flags, options_.c_str()) != 0)
    return errno_error(std::string("remount ") + at_.string() + (read_only ? " read-only" : " read-write"),
                       errno);
  return ok();
}

Status Mount::unmount() {
  if (::umount2(at_.c_str(), 0) != 0) return errno_error("unmount " + at_.string(), errno);
  mounted_ = false;
  return ok();
}

Status Mount::mount_again() {
  if (type_ == "tmpfs") {
    if (::mount("tmpfs", at_.c_str(), "tmpfs", 0, options_.c_str()) != 0)
      return errno_error("mount " + at_.string(), errno);
  } else {
    // mount(8) sets the loop device up (and frees it at unmount: autoclear).
    if (auto r = sim::run_command({"mount", "-t", type_, "-o", options_, source_, at_.string()}); !r)
      return r.error();
    auto dev = mount_source_of(at_);
    if (!dev) return dev.error();
    device_ = *dev;
  }
  mounted_ = true;
  return ok();
}

Status Mount::trigger_fs_error() {
  if (device_.empty()) return make_error("trigger_fs_error: not an ext4 image");
  const std::string knob = "/sys/fs/ext4/" + fs::path(device_).filename().string() + "/trigger_fs_error";
  std::ofstream f(knob);
  if (!f) return make_error("open " + knob, "the kernel lacks ext4's error trigger");
  f << "reflex test: the disk failed\n";
  f.flush();
  if (!f) return make_error("write " + knob);
  return ok();
}

Status Mount::fsck() {
  // e2fsck exits 1 when it fixed something, which is the point here.
  auto r = sim::run_command({"sh", "-c", "e2fsck -fy " + source_ + " >/dev/null 2>&1; test $? -le 1"});
  if (!r) return r.error();
  return ok();
}

}  // namespace reflex::testing
