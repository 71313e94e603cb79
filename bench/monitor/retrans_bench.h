#pragma once
// The TCP retransmit probe's cost: BPF run time per event of each of its
// programs (BPF_ENABLE_STATS), beside tcp_rtt's program on the same
// tcp:tcp_probe tracepoint as the anchor, under a bulk TCP flow between two
// namespaces without loss and with the guard rate-limiting it; then its
// share of a Monitor tick.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/result.h"

namespace reflex::bench {

struct RetransBenchOptions {
  double seconds = 2;  // per measurement window
  int rounds = 5;      // windows per scenario, best kept
  std::uint32_t limit_pps =
      20000;         // the lossy scenario: the guard lets this many packets/s of the flow through
  int ticks = 20;    // Monitor ticks measured
  int gap_ms = 100;  // between them
};

struct ProgCost {
  std::string prog;
  double ns_per_run = 0;  // best window
  double runs_per_s = 0;  // in that window
};

struct RetransBenchReport {
  std::vector<ProgCost> clean, lossy;
  double clean_ratio = 0,
         lossy_ratio = 0;             // the probe's tcp_probe program over the anchor's, median of windows
  double tick_ms = 0;                 // CPU of a whole tick (median)
  double retrans_ms = 0, rtt_ms = 0;  // wall of two of its probes (medians)
  double full_map_ms = 0;             // CPU of reading a full map as the probe does (median)
};

Result<RetransBenchReport> run_retrans_bench(const RetransBenchOptions& o, std::FILE* out);

}  // namespace reflex::bench
