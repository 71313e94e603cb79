#pragma once
// Execute: the stage that carries a Plan into the kernel, checks that each
// change did what it was for, undoes it when it did not, and reports an
// Outcome for every Action.
//
// Level-based: the executor keeps the desired datapath state (rules, shapes,
// attach mode and program per interface) as a value and converges the
// kernel to it through actuators, which read back what is actually there;
// a rule deleted from outside, a link detached, a missed update all heal on
// the next reconcile.
//
// Two-phase, for a durable-first loop: review() and prepare() decide without
// touching the kernel (pure functions of the executor's state and their
// input; time comes from the Snapshot), the loop commits the intents, then
// apply() converges. Per tick:
//   review(snap)          expiry, post-condition checks, rollbacks (staged)
//   prepare(plan, snap)   the plan's actions folded onto the staged state
//   <loop commits Prepared.intents, .outcomes, .desired>
//   apply(prepared)       the kernel converged; outcomes of what it did
// reconcile(now) reads the kernel back and heals drift; the loop calls it on
// a slower timer (and once after restore()).

#include "execute/actuator.h"
#include "execute/verify.h"
#include "knowledge/action.h"
#include "knowledge/desired_state.h"
#include "knowledge/snapshot.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace reflex::execute {

struct ExecutorConfig {
  // Keys of the interfaces reflex guards ("eth0", "veth1@ns2"): an Action
  // with an empty iface means all of them. Each gets a desired entry.
  std::vector<std::string> ifaces;
  std::size_t max_rules = 1u << 22;  // per interface: the guard's rule cap
  VerifyConfig verify;               // post-condition windows and thresholds
  // Actions in one plan that get a post-condition check; the rest (a bulk
  // list, say) are applied and reported without one.
  std::size_t max_checks_per_plan = 256;
};

// A post-condition being watched: what was changed, how to undo it exactly,
// and the traffic before.
struct Check {
  std::shared_ptr<const Action> action;  // shared: a batch's may hold a million prefixes
  std::vector<std::string> ifaces;  // the interfaces it touched (an empty iface expanded)
  Facet facet = Facet::rules;
  Baseline base;  // traffic before, from the snapshot prepare saw
  TimeNs applied_ns = 0, deadline_ns = 0;
  // The exact pre-image of what it changed, to restore on rollback: per
  // interface, the rules it set or removed as they were (nullopt: absent),
  // and the attach mode / program / shapes before.
  struct RuleBefore {
    std::string iface;
    DesiredRule key;                    // prefix and l4 of the key
    std::optional<DesiredRule> before;  // what the key held before
    std::optional<DesiredRule> after;   // what the action put there (nullopt: removed)
  };
  std::vector<RuleBefore> rules;
  // A RuleBatch's pre-image, per interface: its keys (sorted), what it put
  // there (nullopt: a removal) and what the keys it changed held before.
  // A million keys are one sorted list each, not a million RuleBefores.
  // Shared, not copied, as the check goes from prepare() to apply() to the watch list.
  struct BatchBefore {
    std::string iface;
    std::shared_ptr<const std::vector<Prefix>> keys;
    L4Match l4;
    std::optional<DesiredRule> after;
    std::shared_ptr<const std::vector<DesiredRule>> before;
  };
  std::vector<BatchBefore> batches;
  std::map<std::string, AttachMode> mode_before;
  std::map<std::string, std::string> program_before;
  struct ShapeBefore {
    std::string iface;
    std::optional<Prefix> prefix;
    std::optional<DesiredShape> before, after;
  };
  std::vector<ShapeBefore> shapes;
};

struct Prepared {
  std::vector<Intent> intents;    // actions about to be applied, with their inverses
  std::vector<Outcome> outcomes;  // decided without the kernel: dry_run, skipped, rolled_back,
                                  // expired, verified, failed validation
  std::shared_ptr<const DesiredState> desired;  // the state to converge to
  bool changed = false;           // desired differs from what the kernel was last converged to
  // Executor bookkeeping carried to apply(): checks to start, and which
  // actions touched which (interface, facet).
  std::vector<Check> checks;
  struct Touch {
    std::size_t intent = 0;  // index into intents
    std::string iface;
    Facet facet = Facet::rules;
  };
  std::vector<Touch> touches;
  TimeNs ts_ns = 0;
};

