// The planner as an API: determinism and replay, backoff arithmetic, rationale
// contents, and a self-test that the scenario runner can fail.

#include "plan/action_text.h"
#include "plan/planner.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <map>

namespace reflex::plan {
namespace {

const char* kPolicy = R"Y(
global:
  defaults: {for: 5s, hold: 10s, clear_for: 10s, cooldown: 0s}
  guardrails: {max_drop_fraction: 0.5}
rules:
  - id: ladder
    when: {symptom: flood, min_score: 0.5}
    then: [{action: shadow}, {action: rate_limit, pps: 100}, {action: block}]
)Y";

Symptom flood(const char* prefix, double score, TimeNs t) {
  Symptom s;
  s.kind = SymptomKind::flood;
  s.subject.iface = "eth0";
  s.subject.prefix = Prefix::parse(prefix).value();
  s.severity = Severity::critical;
  s.score = score;
  s.evidence = {5000, 100, 12.5, "pps from one source"};
  s.ts_ns = t;
  return s;
}

std::vector<std::string> run(const PolicySet& p, PlannerState& st, int ticks) {
  std::vector<std::string> out;
  for (int i = 0; i < ticks; ++i) {
    PlanInput in;
    in.now_ns = i * 5 * kNsPerSec;
    if (i < 12) in.symptoms = {flood("192.0.2.1", 0.9, in.now_ns), flood("192.0.2.2", 0.6, in.now_ns)};
    auto o = make_plan(p, in, st);
    st = o.state;
    for (const auto& a : o.plan.actions) out.push_back(std::to_string(i) + " " + a.id + " " + describe(a));
    for (const auto& n : o.plan.notes) out.push_back(std::to_string(i) + " note " + n);
  }
  return out;
}

TEST(PlannerApi, SameInputsSamePlansAndState) {
  auto p = testing::load_ok(kPolicy);
  PlannerState s1, s2;
  auto a = run(p, s1, 30);
  auto b = run(p, s2, 30);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_TRUE(s1 == s2);
}

// Ticks [from, to) of the scenario `run` plays, through a Planner.
std::vector<std::string> run_ticks(const PolicySet& p, Planner& planner, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) {
    PlanInput in;
    in.now_ns = i * 5 * kNsPerSec;
    if (i < 12) in.symptoms = {flood("192.0.2.1", 0.9, in.now_ns), flood("192.0.2.2", 0.6, in.now_ns)};
    const auto plan = planner.plan(p, in);
    for (const auto& a : plan.actions) out.push_back(std::to_string(i) + " " + a.id + " " + describe(a));
    for (const auto& n : plan.notes) out.push_back(std::to_string(i) + " note " + n);
  }
  return out;
}

TEST(PlannerApi, ReplayFromSavedStateReproducesTheRest) {
  auto p = testing::load_ok(kPolicy);
  PlannerState full_state;
  const auto all = run(p, full_state, 30);

  // Ten ticks, then the state is saved (a copy of the value, as a restart
  // keeps it) and the first planner is gone.
  PlannerState saved;
  std::vector<std::string> head;
  {
    Planner first;
    head = run_ticks(p, first, 0, 10);
    saved = first.state();
  }
  ASSERT_FALSE(saved.tracks.empty());  // mid-episode: there is something to restore
  Planner restored;
  restored.restore(saved);
  auto tail = run_ticks(p, restored, 10, 30);
  std::vector<std::string> joined = head;
  joined.insert(joined.end(), tail.begin(), tail.end());
  EXPECT_EQ(joined, all);
  EXPECT_TRUE(restored.state() == full_state);

  // Control: without the saved state the same tail is planned differently
  // (the episode starts over), so the comparison above can fail.
  Planner fresh;
  EXPECT_NE(run_ticks(p, fresh, 10, 30), tail);
}

