#pragma once
// BPF_PROG_TEST_RUN: run a loaded program on one packet, in the kernel, with
// no interface. The basis of the table-driven tests and the benchmarks.

#include "common/result.h"

#include <cstdint>
#include <span>

namespace reflex::guard {

struct TestRunResult {
  std::uint32_t retval = 0;       // XDP_* or TC_ACT_* verdict
  std::uint32_t duration_ns = 0;  // mean per run, as the kernel measured it
};

Result<TestRunResult> test_run(int prog_fd, std::span<const std::uint8_t> packet, std::uint32_t repeat = 1);

}  // namespace reflex::guard
