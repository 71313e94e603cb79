#pragma once
// Observation: what Monitor saw in one tick. Owned by the Monitor stage
// (issue 3); other stages read it. Plain values only.
//
// Counters are the kernel's cumulative values, kept monotonic by the Monitor:
// when a source restarts (a guard reloaded, a probe's map recreated) its new
// counts are added on top of what was seen before, and 32-bit wrap is undone.
// Rates are per second over the last tick (0 on the first tick).
// Fields are appended, never reordered: stages and tests build these with
// aggregate initialisation.
// `reflexd observe` prints this as JSON (knowledge/json/observation_json.h); the
// field names there are a contract other tools read.

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
  std::uint64_t pass = 0;          // passed and no rule would drop: no match, allow, within a rate limit, non-IP, malformed
  std::uint64_t drop = 0;          // a drop rule matched
  std::uint64_t rate_limited = 0;  // over a rate_limit rule's budget
  std::uint64_t shadow = 0;        // a shadow rule would have dropped (the packet passed)
  std::uint64_t allowed = 0;       // of pass: matched an allow rule
  std::uint64_t non_ip = 0;        // of pass
  std::uint64_t malformed = 0;     // of pass: truncated or bad headers
  std::uint64_t bytes = 0;         // every packet the guard judged
  std::uint64_t events_lost = 0;   // sampled drop events the ring had no room for (the reader is behind)
};

struct XdpRates {
  double pass_pps = 0, drop_pps = 0, rate_limited_pps = 0, shadow_pps = 0;
};

struct RttSummary {
  // Over the samples taken during the last tick (the window the percentiles describe).
  double p50_us = 0, p90_us = 0, p99_us = 0;
  std::uint64_t samples = 0;
  std::array<std::uint64_t, 32> log2_us_buckets{};  // last tick; bucket i counts RTTs in [2^i, 2^(i+1)) us
  double mean_us = 0;
  std::uint64_t samples_total = 0;  // cumulative
};

// TCP retransmissions by sockets whose traffic leaves through an interface
// (the tcp:tcp_retransmit_skb tracepoint), per tick and cumulative.
struct RetransSummary {
  std::uint64_t retransmits = 0;  // cumulative
  double per_s = 0;               // over the last tick
  // TCP segments those sockets sent over the last tick, when the probe counts
  // them (0: unknown), so a rate can be read as a share of what was sent.
  double segments_per_s = 0;
};

// A guard rule that matched packets during the last tick.
struct RuleObservation {
  std::uint32_t uid = 0;  // stable id of the rule's key (guard::rule_uid)
  std::string rule;       // in rules-file form: "203.0.113.0/24 drop proto=udp"
  std::uint64_t packets = 0, bytes = 0;  // cumulative
  double pps = 0;
};

struct InterfaceObservation {
  AttachMode mode = AttachMode::none;         // what the guard is attached as now (none: not attached)
  AttachMode wanted_mode = AttachMode::none;  // what reflex asked for at load (none: unknown / no guard)
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  std::uint64_t rx_errors = 0, rx_dropped = 0, tx_errors = 0, tx_dropped = 0;
  double rx_pps = 0, rx_bps = 0;               // bps: bits per second (as plan/ reads it)
  std::map<std::string, std::uint64_t> drops;  // kernel drop reason (skb_drop_reason name) -> packets
  XdpVerdictCounts xdp;
  std::optional<RttSummary> rtt;           // absent when the RTT probe is not running
  std::vector<std::string> attach_errors;  // attach/driver trouble seen this tick
  // Appended by the Monitor (issue 3).
  std::string name;       // the interface's name in its namespace
  std::string netns;      // namespace name ("" = the Monitor's own)
  bool present = false;   // found in its namespace this tick
  bool oper_up = false;
  double tx_pps = 0, tx_bps = 0;
  XdpRates xdp_rates;
  std::optional<double> guard_ns_per_packet;  // the guard's own run time, on ticks that measured it
  std::uint64_t rules = 0;                    // guard rules in force
  std::vector<RuleObservation> top_rules;     // by packets in the last tick
  std::uint64_t drop_events = 0;              // sampled drop events read from the guard's ring buffer (cumulative)
  std::uint32_t sample_every = 0;             // the guard samples 1 drop in N into events (0 = off)
  std::optional<RetransSummary> retrans;      // absent when the retransmit probe is not running
};

struct TalkerObservation {
  std::string iface;
  Prefix source;  // a host prefix (/32 or /128)
  std::uint64_t packets = 0, bytes = 0, dropped = 0;  // cumulative
  double pps = 0;
};

// The hosts of one network (an IPv4 /24, an IPv6 /64) in a guard's talker
// table, summed: a flood spread over many hosts, each slower than the benign
// clients, still stands out as a network.
struct PrefixTalkerObservation {
  std::string iface;
  Prefix prefix;              // the /24 or /64
  std::uint32_t sources = 0;  // hosts of it in the table this tick
  std::uint64_t packets = 0, bytes = 0, dropped = 0;  // cumulative, summed over those hosts
  double pps = 0;
};

// A sampled drop from a guard's events ring buffer.
struct DropSample {
  std::string iface;
  std::uint64_t ts_ns = 0;  // CLOCK_BOOTTIME, as the datapath stamped it
  std::string reason;       // guard reason: drop, rate_limited, shadow
  std::uint32_t rule_uid = 0;
  Prefix source;
  std::uint8_t proto = 0;
  std::uint16_t dport = 0;
  std::uint16_t pkt_len = 0;
};

struct MapObservation {
  std::uint64_t entries = 0, max_entries = 0;
  double growth_per_s = 0;  // entries per second over the last tick
};

struct DegradedProbe {
  std::string probe;   // "guard:eth0", "drop_reasons", ...
  std::string reason;  // what failed and what to do about it
};

struct Observation {
  TimeNs ts_ns = 0;                                        // monotonic
  std::map<std::string, InterfaceObservation> interfaces;  // by the name the operator gave
  std::vector<TalkerObservation> talkers;                  // top talkers per interface, by pps
  std::map<std::string, MapObservation> maps;              // every map reflex owns that can fill up
  std::vector<DegradedProbe> degraded;
  // Appended by the Monitor (issue 3).
  TimeNs interval_ns = 0;                // since the previous tick (0 on the first)
  std::uint64_t seq = 0;                 // tick number, from 0
  std::vector<DropSample> drop_samples;  // sampled during the last tick (capped)
  std::vector<PrefixTalkerObservation> prefix_talkers;  // the fastest networks per interface, by summed pps
};

}  // namespace reflex
