#pragma once
// One full Monitor tick over several guarded interfaces with a large rule
// set each, and the loop's own CPU share at a given tick interval.
//
// The setup is a worst case for the per-tick reads: every guard's talkers
// LRU is filled to the brim (by running its XDP program on packets from
// distinct sources with BPF_PROG_TEST_RUN, which counts into the same maps),
// and traffic keeps every counter moving, so no read can be skipped.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/result.h"
#include "guard/guard.h"

namespace reflex::bench {

struct TickBenchOptions {
  std::size_t ifaces = 4;
  std::size_t rules = 100'000;  // per interface
  std::size_t talkers = 16384;  // distinct sources per interface (the LRU's size fills it)
  int ticks = 30;               // measured one by one
  int gap_ms = 200;             // between measured ticks
  double share_seconds = 10;    // the loop on its timer, for the CPU share
  int interval_ms = 1000;
  // Steady UDP through every interface meanwhile, half of it from a source a
  // rule drops (so verdicts, rule counters, talkers, sampled drop events and
  // kernel drop reasons all move every tick). 0: idle interfaces.
  double pps_per_iface = 5000;
  std::uint32_t sample_every = guard::kDefaultSampleEvery;  // the guards' drop sampling (events ring)
};

struct TickBenchReport {
  double cpu_ms_mean = 0, cpu_ms_p50 = 0, cpu_ms_max = 0;  // per tick, the loop thread's CPU
  double wall_ms_mean = 0;
  double loop_cpu_share = 0;  // of one CPU, over share_seconds on the timer
  int loop_ticks = 0;
  struct Part {
    std::string probe;
    double ms_per_tick = 0;
  };
  std::vector<Part> parts;  // wall time per probe per tick
};

Result<TickBenchReport> run_tick_bench(const TickBenchOptions& o, std::FILE* out);

}  // namespace reflex::bench