TEST(PlannerApi, InputOrderOfSymptomsDoesNotChangeThePlan) {
  auto p = testing::load_ok(kPolicy);
  PlanInput a, b;
  a.now_ns = b.now_ns = 100 * kNsPerSec;
  auto s1 = flood("192.0.2.1", 0.9, 0), s2 = flood("192.0.2.2", 0.9, 0);
  s1.since_ns = s2.since_ns = 1;
  a.symptoms = {s1, s2};
  b.symptoms = {s2, s1};
  auto pa = make_plan(p, a, {}).plan, pb = make_plan(p, b, {}).plan;
  ASSERT_EQ(pa.actions.size(), 2u);
  ASSERT_EQ(pb.actions.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(describe(pa.actions[i]), describe(pb.actions[i]));
}

TEST(PlannerApi, RationaleCarriesRuleSymptomEvidenceAndGuardrail) {
  auto p = testing::load_ok(kPolicy);
  PlanInput in;
  in.now_ns = 10 * kNsPerSec;
  auto s = flood("192.0.2.1", 0.9, in.now_ns);
  s.since_ns = 1;
  in.symptoms = {s};
  in.snapshot_version = 42;
  auto out = make_plan(p, in, {});
  ASSERT_EQ(out.plan.actions.size(), 1u);
  const auto& a = out.plan.actions[0];
  EXPECT_EQ(out.plan.snapshot_version, 42u);
  EXPECT_EQ(a.rationale.rule_id, "ladder");
  EXPECT_EQ(a.rationale.symptom, SymptomKind::flood);
  EXPECT_EQ(a.rationale.subject.prefix->to_string(), "192.0.2.1");
  EXPECT_EQ(a.rationale.evidence.value, 5000);
  EXPECT_EQ(a.rationale.decision, "fire");
  EXPECT_EQ(a.rationale.step, 0);
  EXPECT_FALSE(a.rationale.note.empty());
  EXPECT_FALSE(a.id.empty());

  // With traffic the block rung would drop too much: the guardrail says so.
  auto tc = testing::parse_case(R"Y(
  - name: g
    strict: false
    traffic: {interfaces: {eth0: {rx_pps: 1000}}, talkers: [{iface: eth0, source: 192.0.2.1, pps: 900}]}
    symptoms: [{kind: flood, iface: eth0, prefix: 192.0.2.1, score: 0.9, from: 0s}]
    expect: [{at: 25s, actions: [{action: rate_limit}]}]
)Y");
  auto ticks = simulate(p, tc);
  bool seen = false;
  for (const auto& t : ticks)
    for (const auto& act : t.plan.actions)
      for (const auto& g : act.rationale.guardrails) seen = seen || g.find("max_drop_fraction") != std::string::npos;
  EXPECT_TRUE(seen);
}

const char* kShareShape = R"Y(
global:
  guardrails: {shaping_floor: 2Mbit}
rules:
  - id: bloat
    when: {symptom: latency_high, min_severity: critical, for: 0s}
    then: {action: shape, rate: 85%, ttl: 10m}
    cooldown: 0s
    clear_for: 10s
)Y";

Symptom latency(TimeNs t) {
  Symptom s;
  s.kind = SymptomKind::latency_high;
  s.subject.iface = "eth0";
  s.severity = Severity::critical;
  s.score = 1;
  s.evidence = {400'000, 1'000, 400, "RTT p99"};
  s.ts_ns = t;
  return s;
}

PlanInput latency_input(TimeNs t, double tx_bps, std::uint64_t shaped_bps = 0, bool symptom = true) {
  PlanInput in;
  in.now_ns = t;
  if (symptom) in.symptoms = {latency(t)};
  if (tx_bps > 0 || shaped_bps > 0) in.traffic.ifaces["eth0"] = IfaceTraffic{0, 0, AttachMode::native, tx_bps, shaped_bps};
  return in;
}

const ShapeInterface* only_shape(const Plan& plan) {
  if (plan.actions.size() != 1) return nullptr;
  return std::get_if<ShapeInterface>(&plan.actions[0].spec);
}

