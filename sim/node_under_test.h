#pragma once
// The node a scenario runs against, chosen per run:
//   reflex     `reflexd run` as a child process, the whole MAPE-K loop;
//   none       no reflex at all: the traffic alone, the baseline of harm;
//   threshold  a fixed-threshold controller (FastNetMon-style): the guard is
//              loaded, and every tick any source above N pps is blocked.
// The runner reads the datapath itself (Guard::open on the same pins); a
// node reports what it decided as events on the run's clock.

#include "common/result.h"
#include "knowledge/time.h"
#include "sim/scenario.h"
#include "sim/topology.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace reflex::sim {

enum class NodeKind { reflex, none, threshold };
std::string_view to_string(NodeKind k);
std::optional<NodeKind> parse_node_kind(std::string_view s);

// Something the node decided or reported, on the run's clock.
struct NodeEvent {
  TimeNs t_ns = 0;
  std::string lane;     // symptom, action, outcome, attach, daemon
  std::string kind;     // e.g. flood, block, applied, rolled_back, expired
  std::string subject;  // e.g. 203.0.113.0/24
  std::string text;     // one readable line
};

struct NodeContext {
  const Scenario* scenario = nullptr;
  const Topology* topology = nullptr;
  std::string pin_root;
  std::string work_dir;  // logs, the daemon's store
  std::chrono::steady_clock::time_point t0;
  std::string reflexd;   // path of the reflexd executable
  std::string policies;  // policy folder for reflexd
};

class NodeUnderTest {
 public:
  virtual ~NodeUnderTest() = default;
  virtual NodeKind kind() const = 0;
  // Ready for traffic: the datapath attached (reflex: /readyz answers 200).
  virtual Status start() = 0;
  // Called by the runner every sampling period with the run's time.
  virtual Status poll(TimeNs now) = 0;
  // Events since the last call.
  virtual std::vector<NodeEvent> take_events() = 0;
  // kill -9 and restart (reflex only; a node with no daemon has nothing to kill).
  virtual Status kill_daemon() { return ok(); }
  virtual Status start_daemon() { return ok(); }
  // Stops the node and removes its datapath (the guard is unloaded).
  virtual void stop() = 0;
  // Does the node load the guard (so the runner can read its counters)?
  virtual bool has_guard() const = 0;
};

std::unique_ptr<NodeUnderTest> make_node(NodeKind kind, const NodeContext& ctx);

TimeNs since(std::chrono::steady_clock::time_point t0);  // run clock now

}  // namespace reflex::sim
