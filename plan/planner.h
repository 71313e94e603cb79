#pragma once
// The planner: maps the symptoms raised now to a Plan under the operator's
// policies and overrides. A pure function: everything it depends on is an
// argument (time included), everything it remembers is returned in
// PlannerState, so feeding the same inputs replays the same decisions.
//
// Contract with Analyze: `symptoms` lists every symptom raised at `now_ns`
// (level-based, like the executor's desired state). A symptom missing from the
// list has cleared; hysteresis (`clear_for`, `clear_below`) keeps a flapping
// symptom from flapping the actions.

#include "knowledge/action.h"
#include "knowledge/history.h"
#include "knowledge/observation.h"
#include "knowledge/snapshot.h"
#include "knowledge/symptom.h"
#include "plan/policy.h"

#include <map>
#include <string>
#include <vector>

namespace reflex::plan {

// The slice of the Snapshot the guardrails need: how much traffic an action
// would touch, and which attach mode an interface is in; and what a relative
// shaping rate (`rate: 85%`) is a share of.
struct IfaceTraffic {
  double rx_pps = 0;
  double rx_bps = 0;
  AttachMode mode = AttachMode::none;
  double tx_bps = 0;             // egress, bits per second
  std::uint64_t shaped_bps = 0;  // the whole-interface shape in force (Execute's desired state); 0: none
};
struct TalkerTraffic {
  std::string iface;
  Prefix source;
  double pps = 0;
};
struct TrafficView {
  std::map<std::string, IfaceTraffic> ifaces;
  std::vector<TalkerTraffic> talkers;

  static TrafficView from_observation(const Observation& obs);
  // The Observation's, with the shapes in force from the desired state.
  static TrafficView from_snapshot(const Snapshot& snap);
};

struct PlanInput {
  TimeNs now_ns = 0;
  std::uint64_t snapshot_version = 0;
  std::vector<Symptom> symptoms;    // all symptoms raised now
  // When set, the symptoms are read from here instead (the loop's Snapshot
  // holds them already: copying them every tick cost more than planning on
  // them). It must outlive the call.
  const std::vector<Symptom>* symptoms_from = nullptr;
  const std::vector<Symptom>& all_symptoms() const { return symptoms_from ? *symptoms_from : symptoms; }
  // Beside all_symptoms(), when set: their stamps (see SymptomFill), which
  // let a quiet plan be known again without comparing the symptoms.
  const std::vector<std::uint64_t>* symptom_stamps = nullptr;
  TrafficView traffic;
  std::vector<Override> overrides;  // operator overrides in force (expired ones are ignored)
  std::vector<Outcome> outcomes;    // outcomes reported since the last plan (repeats are ignored)
  // The generation of `policy` (a new one for every load): lets a Planner
  // know the rules did not change under it. 0: unknown.
  std::uint64_t policy_generation = 0;
};

struct PlanOutput {
  Plan plan;
  PlannerState state;
};

// What a planner held between plans may remember to save work, beside the
// state: it changes no decision (a plan made without it is the same), so it
// is neither stored nor compared. Whoever replaces the state resets it.
struct PlanCache {
  // Every emitted action was planned at or after this (a lower bound, kept
  // as actions are emitted), so none is due for retention before then.
  bool emitted_oldest_known = false;
  TimeNs emitted_oldest_ns = 0;
  // No owner with an expiry expires before this (a lower bound, kept as
  // owners are claimed), so the owners are walked for expiry only then.
  bool owners_expiry_known = false;
  TimeNs owners_next_expiry_ns = 0;
  // The rules (id, enabled) of the last policy every track was checked
  // against: while they stay the same, no track can be an orphan (tracks are
  // made only for enabled rules), so the tracks are not walked for orphans.
  std::vector<std::pair<std::string, bool>> orphans_checked_rules;
  bool orphans_checked = false;
  // The last plan was quiet: it committed nothing, emitted no action and
  // only standing notes, read no override, and its candidates (renewals
  // that lose their target to a stronger rule, say) read nothing of the
  // traffic. Planning again on the same symptoms (all but their time),
  // policy and state, with no outcome arriving, makes the same plan until
  // the earliest time a persistence, hold, cooldown, clear_for, renewal,
  // retention, backoff or expiry could pass: until then the rules are not
  // walked (a node that holds many peer verdicts plans on them every tick).
  bool quiet = false;
  TimeNs quiet_until = 0;
  std::vector<Symptom> quiet_symptoms;
  std::vector<std::uint64_t> quiet_stamps;  // beside quiet_symptoms (0: unstamped)
  const PolicySet* quiet_policy = nullptr;
  std::uint64_t quiet_generation = 0;
  std::uint64_t quiet_plans = 0;  // plans that were the quiet one again
};

// Pure: no clock, no I/O, no globals.
PlanOutput make_plan(const PolicySet& policy, const PlanInput& input, const PlannerState& state);
// The same, moving `state` on where it is; `cache`, when given, belongs to
// this state and saves the work it remembers.
void plan_in_place(const PolicySet& policy, const PlanInput& input, PlannerState& state, Plan& out,
                   PlanCache* cache = nullptr);

// The same, holding the state between calls for the daemon's loop. Replays and
// tests may use make_plan directly and keep the state themselves.
class Planner {
 public:
  // Moves the state on in place: copying it (every track, owner and
  // recently emitted action) on every tick cost more than the plan itself.
  Plan plan(const PolicySet& policy, const PlanInput& input) {
    Plan out;
    plan_in_place(policy, input, state_, out, &cache_);
    return out;
  }
  const PlannerState& state() const { return state_; }
  // Plans that were the last quiet plan again (the rules not walked).
  std::uint64_t quiet_plans() const { return cache_.quiet_plans; }
  void restore(PlannerState s) {
    state_ = std::move(s);
    cache_ = {};
  }

 private:
  PlannerState state_;
  PlanCache cache_;
};

// Backoff delay after `failures` consecutive failures (1 -> initial).
TimeNs backoff_delay(const Backoff& b, int failures);

}  // namespace reflex::plan
