#pragma once
// The report of `reflex-sim fleet`: report.json (fleet-wide and per-node
// figures of each run, cooperation on against off on the same traffic, the
// scenario's expectations checked) and timeline.svg (per node, or per group
// of nodes in big fleets, over time: attack packets delivered, attack
// dropped, benign dropped, and rules held ahead of an attack; one panel per
// run, side by side). docs/fleet.md describes every figure.

#include "common/result.h"
#include "sim/fleet/fleet_run.h"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace reflex::sim::fleet {

struct RunSummary {
  double attack_packets = 0, attack_delivered = 0;
  double moving_packets = 0, moving_delivered = 0;  // moving attacks only
  double benign_packets = 0, benign_dropped = 0;
  std::uint64_t actions = 0;
  std::map<std::string, std::uint64_t> actions_by_kind;
  std::uint64_t verdicts_sent = 0, verdicts_received = 0, verdicts_refused = 0, verdicts_acted_on = 0,
                false_verdicts_sent = 0;
  // Onset to drop (seconds) over the attacks' visits to entry nodes.
  std::vector<double> onset_to_drop_s;
  std::size_t visits = 0, visits_never_dropped = 0;
  // Moving attacks: by the order an entry node was hit (0: the first), the
  // mean onset to drop (a visit never dropped counts its whole dwell) and
  // the attack packets delivered.
  std::vector<double> by_order_onset_s, by_order_delivered;
};

RunSummary summarize(const FleetScenario& s, const FleetRun& r);

struct FleetCheck {
  std::string metric;
  double max = 0;
  std::optional<double> value;
  bool pass = false;
};
// The scenario's expectations, over runs holding cooperation on and off.
std::vector<FleetCheck> check_expectations(const FleetScenario& s, const std::vector<FleetRun>& runs);

boost::json::object report_json(const FleetScenario& s, const std::vector<FleetRun>& runs);
std::string timeline_svg(const FleetScenario& s, const std::vector<FleetRun>& runs);
// report.json and timeline.svg into dir (created if missing).
Status write_fleet_report(const FleetScenario& s, const std::vector<FleetRun>& runs, const std::string& dir);

}  // namespace reflex::sim::fleet
