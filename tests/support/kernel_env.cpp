#include "tests/support/kernel_env.h"

#include "guard/bpf_util.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace reflex::testing {

bool ensure_bpffs() {
  if (guard::is_bpffs("/sys/fs/bpf")) return true;
  return ::mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) == 0;
}

std::string bpf_unavailable_reason() {
  if (geteuid() != 0) return "not running as root (CAP_BPF, CAP_NET_ADMIN)";
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) return "no kernel BTF at /sys/kernel/btf/vmlinux";
  if (!ensure_bpffs()) return "cannot mount bpffs at /sys/fs/bpf";
  return {};
}

const std::string& test_pin_root() {
  static const std::string root = [] {
    std::string r = "/sys/fs/bpf/reflex-test-" + std::to_string(getpid());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all("/sys/fs/bpf/reflex-test-" + std::to_string(getpid()), ec);
    });
    return r;
  }();
  return root;
}

}  // namespace reflex::testing