TEST(PlannerApi, AShareRateBecomesThatShareOfTheEgressRateAtDecisionTime) {
  auto p = testing::load_ok(kShareShape);
  auto out = make_plan(p, latency_input(kNsPerSec, 19'600'000), {});
  const auto* s = only_shape(out.plan);
  ASSERT_NE(s, nullptr) << out.plan.actions.size() << " actions";
  EXPECT_EQ(s->iface, "eth0");
  EXPECT_FALSE(s->prefix);
  EXPECT_EQ(s->rate_bps, 16'660'000u);  // 85% of 19.6 Mbit/s, absolute in the Action
  EXPECT_TRUE(out.plan.actions[0].rationale.guardrails.empty());
}

TEST(PlannerApi, AShareRateBelowTheShapingFloorIsRaisedToIt) {
  auto p = testing::load_ok(kShareShape);
  auto out = make_plan(p, latency_input(kNsPerSec, 1'000'000), {});  // 85% = 850 kbit/s < 2 Mbit/s
  const auto* s = only_shape(out.plan);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->rate_bps, 2'000'000u);
  ASSERT_EQ(out.plan.actions[0].rationale.guardrails.size(), 1u);
  EXPECT_EQ(out.plan.actions[0].rationale.guardrails[0], "shaping_floor: 850kbit raised to 2Mbit");
}

TEST(PlannerApi, AShareRateWaitsForAMeasuredEgressRateAndSaysWhy) {
  auto p = testing::load_ok(kShareShape);
  auto out = make_plan(p, latency_input(kNsPerSec, 0), {});
  EXPECT_TRUE(out.plan.actions.empty());
  bool said = false;
  for (const auto& n : out.plan.notes) said = said || n.find("needs eth0's measured tx rate") != std::string::npos;
  EXPECT_TRUE(said) << (out.plan.notes.empty() ? "no notes" : out.plan.notes[0]);
  // The rung was not taken: it acts on the first tick the rate is measured.
  auto next = make_plan(p, latency_input(2 * kNsPerSec, 10'000'000), out.state);
  const auto* s = only_shape(next.plan);
  ASSERT_NE(s, nullptr) << next.plan.actions.size() << " actions";
  EXPECT_EQ(next.plan.actions[0].rationale.decision, "fire");
  EXPECT_EQ(s->rate_bps, 8'500'000u);
}

TEST(PlannerApi, ARenewalKeepsTheShapedRateAndTheRevertNeedsNoEgressRate) {
  auto p = testing::load_ok(kShareShape);
  PlannerState st = make_plan(p, latency_input(kNsPerSec, 20'000'000), {}).state;
  // Renewed at 80% of the TTL while still shaped: egress is the shaped rate
  // now, and a share of it would step the rate down on every renewal.
  auto renew = make_plan(p, latency_input(kNsPerSec + 8 * 60 * kNsPerSec, 16'900'000, 17'000'000), st);
  const auto* s = only_shape(renew.plan);
  ASSERT_NE(s, nullptr) << renew.plan.actions.size() << " actions";
  EXPECT_EQ(renew.plan.actions[0].rationale.decision, "renew");
  EXPECT_EQ(s->rate_bps, 17'000'000u);
  // The latency clears, the traffic stops: the shape is still taken off.
  st = renew.state;
  TimeNs t = kNsPerSec + 9 * 60 * kNsPerSec;
  st = make_plan(p, latency_input(t, 0, 0, false), st).state;
  auto revert = make_plan(p, latency_input(t + 11 * kNsPerSec, 0, 0, false), st);
  const auto* r = only_shape(revert.plan);
  ASSERT_NE(r, nullptr) << revert.plan.actions.size() << " actions";
  EXPECT_EQ(revert.plan.actions[0].rationale.decision, "revert");
  EXPECT_EQ(r->rate_bps, 0u);
}

