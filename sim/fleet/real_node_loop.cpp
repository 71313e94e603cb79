#include "sim/fleet/real_node_loop.h"

#include "daemon/loop.h"
#include "execute/executor.h"

namespace reflex::sim::fleet {

using reflex::fleet::FleetNode;
using reflex::fleet::Inbound;

Result<execute::ActualInterface> ModelActuator::read(const std::string&, TimeNs now) {
  execute::ActualInterface a;
  a.guarded = true;
  a.attached = true;
  a.mode = mode_;
  a.program = program_;
  a.rules = dp_.live_rules(now);
  a.shapes = shapes_;
  return a;
}

Result<execute::ConvergeReport> ModelActuator::converge(const std::string&, execute::Facet f,
                                                        const DesiredInterface& want, const DesiredInterface&,
                                                        TimeNs) {
  // Nobody else writes a simulated datapath, so the desired set is the whole set.
  switch (f) {
    case execute::Facet::rules: dp_.install(want.rules); break;
    case execute::Facet::attach:
      if (want.mode != AttachMode::none) mode_ = want.mode;
      break;
    case execute::Facet::program: program_ = want.program.empty() ? "default" : want.program; break;
    case execute::Facet::shapes: shapes_ = want.shapes; break;
  }
  return execute::ConvergeReport{true, std::string(execute::to_string(f)) + " set", 0};
}

namespace {

class VirtualClock final : public Clock {
 public:
  TimeNs now_ns() const override { return now; }
  TimeNs now = 0;
};

class RealNodeLoop final : public NodeLoop {
 public:
  RealNodeLoop(const RealLoopOptions& o, DatapathModel& dp) : policies_(o.policies) {
    daemon::LoopConfig lc;
    lc.interfaces = {o.iface};
    lc.tick_ns = o.tick_ns;
    lc.reconcile_every = o.reconcile_every;
    // The view's in-memory lists: nobody reads them in the simulator.
    lc.keep_symptom_events = lc.keep_plans = lc.keep_actions = lc.keep_flows = 8;
    // The report times node-ticks as a whole; no one reads a node's stages.
    lc.time_stages = false;
    execute::ExecutorConfig ec;
    ec.ifaces = {o.iface};
    std::vector<execute::ActuatorPtr> acts;
    acts.push_back(std::make_unique<ModelActuator>(dp));
    auto policies = o.policies;
    loop_ = std::make_unique<daemon::Loop>(
        lc, clock_, [policies] { return daemon::PolicyHandle{policies, 1}; }, analyze::Analyzer(o.analyzer),
        std::make_unique<execute::Executor>(ec, std::move(acts)), recorder_);
    loop_->set_datapath_ready(true);

    daemon::LoopHooks h;
    h.symptom_events = [this](TimeNs now, std::span<const Symptom> local) {
      return fleet_ ? fleet_->symptom_events(now, local) : std::vector<SymptomEvent>{};
    };
    h.symptoms = [this](SymptomFill& out) {
      if (fleet_) fleet_->active(out);
    };
    h.planned = [this](const Plan& plan, std::span<const Symptom> symptoms) {
      report_.actions.insert(report_.actions.end(), plan.actions.begin(), plan.actions.end());
      if (fleet_) fleet_->planned(plan, symptoms);
    };
    h.outcomes = [this](std::span<const Outcome> outs, TimeNs now) {
      report_.outcomes.insert(report_.outcomes.end(), outs.begin(), outs.end());
      if (fleet_) fleet_->outcomes(outs, now, wall_now_);
    };
    loop_->set_hooks(std::move(h));
  }

  const StepReport& step(Observation obs, TimeNs wall_now, const std::vector<Inbound>& inbox,
                         FleetNode* fleet) override {
    report_.actions.clear();
    report_.outcomes.clear();
    fleet_ = fleet;
    wall_now_ = wall_now;
    clock_.now = obs.ts_ns;
    if (fleet)
      for (const auto& m : inbox) fleet->receive(m, obs.ts_ns, wall_now, policies_->global.guardrails);
    loop_->step(std::move(obs));
    return report_;
  }

  LoopCounts counts() const override {
    LoopCounts c;
    const auto& st = loop_->planner().state();
    c.tracks = st.tracks.size();
    for (const auto& [k, t] : st.tracks) c.active_tracks += t.level >= 0 || t.pending_since ? 1 : 0;
    c.owners = st.owners.size();
    c.backoff = st.backoff.size();
    c.emitted = st.emitted.size();
    if (auto snap = loop_->snapshot()) c.symptoms = snap->symptoms.size();
    for (const auto& [name, i] : loop_->executor().desired().ifaces) c.desired_rules += i.rules.size();
    return c;
  }

 private:
  std::shared_ptr<const plan::PolicySet> policies_;
  VirtualClock clock_;
  NullRecorder recorder_;
  std::unique_ptr<daemon::Loop> loop_;
  FleetNode* fleet_ = nullptr;
  TimeNs wall_now_ = 0;
  StepReport report_;
};

}  // namespace

NodeLoopFactory real_loop_factory(RealLoopOptions opts) {
  return [opts = std::move(opts)](DatapathModel& dp) -> std::unique_ptr<NodeLoop> {
    return std::make_unique<RealNodeLoop>(opts, dp);
  };
}

}  // namespace reflex::sim::fleet
