#pragma once
// Runs one scenario once against one node kind, on the real kernel: builds
// the topology, starts the node and the victim, plays the traffic schedule,
// samples every counter every 10 ms, then waits for the node's rules to go,
// tears everything down (also when interrupted) and returns what it saw.

#include "sim/node_under_test.h"
#include "sim/run_data.h"
#include "sim/scenario.h"

#include <atomic>
#include <string>

namespace reflex::sim {

struct RunOptions {
  NodeKind node = NodeKind::none;
  int run_index = 0;
  std::string pin_root;  // a private bpffs folder for this run's guard
  std::string work_dir;  // per-run scratch: the daemon's log and store
  std::string reflexd;   // the reflexd executable (node reflex)
  std::string policies;  // the policy folder reflexd runs with
  const std::atomic<bool>* interrupt = nullptr;  // set by a signal: stop now, clean up
};

// What the live view shows once a second and at every event.
struct LiveStatus {
  TimeNs t_ns = 0;
  std::optional<double> benign_goodput;  // the last second
  double attack_sent_pps = 0, attack_arrived_pps = 0;
  double guard_drop_pps = 0;
  std::uint32_t rules = 0;
  std::string phase;  // baseline, attack, after, settle
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_event(const NodeEvent&) {}
  virtual void on_status(const LiveStatus&) {}
};

// Returns the run's data; a failure to set up or run is in RunData::error
// (the run still tore down what it built).
RunData run_scenario(const Scenario& s, const RunOptions& opts, RunObserver* observer = nullptr);

}  // namespace reflex::sim