TEST(PlannerApi, TheShapeInForceComesFromTheSnapshotsDesiredState) {
  Snapshot snap;
  snap.observation.interfaces["eth0"].tx_bps = 16e6;
  snap.observation.interfaces["eth1"].tx_bps = 5e6;
  auto d = std::make_shared<DesiredState>();
  d->ifaces["eth0"].shapes.push_back(DesiredShape{std::nullopt, 17'000'000, 0, 0, "a"});
  d->ifaces["eth1"].shapes.push_back(DesiredShape{Prefix::parse("10.0.0.0/8").value(), 1'000'000, 0, 0, "b"});
  snap.desired = d;
  auto v = TrafficView::from_snapshot(snap);
  EXPECT_EQ(v.ifaces["eth0"].tx_bps, 16e6);
  EXPECT_EQ(v.ifaces["eth0"].shaped_bps, 17'000'000u);
  EXPECT_EQ(v.ifaces["eth1"].shaped_bps, 0u);  // a prefix's shape is not the interface's
}

TEST(PlannerApi, BackoffGrowsExponentiallyAndCaps) {
  Backoff b{60 * kNsPerSec, 10 * 60 * kNsPerSec, 2.0};
  EXPECT_EQ(backoff_delay(b, 1), 60 * kNsPerSec);
  EXPECT_EQ(backoff_delay(b, 2), 120 * kNsPerSec);
  EXPECT_EQ(backoff_delay(b, 3), 240 * kNsPerSec);
  EXPECT_EQ(backoff_delay(b, 5), 600 * kNsPerSec);
  EXPECT_EQ(backoff_delay(b, 1000), 600 * kNsPerSec);
}

TEST(PlannerApi, RepeatedAndUnknownOutcomesAreIgnored) {
  auto p = testing::load_ok("global: {defaults: {for: 0s}}\nrules:\n  - {id: b, when: {symptom: flood}, then: {action: block}}\n");
  PlanInput in;
  in.symptoms = {flood("192.0.2.1", 0.9, 0)};
  auto o = make_plan(p, in, {});
  ASSERT_EQ(o.plan.actions.size(), 1u);
  Outcome fail{o.plan.actions[0].id, OutcomeStatus::failed, "EPERM", 0, 1};
  PlanInput next;
  next.now_ns = 5 * kNsPerSec;
  next.outcomes = {fail, fail, Outcome{"no-such-action", OutcomeStatus::failed, "", 0, 1}};
  auto o2 = make_plan(p, next, o.state);
  ASSERT_EQ(o2.state.backoff.size(), 1u);
  EXPECT_EQ(o2.state.backoff.begin()->second.failures, 1);
}

TEST(PlannerApi, StatefulPlannerMatchesPureFunction) {
  auto p = testing::load_ok(kPolicy);
  Planner planner;
  PlannerState st;
  for (int i = 0; i < 10; ++i) {
    PlanInput in;
    in.now_ns = i * 5 * kNsPerSec;
    in.symptoms = {flood("192.0.2.1", 0.9, in.now_ns)};
    auto pure = make_plan(p, in, st);
    st = pure.state;
    auto plan = planner.plan(p, in);
    ASSERT_EQ(plan.actions.size(), pure.plan.actions.size());
    for (std::size_t k = 0; k < plan.actions.size(); ++k)
      EXPECT_EQ(describe(plan.actions[k]), describe(pure.plan.actions[k]));
  }
  EXPECT_TRUE(planner.state() == st);
}

