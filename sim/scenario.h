#pragma once
// A scenario: what traffic runs against the node under test, when, and what
// happens to the node, read from a YAML file in sim/scenarios/. Times are
// offsets from the start of the run. The format is in docs/scenarios.md.

#include "common/prefix.h"
#include "common/result.h"
#include "knowledge/time.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reflex::sim {

enum class TrafficClass { benign, attack };
enum class TrafficKind {
  udp,  // crafted UDP datagrams to the victim's UDP service
  syn,  // crafted TCP SYNs to the victim's TCP service
  tcp,  // real TCP connections from the clients' namespace, paced
};
std::string_view to_string(TrafficClass c);
std::string_view to_string(TrafficKind k);

struct Pulse {
  TimeNs on_ns = 0, off_ns = 0;
};

// Attackers arriving over time: only `size` of the group's sources send at
// once, each a flood on its own, and every `every` the next `size` take over
// (hit and run; more distinct attackers over the attack than at any moment).
struct Wave {
  std::uint32_t size = 0;
  TimeNs every_ns = 0;
};

// One stream of traffic: one class in the report.
struct TrafficGroup {
  std::string name;
  TrafficClass cls = TrafficClass::benign;
  TrafficKind kind = TrafficKind::udp;
  std::vector<Prefix> sources;  // udp/syn: crafted source addresses are picked inside these
  std::uint32_t count = 1;      // udp/syn: distinct source addresses; tcp: connections
  double pps = 0;               // udp/syn: packets per second, all sources together
  std::uint64_t rate_bps = 0;   // tcp: bits per second, all connections together
  std::uint32_t size = 64;      // udp: payload bytes
  TimeNs from_ns = 0;
  std::optional<TimeNs> until_ns;  // default: the scenario's duration
  std::optional<Pulse> pulse;
  std::optional<Wave> wave;  // udp/syn

  TimeNs end_ns(TimeNs duration) const { return until_ns.value_or(duration); }
  // Is the group sending at time t (offset from the run's start)?
  bool active_at(TimeNs t, TimeNs duration) const;
};

enum class ScenarioAction { kill_daemon, start_daemon };
struct ScenarioEvent {
  TimeNs at_ns = 0;
  ScenarioAction action = ScenarioAction::kill_daemon;
};

// A bottleneck on the path from the node to the clients: tbf with a deep buffer.
struct PathBottleneck {
  std::uint64_t rate_bps = 0;
  TimeNs latency_ns = 0;  // the buffer, as the time it takes to drain
};

// Bulk TCP from the node to the clients (the traffic a shaper should slow),
// and a UDP echo probe measuring the round trip through the same path.
struct BulkUpload {
  std::uint32_t flows = 1;
  TimeNs from_ns = 0;
  std::optional<TimeNs> until_ns;
};

// A light paced TCP upload from the node for the whole run.
struct BackgroundUpload {
  std::uint64_t rate_bps = 0;
};

struct NodeSpec {
  std::string mode = "auto";           // attach mode asked for (reflexd --mode, guard load)
  std::optional<std::uint32_t> peer_mtu;  // MTU of the link's far end: jumbo frames refuse native XDP
  std::uint32_t udp_capacity_pps = 0;  // the UDP service serves at most this many requests/s (0: as fast as it can)
  std::uint32_t max_rules = 0;         // guard rule capacity (0: the guard's default)
};

struct ThresholdSpec {
  double pps = 5000;  // block a source above this rate
  TimeNs ttl_ns = 10 * kNsPerSec;
};

// Targets the reflex node must reach; checked by `reflex-sim run --check`
// and reported as pass/fail.
struct Expectations {
  std::optional<double> onset_to_drop_ms_max;
  std::optional<double> recovered_ms_max;  // benign goodput back to 95% of before
  std::optional<std::uint64_t> false_blocks_max;
  std::optional<std::uint64_t> rules_left_max;
  std::optional<double> attack_delivered_ratio_max;
  std::optional<double> rules_gone_lag_ms_max;  // rule gone after its TTL (or revert) ran out
  std::optional<double> rtt_p99_late_ms_max;    // probe RTT p99 over the second half of the bulk load
};

struct Scenario {
  std::string name;
  std::string description;
  std::string file;
  TimeNs duration_ns = 0;   // traffic ends here
  TimeNs settle_max_ns = 60 * kNsPerSec;  // then wait for rules to go, at most this long
  TimeNs tick_ns = 100 * kNsPerMs;
  NodeSpec node;
  ThresholdSpec threshold;
  std::vector<TrafficGroup> traffic;
  std::vector<ScenarioEvent> events;
  std::optional<PathBottleneck> bottleneck;
  std::optional<BulkUpload> bulk;
  std::optional<BackgroundUpload> background;
  Expectations expect;

  // First attack packet (the onset), and the last instant any attack runs.
  std::optional<TimeNs> onset_ns() const;
  std::optional<TimeNs> attack_end_ns() const;
  bool any_attack_active(TimeNs t) const;
};

// Parses a scenario file. Errors read like the policy loader's: every
// finding, each with file:line:col, the field and the fix.
Result<Scenario> load_scenario(const std::string& path);
Result<Scenario> parse_scenario(const std::string& text, const std::string& file);

// The concrete source addresses of a crafted group (host order, IPv4).
std::vector<std::uint32_t> group_sources(const TrafficGroup& g);

}  // namespace reflex::sim
