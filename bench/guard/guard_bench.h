#pragma once
// The guard's per-packet cost and swap time, measured in this kernel:
// BPF_PROG_TEST_RUN with a large repeat count on the same packets for a bare
// XDP_DROP program, xdp-filter's program (loaded by xdp-filter itself on a
// veth in a throwaway namespace), and the guard at growing rule counts.

#include "common/result.h"

#include <cstdio>
#include <string>
#include <vector>

namespace reflex::bench {

struct GuardBenchOptions {
  std::vector<std::size_t> sizes;  // empty: 1, 1k, 100k, 1M
  bool quick = false;              // fewer repeats and sizes, for the test suite
  bool xdp_filter = true;          // include xdp-filter (needs xdp-tools)
};

struct BenchRow {
  std::string program;
  std::size_t rules = 0;
  double miss_ns = -1;  // packet matching no rule (passes)
  double hit_ns = -1;   // packet matching a drop rule
};

struct SwapRow {
  std::string shape;
  std::size_t rules = 0;
  double compile_ms = 0, install_ms = 0;
};

struct GuardBenchReport {
  std::vector<BenchRow> rows;
  std::vector<SwapRow> swaps;
};

Result<GuardBenchReport> run_guard_bench(const GuardBenchOptions& opts, std::FILE* out);

}  // namespace reflex::bench