// The daemon's Planner walks its emitted actions only when the oldest may be
// due: it must forget them exactly when the pure function does (24 h after
// they were planned), and a restored state must not inherit what it knew.
TEST(PlannerApi, EmittedActionsAreForgottenAfterTheirRetentionLikeThePureFunction) {
  auto p = testing::load_ok(kPolicy);
  Planner planner;
  PlannerState st;
  std::vector<Outcome> applied;
  auto step = [&](TimeNs now, bool flooding) {
    PlanInput in;
    in.now_ns = now;
    if (flooding) in.symptoms = {flood("192.0.2.1", 0.9, now)};
    in.outcomes = applied;
    auto pure = make_plan(p, in, st);
    st = pure.state;
    auto plan = planner.plan(p, in);
    EXPECT_TRUE(planner.state() == st) << "at " << now / kNsPerSec << " s";
    applied.clear();
    for (const auto& a : plan.actions) {
      Outcome o;
      o.action_id = a.id;
      o.status = OutcomeStatus::applied;
      o.ts_ns = now;
      applied.push_back(o);
    }
  };
  for (int i = 0; i < 12; ++i) step(i * 5 * kNsPerSec, true);
  ASSERT_FALSE(st.emitted.empty());  // applied actions wait for a later rollback
  const TimeNs day = 24 * 3600 * kNsPerSec;
  for (TimeNs t = 3600 * kNsPerSec; t < day; t += 3600 * kNsPerSec) step(t, false);
  ASSERT_FALSE(st.emitted.empty());
  step(day + 3600 * kNsPerSec, false);
  for (const auto& [id, e] : planner.state().emitted) EXPECT_GE(e.planned_ns, kNsPerSec * 3600) << id;

  // A state restored with an action older than the retention: gone at the next plan.
  PlannerState old = planner.state();
  old.emitted["plan-0/0"] = EmittedAction{"block@x", kNsPerSec, "", 0};
  planner.restore(old);
  st = old;
  step(day + 2 * 3600 * kNsPerSec, false);
  EXPECT_FALSE(planner.state().emitted.count("plan-0/0"));
}

// The Planner walks its owners for expiry only once the earliest may have
// expired, and its tracks for orphans only when the rules change: it must
// still let go of both on the same tick as the pure function.
TEST(PlannerApi, OwnersExpireAndOrphansGoOnTheSameTickAsThePureFunction) {
  auto p = testing::load_ok(R"Y(
global:
  defaults: {for: 0s, hold: 10s, clear_for: 10s, cooldown: 0s}
rules:
  - id: blocker
    when: {symptom: flood, min_score: 0.5}
    then: {action: block, ttl: 20s}
)Y");
  Planner planner;
  PlannerState st;
  // A restored owner nobody renews (its track is gone): it expires at 30 s.
  st.owners["prefix:eth0:198.51.100.0/24"] = TargetOwner{"gone|x", 1, 1, 1, "gone", 30 * kNsPerSec};
  planner.restore(st);
  auto step = [&](const PolicySet& policy, TimeNs now, bool flooding) {
    PlanInput in;
    in.now_ns = now;
    if (flooding) in.symptoms = {flood("192.0.2.1", 0.9, now)};
    auto pure = make_plan(policy, in, st);
    st = pure.state;
    planner.plan(policy, in);
    EXPECT_TRUE(planner.state() == st) << "at " << now / kNsPerSec << " s";
  };
  for (int t = 0; t < 40; ++t) {
    step(p, t * kNsPerSec, t >= 5 && t < 15);
    EXPECT_EQ(planner.state().owners.count("prefix:eth0:198.51.100.0/24"), t < 30 ? 1u : 0u) << t;
  }
  // Flooding again: the block's owner is claimed, and the rule is then removed.
  for (int t = 40; t < 45; ++t) step(p, t * kNsPerSec, true);
  ASSERT_FALSE(planner.state().tracks.empty());
  ASSERT_FALSE(planner.state().owners.empty());
  auto empty = testing::load_ok("rules: []\n");
  step(empty, 45 * kNsPerSec, true);
  EXPECT_TRUE(planner.state().tracks.empty());
  EXPECT_TRUE(planner.state().owners.empty());
  // And back: the rule's tracks start again.
  step(p, 46 * kNsPerSec, true);
  EXPECT_FALSE(planner.state().tracks.empty());
}

