#pragma once
// The MAPE-K loop as a library: one tick takes an Observation through
// Analyze, Plan and Execute over Knowledge. The same Loop runs inside reflexd
// (the Monitor's real probes, the kernel's datapath, the SQLite store, the
// steady clock), in end-to-end tests, and in sim/ (simulated probes and
// datapaths, a NullRecorder, virtual time): what differs is only what it is
// built with.
//
// One tick, one direction:
//   Observation -> Snapshot (published) -> Analyze (symptom transitions)
//   -> Execute review (expiry, post-conditions, rollbacks)
//   -> Plan (policies, overrides, outcomes) -> Execute prepare (intents, the
//   next desired state) -> Knowledge commit (durable) -> Execute apply
//   (the kernel) -> record.
// Nothing reaches the kernel before the store has committed the intent, so
// a crash can never leave an action in the datapath that the record does not
// show. Single-threaded: call everything from one thread (the io_context's).

#include "analyze/analyzer.h"
#include "daemon/loop_api.h"
#include "daemon/override_book.h"
#include "execute/executor.h"
#include "knowledge/recorder.h"
#include "knowledge/snapshot.h"
#include "knowledge/symptom_fill.h"
#include "plan/planner.h"
#include "plan/policy.h"

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace reflex::daemon {

// The policy set in force and its generation (the PolicyStore's, or a fixed set).
struct PolicyHandle {
  std::shared_ptr<const plan::PolicySet> set;
  std::uint64_t generation = 0;
};
using PolicySource = std::function<PolicyHandle()>;

struct LoopConfig {
  std::vector<std::string> interfaces;  // keys, as configured
  TimeNs tick_ns = kNsPerSec;
  // Every N ticks Execute re-reads the datapath and heals drift (a rule or
  // qdisc removed from outside, a detached link).
  unsigned reconcile_every = 10;
  // In-memory history behind the /v1 lists (the store keeps everything).
  std::size_t keep_symptom_events = 512, keep_plans = 128, keep_actions = 512, keep_flows = 1024;
  std::string store_path;  // for the view only
  // Each stage's wall time (/metrics, /v1/state). A simulator that runs
  // a thousand loops in virtual time times the whole tick instead: a
  // clock read costs as much as a quiet stage.
  bool time_stages = true;
};

// What the loop needs to resume after a restart (from Knowledge).
struct ResumeState {
  std::optional<DesiredState> desired;
  std::optional<PlannerState> planner;
};

// What runs beside the loop on its thread and takes part in a tick (the
// fleet: fleet/fleet_node.h). Each hook is optional.
struct LoopHooks {
  // After Analyze: transitions of symptoms from outside the Analyzer (peer
  // verdicts), given the Analyzer's active set; recorded with its events.
  std::function<std::vector<SymptomEvent>(TimeNs now, std::span<const Symptom> local)> symptom_events;
  // Their active set, which the Snapshot (and so Plan) carries after the
  // Analyzer's: put into the fill in order.
  std::function<void(SymptomFill& out)> symptoms;
  // The tick's plan and the symptoms it was made from.
  std::function<void(const Plan& plan, std::span<const Symptom> symptoms)> planned;
  // Every Outcome the tick produced (review, prepare, apply), once each.
  std::function<void(std::span<const Outcome> outcomes, TimeNs now)> outcomes;
};

class Loop final : public LoopApi {
 public:
  Loop(LoopConfig cfg, const Clock& clock, PolicySource policies, analyze::Analyzer analyzer,
       std::unique_ptr<execute::Executor> executor, Recorder& recorder, const History* history = nullptr);
  ~Loop() override;

  // Resumes from what Knowledge held: the desired datapath state (Execute
  // reconciles towards it on the first tick; what expired meanwhile is
  // dropped) and the planner's ladders, cooldowns and backoffs.
  void resume(ResumeState state);

  void set_hooks(LoopHooks hooks) { hooks_ = std::move(hooks); }

  // One tick over an Observation (the Monitor's, or a simulated one).
  // monitor_ns is how long collecting it took (charged to the monitor stage).
  const TickInfo& step(Observation obs, TimeNs monitor_ns = 0);

  // Marks the loop stopping: the view says so; ticks still run until the owner stops calling.
  void set_phase(LoopPhase p) { phase_ = p; dirty_ = true; }
  // Every interface attached: the daemon sets it once the guards are up.
  void set_datapath_ready(bool r) { datapath_ready_ = r; dirty_ = true; }
  void set_interfaces(std::vector<InterfaceState> states) { ifaces_ = std::move(states); dirty_ = true; }

  // Commits what the last tick left to commit (outcomes of its apply) and flushes the streams.
  Status flush();

  // LoopApi
  LoopViewPtr view() const override;
  Result<Override> add_override(OverrideRequest req) override;
  Status remove_override(const std::string& id, const std::string& who) override;
  const History* history() const override { return history_; }

  // For tests, sim/ and the daemon's status.
  SnapshotPtr snapshot() const { return snapshot_; }
  const plan::Planner& planner() const { return planner_; }
  execute::Executor& executor() { return *executor_; }
  const execute::Executor& executor() const { return *executor_; }
  std::uint64_t ticks() const { return ticks_; }
  const std::optional<Plan>& last_plan() const { return last_plan_; }

 private:
  void remember_plan(const Plan& plan);
  void remember_outcomes(std::span<const Outcome> outs);
  // Commits d with the desired and planner state when they changed; marks
  // them saved only if the commit went through.
  Status commit(Decisions& d);
  void commit_override_changes(TimeNs now);
  void update_interfaces(const Observation& obs);

  LoopConfig cfg_;
  const Clock& clock_;
  PolicySource policies_;
  analyze::Analyzer analyzer_;
  std::unique_ptr<execute::Executor> executor_;
  Recorder& recorder_;
  const History* history_;
  LoopHooks hooks_;

  plan::Planner planner_;
  PlannerState saved_planner_;
  std::uint64_t saved_desired_version_ = ~0ull;
  OverrideBook overrides_;
  std::vector<OverrideRecord> override_changes_;  // since the last commit
  std::vector<Outcome> pending_outcomes_;  // for the next plan
  std::vector<Outcome> uncommitted_outcomes_;  // from the last apply, committed with the next tick's decisions

  std::uint64_t ticks_ = 0, overruns_ = 0, version_ = 0;
  std::array<StageStats, kStageCount> stages_{};
  LoopCounters counters_;
  TickInfo last_tick_;
  // Mutable here only: while no one else holds the last Snapshot, the next
  // one takes over its symptoms' storage.
  std::shared_ptr<Snapshot> snapshot_;
  std::optional<Plan> last_plan_;
  LoopPhase phase_ = LoopPhase::starting;
  bool datapath_ready_ = false;
  std::vector<InterfaceState> ifaces_;

  std::deque<SymptomEvent> symptom_events_;
  std::deque<Plan> plans_;
  std::deque<ActionView> actions_;
  std::deque<FlowSample> flows_;

  mutable LoopViewPtr view_;  // built on demand, once per tick
  mutable bool dirty_ = true;
};

}  // namespace reflex::daemon
