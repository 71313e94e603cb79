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

// A small change as the loop makes one when it blocks a flood: one rule
// swapped in on top of 100 and out again, alternately, `rounds` times each.
struct SmallSwapReport {
  int rounds = 0;
  double best_ms = 0, median_ms = 0, p90_ms = 0;  // Guard::replace, wall
  double cpu_ms = 0;                              // user + sys per swap (all threads), mean
  std::size_t slot_writes = 0;                    // per swap, before the flip (the last swap's)
  // Anchors in the same rounds: main's slot protocol replayed on the same
  // maps (each write and delete one after another, each waiting for its
  // grace period; the flip's wait between), and one grace period alone.
  double serial_best_ms = 0, serial_median_ms = 0, serial_p90_ms = 0;
  std::size_t serial_waits = 0;  // grace periods that protocol waits for
  double gp_best_ms = 0, gp_median_ms = 0, gp_p90_ms = 0;
};

struct GuardBenchReport {
  std::vector<BenchRow> rows;
  std::vector<SwapRow> swaps;
  SmallSwapReport small_swap;
};

Result<SmallSwapReport> run_small_swap_bench(int rounds, std::FILE* out);

Result<GuardBenchReport> run_guard_bench(const GuardBenchOptions& opts, std::FILE* out);

}  // namespace reflex::bench