// The Planner does not plan again on the inputs of its last quiet plan until
// one of its times can pass: every plan and state must still be the pure
// function's, tick for tick, through persistence, holds, cooldowns, TTL
// renewals, a renewal that loses its target to a stronger rule's block
// tick after tick, outcomes arriving (applications, verifications, a
// rollback and its backoff, an expiry), clearing and forgetting; and most
// ticks of the long quiet stretches must be skipped.
// Stamped (as the loop's peer symptoms are): a symptom whose stamp is the
// remembered one's is taken as the same without a compare, and one that
// changed comes with a new stamp; the plans are still the pure function's.
void quiet_plans_are_the_pure_functions(bool stamped) {
  auto p = testing::load_ok(R"Y(
global:
  defaults: {for: 0s, hold: 10s, clear_for: 60s, cooldown: 0s}
rules:
  - id: watch
    priority: 5
    when: {symptom: peer_verdict}
    then: {action: shadow, ttl: 2m}
  - id: agree
    priority: 30
    when: {symptom: peer_verdict, min_peers: 2}
    then: {action: block, ttl: 3m}
  - id: ladder
    when: {symptom: flood, min_score: 0.5, for: 5s}
    cooldown: 3s
    then: [{action: shadow, ttl: 90s}, {action: block, ttl: 2m}]
)Y");
  auto peer = [](const char* prefix, int peers, TimeNs since, TimeNs now) {
    Symptom s;
    s.id = std::string("peer_verdict:") + prefix;
    s.kind = SymptomKind::peer_verdict;
    s.subject.prefix = Prefix::parse(prefix).value();
    s.severity = Severity::warning;
    s.score = 1.0;
    s.evidence = {static_cast<double>(peers), 0, 0, std::to_string(peers) + " peers"};
    s.since_ns = since;
    s.ts_ns = now;
    return s;
  };
  Planner planner;
  PlannerState st;
  // Each action is applied the next tick and verified five later, as the
  // Executor reports them, but the first fleet block, rolled back (a
  // failure the later success forgives) and the first watch shadow, expired.
  std::map<TimeNs, std::vector<Outcome>> due;
  int plans = 0, quiet_with_outcomes = 0;
  bool rolled = false, expired = false;
  const TimeNs s = kNsPerSec;
  for (TimeNs now = 0; now < 1800 * s; now += s) {
    PlanInput in;
    in.now_ns = now;
    in.policy_generation = 7;
    if (now >= 10 * s && now < 900 * s)
      in.symptoms.push_back(peer("203.0.113.0/24", now >= 300 * s && now < 700 * s ? 2 : 1, 10 * s, now));
    if (now >= 200 * s && now < 1500 * s) in.symptoms.push_back(peer("198.51.100.0/24", 1, 200 * s, now));
    if ((now >= 100 * s && now < 160 * s) || (now >= 1000 * s && now < 1010 * s)) {
      auto f = flood("192.0.2.1", 0.9, now);
      f.since_ns = now >= 1000 * s ? 1000 * s : 100 * s;
      in.symptoms.push_back(f);
    }
    if (auto d = due.find(now); d != due.end()) in.outcomes = d->second;
    // A stamp per content: 203.0.113.0/24 changes at 300 s and 700 s.
    std::vector<std::uint64_t> stamps;
    for (const auto& sy : in.symptoms) {
      if (sy.kind != SymptomKind::peer_verdict) stamps.push_back(0);
      else if (sy.subject.prefix->to_string() == "198.51.100.0/24") stamps.push_back(4);
      else stamps.push_back(now < 300 * s ? 1 : now < 700 * s ? 2 : 3);
    }
    if (stamped) in.symptom_stamps = &stamps;
    auto pure = make_plan(p, in, st);
    st = pure.state;
    const auto quiet_before = planner.quiet_plans();
    auto plan = planner.plan(p, in);
    ASSERT_TRUE(plan == pure.plan) << "at " << now / s << " s: " << plan.actions.size() << " actions, "
                                   << pure.plan.actions.size() << " from the pure function";
    ASSERT_TRUE(planner.state() == st) << "at " << now / s << " s";
    if (!in.outcomes.empty() && planner.quiet_plans() > quiet_before) ++quiet_with_outcomes;
    for (const auto& a : plan.actions) {
      Outcome o;
      o.action_id = a.id;
      o.ts_ns = now + s;
      due[now + s].push_back(o);
      o.ts_ns = now + 6 * s;
      o.status = OutcomeStatus::verified;
      if (!rolled && a.rationale.rule_id == "agree") {
        o.status = OutcomeStatus::rolled_back;
        rolled = true;
      } else if (!expired && a.rationale.rule_id == "watch") {
        o.status = OutcomeStatus::expired;
        expired = true;
      }
      due[now + 6 * s].push_back(o);
    }
    ++plans;
  }
  EXPECT_TRUE(rolled && expired);
  // The stretches between changes and deadlines are most of the half hour,
  // and an outcome that moves no track (a verification) is one of them.
  EXPECT_GT(planner.quiet_plans(), static_cast<std::uint64_t>(plans) / 2);
  EXPECT_LT(planner.quiet_plans(), static_cast<std::uint64_t>(plans));
  EXPECT_GT(quiet_with_outcomes, 0);
}