// One interface, as status() reports it.
struct InterfaceStatus {
  std::string iface;
  AttachMode mode = AttachMode::none;       // desired
  AttachMode actual_mode = AttachMode::none;  // as last read back or converged
  std::string program;
  bool healthy = true;
  std::string error;  // the last converge or reconcile error, with its fix
  std::size_t rules = 0, shapes = 0;
  struct Timed {
    std::string what;  // "203.0.113.0/24 drop proto=udp"
    std::string action_id;
    TimeNs remaining_ns = 0;  // 0: no expiry
  };
  std::vector<Timed> soonest;  // rules and shapes, soonest expiry first (at most ExecutorStatus::kListed)
};

struct PendingCheck {
  std::string action_id;
  std::string what;  // the action, described
  TimeNs due_ns = 0;
};

struct ExecutorStatus {
  static constexpr std::size_t kListed = 64;
  std::uint64_t desired_version = 0;
  std::vector<InterfaceStatus> ifaces;
  std::vector<PendingCheck> pending;
};

class Executor {
 public:
  Executor(ExecutorConfig cfg, std::vector<ActuatorPtr> actuators);
  ~Executor();

  // Expiry, post-condition checks and rollbacks, from a fresh snapshot. Its
  // changes to the desired state are staged: prepare() builds on them and
  // apply() carries them to the kernel.
  Prepared review(const Snapshot& snap);
  // The plan's actions folded onto the staged state. Touches nothing.
  Prepared prepare(const Plan& plan, const Snapshot& snap) const;
  // Converges the kernel to p.desired (after the loop committed p). Returns
  // an Outcome for every action p applied (applied or failed); an action that
  // failed on one interface is taken back on the others, so the desired
  // state afterwards holds only what took effect everywhere.
  std::vector<Outcome> apply(const Prepared& p);
  // Reads every interface back and heals what differs from the desired state.
  std::vector<Outcome> reconcile(TimeNs now);

  // What the kernel should hold (the state last converged to).
  const DesiredState& desired() const { return *desired_; }
  std::shared_ptr<const DesiredState> desired_ptr() const { return desired_; }
  // A restarted daemon's state, from Knowledge. Interfaces the config names
  // but the state lacks get an empty entry. Call reconcile() after.
  void restore(DesiredState s, TimeNs now);
  // Records an interface's attach mode after the guard was brought up
  // (GuardActuator::ensure_guard), so the desired state starts from it.
  void set_mode(const std::string& iface, AttachMode mode);
  ExecutorStatus status(TimeNs now) const;

  // Thresholds from the policy set (max_drop_fraction) change on reload.
  void set_verify(const VerifyConfig& v) { cfg_.verify = v; }
  const ExecutorConfig& config() const { return cfg_; }

 private:
  struct Health {
    std::string error;
    AttachMode actual_mode = AttachMode::none;
  };
  Actuator* actuator_for(Facet f) const;
  Status converge_iface(const std::string& iface, Facet f, const DesiredInterface& want,
                        const DesiredInterface& before, TimeNs now, std::string& detail);
  std::shared_ptr<const DesiredState> with_version(DesiredState s, const DesiredState& from) const;

  ExecutorConfig cfg_;
  std::vector<ActuatorPtr> actuators_;
  std::shared_ptr<const DesiredState> desired_;  // converged to
  std::shared_ptr<const DesiredState> staged_;   // desired_ plus review's changes
  std::vector<Check> checks_;
  // The counters of the last snapshots review() saw (a few seconds' worth):
  // the rates "before" a change are taken over a window of at least
  // VerifyConfig::baseline_ns that ends with the snapshot prepare saw.
  std::deque<Traffic> history_;
  std::map<std::string, Health> health_;
};

}  // namespace reflex::execute
