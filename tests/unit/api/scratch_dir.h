#pragma once
// A folder under the temp dir for one test, removed (with what is in it) when
// the test ends, pass or fail.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace reflex::api::testing {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    // Short: a Unix socket path must fit in 108 bytes.
    path_ = std::filesystem::temp_directory_path() /
            ("rfx-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

}  // namespace reflex::api::testing