TEST(PlannerApi, AQuietPlanIsNotMadeAgainYetEveryPlanIsThePureFunctions) { quiet_plans_are_the_pure_functions(false); }

TEST(PlannerApi, AQuietPlanKnownAgainByItsSymptomsStampsIsStillThePureFunctions) {
  quiet_plans_are_the_pure_functions(true);
}

TEST(PlannerApi, RemovedRuleDropsItsTrackWithANote) {
  auto p = testing::load_ok(kPolicy);
  PlanInput in;
  auto s = flood("192.0.2.1", 0.9, 0);
  s.since_ns = 1;
  in.now_ns = 10 * kNsPerSec;
  in.symptoms = {s};
  auto o = make_plan(p, in, {});
  ASSERT_EQ(o.plan.actions.size(), 1u);
  auto empty = testing::load_ok("rules: []\n");
  in.now_ns = 15 * kNsPerSec;
  auto o2 = make_plan(empty, in, o.state);
  EXPECT_TRUE(o2.plan.actions.empty());
  EXPECT_TRUE(o2.state.tracks.empty());
  EXPECT_TRUE(o2.state.owners.empty());
  ASSERT_EQ(o2.plan.notes.size(), 1u);
  EXPECT_NE(o2.plan.notes[0].find("stay until their TTL"), std::string::npos);
}

TEST(ScenarioRunner, AWrongExpectationFailsWithADiff) {
  auto p = testing::load_ok(kPolicy);
  auto tc = testing::parse_case(R"Y(
  - name: wrong on purpose
    symptoms: [{kind: flood, iface: eth0, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 20s}]
    expect:
      - {at: 5s, actions: [{action: block, prefix: 192.0.2.1}]}
)Y");
  auto r = check_case(p, tc);
  EXPECT_FALSE(r.passed);
  auto text = testing::join(r.report);
  EXPECT_NE(text.find("- block prefix=192.0.2.1"), std::string::npos) << text;
  EXPECT_NE(text.find("+ shadow iface=eth0 prefix=192.0.2.1"), std::string::npos) << text;
}

TEST(ScenarioRunner, StrictModeFailsOnUnexpectedActions) {
  auto p = testing::load_ok(kPolicy);
  auto tc = testing::parse_case(R"Y(
  - name: strict
    symptoms: [{kind: flood, iface: eth0, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 20s}]
    duration: 20s
)Y");
  auto r = check_case(p, tc);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(testing::join(r.report).find("unexpected actions"), std::string::npos);
}

}  // namespace
}  // namespace reflex::plan
