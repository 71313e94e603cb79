#pragma once
// What one run of a scenario recorded, and the figures computed from it.
// compute_metrics() is pure: the e2e tests check it on real runs, the unit
// tests on hand-made samples.

#include "common/prefix.h"
#include "knowledge/time.h"
#include "sim/latency_probe.h"
#include "sim/node_under_test.h"
#include "sim/scenario.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reflex::sim {

struct ClassInfo {
  std::string name;
  TrafficClass cls = TrafficClass::benign;
  TrafficKind kind = TrafficKind::udp;
  std::vector<std::uint32_t> sources;  // crafted groups: every source address (host order)
  double intended_rate = 0;            // udp/syn: pps; tcp: bytes per second
  TimeNs from_ns = 0, until_ns = 0;    // when the group sends
};

// Cumulative counters at one instant. Index = class (0 is "unclassified").
struct Sample {
  TimeNs t_ns = 0;
  std::vector<std::uint64_t> offered;  // udp/syn: packets sent; tcp: bytes written
  std::vector<std::uint64_t> arrived;  // packets that reached the victim's sockets
  std::vector<std::uint64_t> served;   // udp: requests served; tcp: bytes received
  std::uint64_t guard_dropped = 0;     // guard verdicts: drop (rule and rate limit)
  std::uint64_t guard_passed = 0;
  std::uint32_t rules = 0;             // rules in force (not expired)
};

struct RuleLife {
  Prefix prefix;
  std::string action;  // drop, rate_limit, shadow, allow
  TimeNs first_seen_ns = 0, last_seen_ns = 0;
  std::optional<TimeNs> gone_ns;      // removed, or past its expiry
  std::optional<TimeNs> expiry_ns;    // latest expiry seen, on the run clock
  std::optional<TimeNs> expiry_at_attack_end_ns;  // the expiry it had when the attack stopped
  std::uint32_t benign_sources_covered = 0;  // drop/rate_limit only
};

struct RunData {
  std::string scenario;
  NodeKind node = NodeKind::none;
  int run_index = 0;
  TimeNs duration_ns = 0, end_ns = 0;  // traffic end, and the end of the settle phase
  std::optional<TimeNs> onset_ns;      // first attack packet sent
  std::optional<TimeNs> attack_end_ns;
  std::vector<std::pair<TimeNs, TimeNs>> attack_windows;  // [on, off) of every attack phase
  // With no attack (a flash crowd): the span of the groups that join after
  // the start; the goodput phases before/during/after are around it.
  std::optional<std::pair<TimeNs, TimeNs>> surge_window;
  std::vector<ClassInfo> classes;
  std::vector<Sample> samples;
  std::vector<NodeEvent> events;  // the node's and the scenario's (lane "scenario"), in time order
  std::vector<RuleLife> rules;
  std::vector<RttSample> rtt;
  std::optional<std::pair<TimeNs, TimeNs>> bulk_window;
  std::uint64_t benign_dropped = 0;  // guard drops of benign sources (the talker table)
  std::uint64_t false_block_sources = 0;
  std::uint32_t rules_left = 0;
  std::string attach_mode;  // as the guard recorded it at the end
  bool interrupted = false;
  std::string error;  // the run failed: why
};

struct Ratios {
  std::optional<double> before, during, after;
};

struct Percentiles {
  std::optional<double> p50, p99;
};

struct RunMetrics {
  std::optional<double> onset_to_detect_ms, onset_to_action_ms, onset_to_drop_ms;
  std::optional<double> recovered_ms;  // benign goodput back to >= 95% of before, for good
  Ratios benign_goodput_ratio;
  std::uint64_t benign_dropped = 0;
  std::uint64_t attack_sent = 0, attack_delivered = 0;
  std::optional<double> attack_offered_pps;  // what the generator reached while the attack was on
  std::optional<double> attack_delivered_ratio;
  std::uint64_t actions_applied = 0, actions_rolled_back = 0, actions_expired = 0;
  std::uint64_t false_blocks = 0;
  std::uint32_t rules_left = 0;
  std::uint32_t rules_max = 0;  // most rules in force at once
  std::optional<double> rules_gone_lag_ms;  // worst: gone minus the TTL it had when the attack stopped
  Percentiles rtt_before_ms, rtt_during_ms, rtt_after_ms;
  // The second half of the load: what the path settled to under it (a node
  // that heals the queue does so after the load began, never before).
  Percentiles rtt_late_ms;
};

RunMetrics compute_metrics(const RunData& run);

// Rates per bucket, for the picture and the report's series.
struct RateSeries {
  std::vector<double> t_s;                   // bucket end, seconds
  std::vector<std::vector<double>> arrived;  // per class, packets/s that reached the victim
  std::vector<double> attack_sent, guard_dropped, rules;
  std::vector<double> benign_goodput;        // 0..1, -1 where no benign traffic was offered
};
RateSeries rate_series(const RunData& run, TimeNs bucket = 100 * kNsPerMs);

// Goodput of benign classes in [from, to): served / offered, averaged over
// classes (UDP counts requests, TCP bytes against its paced rate).
std::optional<double> benign_goodput(const RunData& run, TimeNs from, TimeNs to);

// A sorted sample's percentile, nearest rank (q in [0, 1]).
double percentile(std::vector<double> values, double q);

}  // namespace reflex::sim
