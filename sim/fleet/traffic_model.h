#pragma once
// The traffic each simulated node sees: its benign sources (a stable median
// rate each, with per-tick noise) and the attacks on it while it is an entry
// node. Open loop: what arrives does not depend on what the node does, so
// cooperation on and off run on exactly the same traffic.

#include "sim/fleet/datapath_model.h"
#include "sim/fleet/mesh.h"
#include "sim/fleet/scenario.h"

#include <vector>

namespace reflex::sim::fleet {

// One attack's presence at one node.
struct Visit {
  int attack = 0;
  int node = 0;
  TimeNs from = 0, until = 0;
  double pps = 0;  // all its sources together
};

class TrafficModel {
 public:
  TrafficModel(const FleetScenario& s, const Mesh& mesh);

  // Appends the flows arriving at `node` during the tick ending at `now`
  // (`dt` seconds long).
  void flows(int node, TimeNs now, double dt, std::vector<Flow>& out) const;

  const std::vector<Visit>& visits() const { return visits_; }
  const std::vector<int>& visits_of(int node) const { return by_node_[static_cast<std::size_t>(node)]; }
  // Prefixes that carry benign traffic (/24s), what a poisoned node lies about.
  std::vector<Prefix> benign_prefixes() const;
  Prefix benign_source(int node, int j) const;
  int packet_bytes(bool attack, int attack_index) const;

 private:
  const FleetScenario& s_;
  std::vector<std::vector<double>> benign_pps_;  // node -> source -> median pps
  std::vector<Visit> visits_;
  std::vector<std::vector<int>> by_node_;  // node -> visit indexes
};

}  // namespace reflex::sim::fleet
