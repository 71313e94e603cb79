#pragma once
// Test support for tests that need the kernel: root, bpffs, and the features
// they use. A test may skip only when the kernel truly lacks a feature, and
// says which; .ci/run fails the build if anything skipped on a machine that
// has them.

#include <string>

namespace reflex::testing {

// Empty when BPF tests can run here; otherwise why not (not root, no BTF, ...).
std::string bpf_unavailable_reason();

// Mounts bpffs at /sys/fs/bpf if nothing is mounted there. Returns false on failure.
bool ensure_bpffs();

// A pin root private to this test process, under /sys/fs/bpf; removed at exit.
const std::string& test_pin_root();

}  // namespace reflex::testing

// Skips the current test with the reason when the kernel lacks what BPF tests need.
#define REFLEX_REQUIRE_BPF()                                                    \
  do {                                                                          \
    if (auto why = ::reflex::testing::bpf_unavailable_reason(); !why.empty()) \
      GTEST_SKIP() << "kernel lacks BPF support needed here: " << why;        \
  } while (0)
