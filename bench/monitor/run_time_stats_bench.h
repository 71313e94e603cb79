#pragma once
// What BPF run-time stats (BPF_ENABLE_STATS) cost: the guard's and a bare
// XDP_DROP program's per-packet time under BPF_PROG_TEST_RUN with the stats
// off and on, interleaved, best of rounds; and how long turning them on
// (bpf_enable_stats) and off (closing its fd) blocks the caller.

#include <cstdio>

#include "common/result.h"

namespace reflex::bench {

struct RunTimeStatsBenchOptions {
  int rounds = 7;                 // off/on pairs, best of each kept
  unsigned repeat = 1'000'000;    // BPF_PROG_TEST_RUN repeat per measurement
  int switches = 10;              // enable/close pairs timed
};

struct RunTimeStatsBenchReport {
  double base_off_ns = 0, base_on_ns = 0;    // bare XDP_DROP
  double guard_off_ns = 0, guard_on_ns = 0;  // the guard, 1000 rules, a packet matching none
  double enable_ms_p50 = 0, enable_ms_max = 0, close_ms_p50 = 0, close_ms_max = 0;
};

Result<RunTimeStatsBenchReport> run_run_time_stats_bench(const RunTimeStatsBenchOptions& o, std::FILE* out);

}  // namespace reflex::bench
