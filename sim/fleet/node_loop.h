#pragma once
// What runs a simulated node's MAPE-K tick: it gets the node's Observation
// and its FleetNode (null with cooperation off), and reports what it did.
// The datapath it acts on is the node's DatapathModel, given when it is made.
// real_node_loop.h has the daemon's own Loop over it.

#include "fleet/fleet_node.h"
#include "knowledge/action.h"
#include "knowledge/observation.h"
#include "sim/fleet/datapath_model.h"

#include <functional>
#include <memory>
#include <vector>

namespace reflex::sim::fleet {

// What a node's loop holds now (`--slices` with `--verbose` prints them, so
// live state that grows with simulated time shows).
struct LoopCounts {
  std::size_t tracks = 0, active_tracks = 0, owners = 0, backoff = 0, emitted = 0, symptoms = 0, desired_rules = 0;
};

struct StepReport {
  std::vector<Action> actions;    // planned this tick
  std::vector<Outcome> outcomes;  // reported this tick
};

class NodeLoop {
 public:
  virtual ~NodeLoop() = default;
  // inbox: what the bus delivered since the last tick, for `fleet` to judge.
  virtual const StepReport& step(Observation obs, TimeNs wall_now, const std::vector<reflex::fleet::Inbound>& inbox,
                                 reflex::fleet::FleetNode* fleet) = 0;
  virtual LoopCounts counts() const { return {}; }
};

// Makes a node's loop over its datapath (which outlives the loop).
using NodeLoopFactory = std::function<std::unique_ptr<NodeLoop>(DatapathModel& datapath)>;

}  // namespace reflex::sim::fleet
