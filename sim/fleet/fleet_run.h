#pragma once
// One run of a fleet scenario in virtual time: every node's traffic through
// its datapath model, its loop stepped once per tick, the bus between the
// ticks. Nothing sleeps: a tick is as long as the work in it. Cooperation on
// and off run on exactly the same traffic (the traffic model is open loop
// and every draw a pure function of the seed).
//
// Per tick, ending at `now`: the bus learns the time and link states and
// delivers what is due; every node ticks (in parallel, `threads` at a time:
// nodes share nothing during a tick); then what the nodes published goes
// onto the wire, in node order, so a run is the same whatever the threads.

#include "sim/fleet/node_loop.h"
#include "sim/fleet/scenario.h"
#include "sim/fleet/sim_bus.h"
#include "sim/fleet/sim_node.h"
#include "sim/fleet/timeline.h"
#include "sim/fleet/traffic_model.h"

#include <vector>

namespace reflex::sim::fleet {

struct RunOptions {
  bool coop = true;
  int threads = 1;
  int timeline_bins = 240;
  int trace_node = -1;  // print this node's actions and outcomes
  // Print to stderr the wall and CPU cost per node-tick of every slice of this
  // many simulated seconds (0: none): whatever grows with simulated time shows.
  int slice_s = 0;
  // With slices: also print, per slice, what the nodes hold (mean and max).
  bool slice_counts = false;
  NodeLoopFactory loop;  // real_loop_factory() in reflex-sim
};

struct FleetRun {
  bool coop = true;
  std::vector<NodeResult> nodes;
  std::vector<Visit> visits;  // the attacks' presence at each entry node, in order
  BusStats bus;
  Timeline timeline;
  double wall_s = 0;          // how long the run took (the host's steady clock)
  std::uint64_t node_ticks = 0;
};

FleetRun run_fleet(const FleetScenario& s, const RunOptions& o);

}  // namespace reflex::sim::fleet
