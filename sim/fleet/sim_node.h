#pragma once
// One simulated node: the traffic arriving on its interface goes through its
// datapath model; the node's Monitor-like view of that (cumulative counters,
// rates, top talkers, rule counters) is the Observation its loop steps on;
// its FleetNode talks to the others over the simulated bus.

#include "fleet/fleet_node.h"
#include "knowledge/observation.h"
#include "sim/fleet/datapath_model.h"
#include "sim/fleet/node_loop.h"
#include "sim/fleet/scenario.h"
#include "sim/fleet/sim_bus.h"
#include "sim/fleet/timeline.h"
#include "sim/fleet/traffic_model.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace reflex::sim::fleet {

inline constexpr const char* kSimIface = "mesh0";
// Rules per tick an Observation lists, as the Monitor's default top_rules.
inline constexpr std::size_t kTopRules = 10;
// The simulated Unix time of t = 0 (wall clocks for verdict timestamps).
inline constexpr TimeNs kSimEpochNs = 1'800'000'000 * kNsPerSec;

struct VisitResult {
  int attack = 0;
  TimeNs onset = 0, until = 0;
  std::optional<TimeNs> first_drop;  // first tick where at least half of the attack's packets were dropped
  double packets = 0, delivered = 0;
};

struct NodeResult {
  std::vector<VisitResult> visits;
  double attack_packets = 0, attack_delivered = 0;
  double benign_packets = 0, benign_dropped = 0;
  std::map<std::string, int> actions;  // applied, by kind (block, rate_limit, shadow, unblock, ...)
  std::uint64_t verdicts_sent = 0, verdicts_received = 0, verdicts_refused = 0, verdicts_acted_on = 0;
  std::uint64_t false_verdicts_sent = 0;  // a poisoned node's lies
};

struct NodeSetup {
  int index = 0;
  const FleetScenario* scenario = nullptr;
  const TrafficModel* traffic = nullptr;
  SimBus::Endpoint* endpoint = nullptr;  // null: cooperation off
  const PoisonSpec* poison = nullptr;
  std::vector<Prefix> lies;              // what a poisoned node lies about
  Timeline* timeline = nullptr;
  bool trace = false;  // print this node's actions and outcomes as they happen
};

// What a node holds now, its loop's and its own (for `--slices --verbose`).
struct NodeCounts {
  LoopCounts loop;
  std::size_t model_rules = 0, live_model_rules = 0, sources = 0, peer_entries = 0, peer_symptoms = 0;
};

class SimNode {
 public:
  SimNode(NodeSetup setup, const NodeLoopFactory& make_loop);

  // One tick ending at `now`: traffic through the datapath, then the loop.
  void tick(TimeNs now, double dt, const std::vector<reflex::fleet::Inbound>& inbox);
  const NodeResult& result() const { return result_; }
  std::string id() const;
  NodeCounts counts(TimeNs now) const;

 private:
  Observation observe(TimeNs now, double dt);
  void lie(TimeNs now);

  NodeSetup s_;
  DatapathModel dp_;
  std::unique_ptr<NodeLoop> loop_;
  std::optional<reflex::fleet::FleetNode> fleet_;
  std::vector<Flow> flows_;
  // Cumulative per-source counters, for talkers as the guard's table keeps them.
  // Benign sources first, at their slot; then attack sources seen (few).
  struct SourceCount {
    Prefix source;
    double packets = 0, bytes = 0, dropped = 0, tick_packets = 0;
  };
  SourceCount& source(const Flow& f);
  std::vector<SourceCount> sources_;
  std::size_t benign_sources_ = 0;
  std::vector<const SourceCount*> order_;  // observe()'s scratch
  std::vector<const ModelRule*> rule_order_;  // observe()'s scratch
  InterfaceObservation iface_;
  std::uint64_t seq_ = 0;
  TimeNs last_lie_ = -1;
  std::size_t next_lie_ = 0;
  std::uint64_t lie_seq_ = 1;
  NodeResult result_;
  std::vector<int> visit_index_;  // result_.visits index per traffic visit of this node
};

}  // namespace reflex::sim::fleet
