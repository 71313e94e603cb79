#include "daemon/loop.h"

#include "common/log.h"
#include "knowledge/json/desired_state_json.h"
#include "knowledge/json/planner_state_json.h"
#include "plan/action_text.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>

namespace reflex::daemon {
namespace {

TimeNs steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TimeNs wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Wall time of the stage: the loop's own CPU, whatever clock drives the loop.
class StageTimer {
 public:
  StageTimer(TimeNs& slot, bool on) : slot_(on ? &slot : nullptr), t0_(on ? steady_ns() : 0) {}
  ~StageTimer() {
    if (slot_) *slot_ = steady_ns() - t0_;
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  TimeNs* slot_;
  TimeNs t0_;
};

void account(StageStats& s, TimeNs ns) {
  ++s.count;
  s.last_ns = ns;
  s.max_ns = std::max(s.max_ns, ns);
  s.total_ns += ns;
  TimeNs us = ns / 1000;
  std::size_t b = 0;
  while (us > 1 && b + 1 < s.log2_us.size()) {
    us >>= 1;
    ++b;
  }
  ++s.log2_us[b];
}

template <class T>
void push_bounded(std::deque<T>& q, T v, std::size_t cap) {
  q.push_back(std::move(v));
  while (q.size() > cap) q.pop_front();
}

template <class T>
void append(std::vector<T>& to, std::vector<T>&& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

Loop::Loop(LoopConfig cfg, const Clock& clock, PolicySource policies, analyze::Analyzer analyzer,
           std::unique_ptr<execute::Executor> executor, Recorder& recorder, const History* history)
    : cfg_(std::move(cfg)),
      clock_(clock),
      policies_(std::move(policies)),
      analyzer_(std::move(analyzer)),
      executor_(std::move(executor)),
      recorder_(recorder),
      history_(history) {}

Loop::~Loop() = default;

void Loop::resume(ResumeState state) {
  static auto log = stage_logger("loop");
  TimeNs now = clock_.now_ns();
  if (state.desired) {
    executor_->restore(std::move(*state.desired), now);
    saved_desired_version_ = executor_->desired().version;
  }
  if (state.planner) {
    planner_.restore(std::move(*state.planner));
    saved_planner_ = planner_.state();
  }
  log->info("resumed: {} rule(s) across {} interface(s) desired, planner at plan {}",
            [&] {
              std::size_t n = 0;
              for (const auto& [k, i] : executor_->desired().ifaces) n += i.rules.size();
              return n;
            }(),
            executor_->desired().ifaces.size(), planner_.state().seq);
  dirty_ = true;
}

void Loop::update_interfaces(const Observation& obs) {
  for (auto& st : ifaces_) {
    auto it = obs.interfaces.find(st.key);
    if (it == obs.interfaces.end()) continue;
    const auto& io = it->second;
    st.mode = io.mode;
    st.present = io.present;
    st.up = io.oper_up;
    const auto& desired = executor_->desired().ifaces;
    if (auto d = desired.find(st.key); d != desired.end() && d->second.mode != AttachMode::none)
      st.wanted = d->second.mode;
    else if (io.wanted_mode != AttachMode::none)
      st.wanted = io.wanted_mode;
    st.problem.clear();
    if (!io.present)
      st.problem = "interface not found in its namespace: check `ip link` (the guard's pins stay; it is re-attached "
                   "when the interface returns)";
    else if (io.mode == AttachMode::none)
      st.problem = "the guard is not attached: Execute re-attaches it on the next reconcile";
    else if (!io.attach_errors.empty())
      st.problem = io.attach_errors.front();
    else if (st.wanted != AttachMode::none && io.mode != st.wanted)
      st.problem = "attached in " + std::string(to_string(io.mode)) + " mode, " +
                   std::string(to_string(st.wanted)) + " wanted";
    for (const auto& d : obs.degraded)
      if (st.problem.empty() && d.probe == "guard:" + st.key) st.problem = d.reason;
    st.healthy = st.problem.empty();
  }
}

const TickInfo& Loop::step(Observation obs, TimeNs monitor_ns) {
  static auto log = stage_logger("loop");
  const TimeNs t_start = steady_ns();
  TickInfo tick;
  tick.seq = ticks_;
  tick.ts_ns = obs.ts_ns;
  tick.wall_ns = wall_ns();
  tick.stage_ns[static_cast<std::size_t>(Stage::monitor)] = monitor_ns;
  auto slot = [&](Stage s) -> TimeNs& { return tick.stage_ns[static_cast<std::size_t>(s)]; };
  const TimeNs now = obs.ts_ns;

  // Overrides that ran out: gone before anything reads them.
  for (auto& o : overrides_.expire(now)) override_changes_.push_back({std::move(o), OverrideChange::expired, now, {}});

  // Analyze: transitions, folded into the active set.
  std::vector<SymptomEvent> events;
  {
    StageTimer t(slot(Stage::analyze), cfg_.time_stages);
    events = analyzer_.analyze(obs);
  }
  // The active set, in the last Snapshot's storage when no one else holds
  // it (the strings of symptoms that stand tick after tick are reused).
  std::vector<Symptom> active;
  std::vector<std::uint64_t> stamps;
  if (snapshot_ && snapshot_.use_count() == 1) {
    active = std::move(snapshot_->symptoms);
    stamps = std::move(snapshot_->symptom_stamps);
  }
  SymptomFill fill(active, stamps);
  for (const auto& [_, s] : analyzer_.board().entries()) fill.put(s);
  if (hooks_.symptom_events) append(events, hooks_.symptom_events(now, std::span(fill.data(), fill.size())));
  if (hooks_.symptoms) hooks_.symptoms(fill);
  fill.done();
  for (const auto& e : obs.drop_samples) push_bounded(flows_, FlowSample{e, now}, cfg_.keep_flows);
  update_interfaces(obs);

  // The Snapshot every later stage (and the API) reads.
  PolicyHandle policy = policies_();
  auto snap = std::make_shared<Snapshot>();
  snap->version = ++version_;
  snap->ts_ns = now;
  snap->observation = std::move(obs);
  snap->symptoms = std::move(active);
  snap->symptom_stamps = std::move(stamps);
  snap->desired = executor_->desired_ptr();
  snap->overrides = overrides_.in_force();
  snap->policy_generation = policy.generation;
  snapshot_ = snap;

  // Outcomes to commit this tick: the last apply's, then this tick's decisions.
  std::vector<Outcome> outcomes = std::move(uncommitted_outcomes_);
  uncommitted_outcomes_.clear();
  const std::size_t carried = outcomes.size();  // remembered (and told to the hooks) when they happened, last tick
  std::vector<Intent> intents;

  execute::Prepared reviewed;
  {
    StageTimer t(slot(Stage::review), cfg_.time_stages);
    reviewed = executor_->review(*snap);
  }
  intents = reviewed.intents;

  std::optional<Plan> plan;
  execute::Prepared prepared;
  if (policy.set) {
    {
      StageTimer t(slot(Stage::plan), cfg_.time_stages);
      plan::PlanInput in;
      in.now_ns = now;
      in.snapshot_version = snap->version;
      in.symptoms_from = &snap->symptoms;
      in.symptom_stamps = &snap->symptom_stamps;
      in.traffic = plan::TrafficView::from_snapshot(*snap);
      in.overrides = snap->overrides;
      in.policy_generation = policy.generation;
      in.outcomes = std::move(pending_outcomes_);
      in.outcomes.insert(in.outcomes.end(), reviewed.outcomes.begin(), reviewed.outcomes.end());
      pending_outcomes_.clear();
      plan = planner_.plan(*policy.set, in);
    }
    overrides_.note_plan(*plan);
    if (hooks_.planned) hooks_.planned(*plan, snap->symptoms);
    {
      StageTimer t(slot(Stage::prepare), cfg_.time_stages);
      prepared = executor_->prepare(*plan, *snap);
    }
    intents.insert(intents.end(), prepared.intents.begin(), prepared.intents.end());
    pending_outcomes_ = prepared.outcomes;  // the next plan sees them
  } else {
    // No policy set in force: nothing to plan; the next plan sees the review's outcomes.
    append(pending_outcomes_, std::vector<Outcome>(reviewed.outcomes));
  }
  append(outcomes, std::move(reviewed.outcomes));
  append(outcomes, std::move(prepared.outcomes));

  // Durable before the kernel sees any of it.
  {
    StageTimer t(slot(Stage::commit), cfg_.time_stages);
    Decisions d;
    d.ts_ns = now;
    const bool has_plan = plan && (!plan->actions.empty() || !plan->notes.empty());
    d.plan = has_plan ? &*plan : nullptr;
    d.intents = intents;
    d.outcomes = outcomes;
    d.overrides = override_changes_;
    if (auto st = commit(d); !st)
      log->warn("record: {} (the loop keeps protecting; the store says why in /v1/state)", st.error().message());
    override_changes_.clear();
  }

  // The kernel.
  std::vector<Outcome> applied;
  {
    StageTimer t(slot(Stage::apply), cfg_.time_stages);
    const execute::Prepared& last = plan ? prepared : reviewed;
    if (last.desired && (last.changed || !last.intents.empty() || !reviewed.intents.empty()))
      applied = executor_->apply(last);
    if (cfg_.reconcile_every && ticks_ % cfg_.reconcile_every == 0) append(applied, executor_->reconcile(now));
  }

  {
    StageTimer t(slot(Stage::record), cfg_.time_stages);
    recorder_.record_observation(snap->observation);
    if (!events.empty()) recorder_.record_symptoms(events);
    for (const auto& e : events) {
      push_bounded(symptom_events_, e, cfg_.keep_symptom_events);
      ++counters_.symptom_events[{e.symptom.kind, e.transition}];
    }
    if (plan) remember_plan(*plan);
    remember_outcomes(std::span<const Outcome>(outcomes).subspan(carried));
    remember_outcomes(applied);
    if (hooks_.outcomes) {
      std::vector<Outcome> told(outcomes.begin() + static_cast<std::ptrdiff_t>(carried), outcomes.end());
      told.insert(told.end(), applied.begin(), applied.end());
      if (!told.empty()) hooks_.outcomes(told, now);
    }
    pending_outcomes_.insert(pending_outcomes_.end(), applied.begin(), applied.end());
    uncommitted_outcomes_ = std::move(applied);
    if (plan) last_plan_ = std::move(plan);
    // The streams are written once a tick, so history is at most a tick old
    // (one WAL transaction; a degraded store keeps them in memory).
    if (auto st = recorder_.flush(); !st) log->debug("record: flush: {}", st.error().message());
  }

  tick.snapshot_version = snap->version;
  tick.symptom_events = events.size();
  tick.actions = last_plan_ && last_plan_->snapshot_version == snap->version ? last_plan_->actions.size() : 0;
  tick.outcomes = outcomes.size();
  tick.duration_ns = steady_ns() - t_start + monitor_ns;
  tick.overran = tick.duration_ns > cfg_.tick_ns;
  if (tick.overran) {
    ++overruns_;
    log->warn("tick {} took {} ms, more than the {} ms interval", tick.seq, tick.duration_ns / kNsPerMs,
              cfg_.tick_ns / kNsPerMs);
  }
  for (std::size_t i = 0; i < kStageCount; ++i) account(stages_[i], tick.stage_ns[i]);
  if (phase_ == LoopPhase::starting) phase_ = LoopPhase::running;
  ++ticks_;
  last_tick_ = tick;
  dirty_ = true;
  return last_tick_;
}

void Loop::remember_plan(const Plan& plan) {
  if (plan.actions.empty() && plan.notes.empty()) return;
  ++counters_.plans;
  for (const auto& a : plan.actions) {
    push_bounded(actions_, ActionView{a, plan.id, plan.ts_ns, std::nullopt}, cfg_.keep_actions);
    ++counters_.actions[std::string(plan::action_kind_name(a.spec))];
  }
  push_bounded(plans_, plan, cfg_.keep_plans);
}

void Loop::remember_outcomes(std::span<const Outcome> outs) {
  for (const auto& o : outs) {
    std::string kind = "unknown";  // an action older than the kept list
    for (auto it = actions_.rbegin(); it != actions_.rend(); ++it)
      if (it->action.id == o.action_id) {
        it->outcome = o;
        kind = std::string(plan::action_kind_name(it->action.spec));
        break;
      }
    ++counters_.outcomes[{kind, o.status}];
  }
}

Status Loop::flush() {
  if (!uncommitted_outcomes_.empty() || !override_changes_.empty()) {
    Decisions d;
    d.ts_ns = clock_.now_ns();
    d.outcomes = uncommitted_outcomes_;
    d.overrides = override_changes_;
    if (auto st = commit(d); !st) return st;
    uncommitted_outcomes_.clear();
    override_changes_.clear();
  }
  return recorder_.flush();
}

Status Loop::commit(Decisions& d) {
  // The desired and planner state ride along whenever they changed since
  // the last commit that went through.
  if (!recorder_.keeps_state()) return recorder_.commit_decisions(d);
  const DesiredState& desired = executor_->desired();
  const bool desired_changed = desired.version != saved_desired_version_;
  const bool planner_changed = !(planner_.state() == saved_planner_);
  if (desired_changed) d.desired_state = to_json(desired);
  if (planner_changed) d.planner_state = to_json(planner_.state());
  auto st = recorder_.commit_decisions(d);
  if (!st) return st;
  saved_desired_version_ = desired.version;
  if (planner_changed) saved_planner_ = planner_.state();
  return ok();
}

void Loop::commit_override_changes(TimeNs now) {
  // Durable now: an operator's decision is a decision.
  Decisions d;
  d.ts_ns = now;
  d.overrides = override_changes_;
  if (auto st = recorder_.commit_decisions(d); st) override_changes_.clear();
  dirty_ = true;
}

LoopViewPtr Loop::view() const {
  if (view_ && !dirty_) return view_;
  auto v = std::make_shared<LoopView>();
  v->phase = overrides_.paused() && phase_ == LoopPhase::running ? LoopPhase::paused : phase_;
  v->ready = datapath_ready_ && ticks_ > 0;
  if (ticks_ > 0) v->last_tick = last_tick_;
  v->ticks = ticks_;
  v->overruns = overruns_;
  v->stages = stages_;
  v->tick_interval_ns = cfg_.tick_ns;
  v->now_ns = snapshot_ ? snapshot_->ts_ns : clock_.now_ns();
  v->snapshot = snapshot_;
  v->interfaces = ifaces_;
  for (const auto& o : overrides_.in_force()) v->overrides.push_back({o, overrides_.matched(o.id)});
  v->policy_generation = snapshot_ ? snapshot_->policy_generation : policies_().generation;
  v->symptom_events = symptom_events_;
  v->plans = plans_;
  v->actions = actions_;
  v->flows = flows_;
  v->store = recorder_.health();
  v->store_path = cfg_.store_path;
  v->counters = counters_;
  view_ = std::move(v);
  dirty_ = false;
  return view_;
}

Result<Override> Loop::add_override(OverrideRequest req) {
  TimeNs now = clock_.now_ns();
  if (req.ttl_ns > 0 && req.override_.expires_ns == 0) {
    req.override_.expires_ns = now + req.ttl_ns;
    if (req.override_.action && req.override_.action->ttl_ns == 0) req.override_.action->ttl_ns = req.ttl_ns;
  }
  {
    const PolicyHandle policy = policies_();
    const plan::Guardrails g = policy.set ? policy.set->global.guardrails : plan::Guardrails{};
    if (auto st = check_batch_guardrails(req.override_, g); !st) return st.error();
  }
  auto r = overrides_.add(std::move(req.override_), now);
  if (!r) return r;
  override_changes_.push_back({*r, OverrideChange::created, now, r->who});
  commit_override_changes(now);
  return r;
}

Status Loop::remove_override(const std::string& id, const std::string& who) {
  TimeNs now = clock_.now_ns();
  auto r = overrides_.remove(id);
  if (!r) return r.error();
  override_changes_.push_back({*r, OverrideChange::removed, now, who});
  // A batch leaves with its rules: its remove form, planned on the next tick
  // like any manual action (a minute is many ticks; it is listed meanwhile).
  if (auto undo = undo_of(*r, who, now, 60 * kNsPerSec))
    if (auto u = overrides_.add(std::move(*undo), now); u)
      override_changes_.push_back({*u, OverrideChange::created, now, u->who});
  commit_override_changes(now);
  return ok();
}

}  // namespace reflex::daemon
