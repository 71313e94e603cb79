#pragma once
// Observation: what Monitor saw in one tick. Owned by the Monitor stage
// (issue 3); other stages read it. Counters are cumulative since the probe
// started; rates are per second over the last tick.

#include "common/prefix.h"
#include "knowledge/attach_mode.h"
#include "knowledge/time.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reflex {

struct XdpVerdictCounts {
  std::uint64_t pass = 0;          // no rule matched, or an allow rule matched
  std::uint64_t drop = 0;          // a drop rule matched
  std::uint64_t rate_limited = 0;  // over a rate_limit rule's budget
  std::uint64_t shadow = 0;        // a shadow rule would have dropped
  std::uint64_t allowed = 0;       // of pass: matched an allow rule
  std::uint64_t non_ip = 0;        // of pass
  std::uint64_t malformed = 0;     // of pass: truncated or bad headers
};

struct RttSummary {
  double p50_us = 0, p90_us = 0, p99_us = 0;
  std::uint64_t samples = 0;
  std::array<std::uint64_t, 32> log2_us_buckets{};  // bucket i counts RTTs in [2^i, 2^(i+1)) us
};

struct InterfaceObservation {
  AttachMode mode = AttachMode::none;
  AttachMode wanted_mode = AttachMode::none;
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  std::uint64_t rx_errors = 0, rx_dropped = 0, tx_errors = 0, tx_dropped = 0;
  double rx_pps = 0, rx_bps = 0;
  std::map<std::string, std::uint64_t> drops;  // kernel drop reason -> packets
  XdpVerdictCounts xdp;
  std::optional<RttSummary> rtt;
  std::vector<std::string> attach_errors;
};

struct TalkerObservation {
  std::string iface;
  Prefix source;  // a host prefix (/32 or /128)
  std::uint64_t packets = 0, bytes = 0, dropped = 0;
  double pps = 0;
};

struct MapObservation {
  std::uint64_t entries = 0, max_entries = 0;
  double growth_per_s = 0;
};

struct DegradedProbe {
  std::string probe;
  std::string reason;
};

struct Observation {
  TimeNs ts_ns = 0;
  std::map<std::string, InterfaceObservation> interfaces;
  std::vector<TalkerObservation> talkers;
  std::map<std::string, MapObservation> maps;
  std::vector<DegradedProbe> degraded;
};

}  // namespace reflex
