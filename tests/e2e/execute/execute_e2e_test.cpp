// Execute with the real guard on a veth pair, real traffic and the real
// Monitor: every actuator applied and reverted with the effect measured at
// the receiver, mode steps and program swaps under traffic, a rollback
// made to happen, drift healed, and the daemon sharing a guard with
// reflex-guard.

#include "tests/e2e/execute/execute_fixture.h"

#include "plan/planner.h"
#include "plan/policy_loader.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::testing;

namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }

execute::VerifyConfig quick_verify() {
  execute::VerifyConfig v;
  v.settle_ns = 500 * kNsPerMs;
  v.baseline_ns = 500 * kNsPerMs;
  v.deadline_ns = 3 * kNsPerSec;
  v.min_pps = 50;
  return v;
}

TEST_F(ExecuteE2E, EachRuleActionAppliedAndRevertedUnderTraffic) {
  ASSERT_NO_FATAL_FAILURE(start());
  tick();
  EXPECT_EQ(udp_round(kA11, 100), 100u);

  // block -> nothing from the source arrives; others do.
  auto out = tick(plan_of({act("b", BlockPrefix{key(), P(kA11), {}}, 60 * kNsPerSec)}));
  ASSERT_NE(find(out, "b", OutcomeStatus::applied), nullptr);
  EXPECT_EQ(udp_round(kA11, 100), 0u);
  EXPECT_EQ(udp_round(kA12, 100), 100u);
  // unblock -> it arrives again.
  tick(plan_of({act("u", Unblock{key(), P(kA11), {}})}));
  EXPECT_EQ(udp_round(kA11, 100), 100u);

  // shadow -> everything arrives, the guard counts what a block would drop.
  const auto shadow0 = (*g().verdicts())[GUARD_R_PASS_SHADOW].packets;
  tick(plan_of({act("s", ShadowPrefix{key(), P(kA11), {}})}));
  EXPECT_EQ(udp_round(kA11, 100), 100u);
  EXPECT_GE((*g().verdicts())[GUARD_R_PASS_SHADOW].packets - shadow0, 100u);

  // rate limit -> a burst of 2000 is cut to the bucket's depth of 50.
  tick(plan_of({act("l", RateLimitPrefix{key(), P(kA11), 100, 50, {}})}));
  const std::size_t got = udp_round(kA11, 2000);
  EXPECT_GE(got, 50u);
  EXPECT_LE(got, 120u) << "a 2000-packet burst at 100 pps with a burst of 50";
  tick(plan_of({act("u2", Unblock{key(), P(kA11), {}})}));
  EXPECT_EQ(udp_round(kA11, 100), 100u);
  EXPECT_TRUE(ex_->desired().ifaces.at(key()).rules.empty());
  EXPECT_EQ(g().rule_count(), 0u);
}

TEST_F(ExecuteE2E, AggregationMergesHostBlocksIntoTheirPrefixAndBack) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<Action> blocks;
  for (int i = 100; i < 120; ++i)
    blocks.push_back(act("h" + std::to_string(i), BlockPrefix{key(), P(("10.88.1." + std::to_string(i)).c_str()), {}}));
  blocks.push_back(act("h21", BlockPrefix{key(), P(kA21), {}}));
  for (const auto& o : tick(plan_of(blocks)))
    EXPECT_EQ(o.status, OutcomeStatus::applied) << o.action_id << ": " << o.error << " " << o.detail;
  EXPECT_EQ(g().rule_count(), 21u);
  EXPECT_EQ(udp_round(kA21, 50), 0u);
  EXPECT_EQ(udp_round(kA22, 50), 50u) << "not blocked yet: only its neighbours are";

  auto out = tick(plan_of({act("agg", AggregateRules{key(), RuleVerb::drop, 24, 64, 16, {P("10.88.0.0/24")}})}));
  auto* o = find(out, "agg", OutcomeStatus::applied);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(g().rule_count(), 1u) << "21 host rules became one /24";
  auto rules = g().rules();
  ASSERT_TRUE(rules && rules->size() == 1u);
  EXPECT_EQ((*rules)[0].prefix.to_string(), "10.88.1.0/24");
  EXPECT_EQ(udp_round(kA21, 50), 0u);
  EXPECT_EQ(udp_round(kA22, 50), 0u) << "the cover blocks the whole /24";
  EXPECT_EQ(udp_round(kA11, 50), 50u) << "the protected /24 is untouched";

  // Its inverse restores the host rules exactly.
  ASSERT_EQ(last_.intents.size(), 1u);
  std::vector<Action> undo;
  for (std::size_t i = 0; i < last_.intents[0].inverse.size(); ++i)
    undo.push_back(act("undo" + std::to_string(i), last_.intents[0].inverse[i]));
  tick(plan_of(undo));
  EXPECT_EQ(g().rule_count(), 21u);
  EXPECT_EQ(udp_round(kA22, 50), 50u);
  EXPECT_EQ(udp_round(kA21, 50), 0u);
}

// Map pressure end to end, from the symptom on: the shipped policies (the
// map-pressure rule `rules-aggregate`), the planner and the executor on the
// real guard. The symptom is the one Analyze raises for a filling
// IFACE/rules table.
TEST_F(ExecuteE2E, AFillingRuleTableRelievesItselfThroughTheShippedPolicy) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto policy = plan::load_policy_set(std::string(REFLEX_SOURCE_DIR) + "/policies");
  ASSERT_TRUE(policy) << policy.error().message();
  std::vector<Action> blocks;
  for (int i = 100; i < 140; ++i)
    blocks.push_back(act("h" + std::to_string(i), BlockPrefix{key(), P(("10.88.1." + std::to_string(i)).c_str()), {}},
                         10 * 60 * kNsPerSec));
  blocks.push_back(act("h21", BlockPrefix{key(), P(kA21), {}}, 10 * 60 * kNsPerSec));
  tick(plan_of(blocks));
  ASSERT_EQ(g().rule_count(), 41u);
  EXPECT_EQ(udp_round(kA22, 50), 50u) << "its neighbours are blocked, it is not";

  plan::Planner planner;
  Symptom pressure;
  pressure.id = "mp-1";
  pressure.kind = SymptomKind::map_pressure;
  pressure.subject.map = key() + "/rules";
  pressure.severity = Severity::warning;
  pressure.score = 0.8;
  pressure.evidence = {0.85, 0.5, 3, "85% full"};
  const TimeNs t0 = 1000 * kNsPerSec;  // the planner's clock (its `for: 2s` needs time to pass)
  pressure.since_ns = t0;
  const Outcome* done = nullptr;
  std::vector<Outcome> feedback, all;
  for (int s = 0; s <= 10 && !done; ++s) {
    plan::PlanInput in;
    in.now_ns = t0 + s * kNsPerSec;
    pressure.ts_ns = in.now_ns;
    in.symptoms = {pressure};
    in.outcomes = std::move(feedback);
    Plan p = planner.plan(*policy, in);
    feedback = tick(p);
    all.insert(all.end(), feedback.begin(), feedback.end());
    for (const auto& a : p.actions)
      if (std::holds_alternative<AggregateRules>(a.spec)) {
        EXPECT_GE(s, 2) << "the rule asks for 2 s of pressure first";
        done = find(all, a.id, OutcomeStatus::applied);
        ASSERT_NE(done, nullptr) << "the aggregate was not applied";
      }
  }
  ASSERT_NE(done, nullptr) << "the shipped policy never aggregated the filling table";
  std::printf("aggregate: %s\n", done->detail.c_str());
  EXPECT_EQ(g().rule_count(), 1u) << "41 host blocks became one /24";
  EXPECT_EQ((*g().rules())[0].prefix.to_string(), "10.88.1.0/24");
  EXPECT_EQ(udp_round(kA21, 50), 0u);
  EXPECT_EQ(udp_round(kA22, 50), 0u) << "the cover (within max_block_prefix /24) blocks the whole /24";
  EXPECT_EQ(udp_round(kA11, 50), 50u) << "outside the cover nothing changed";
}

TEST_F(ExecuteE2E, AShapeInForceIsNotDriftToReconcile) {
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::native, {}, 0, /*shaping=*/true));
  auto out = tick(plan_of({act("shape", ShapeInterface{key(), std::nullopt, 9'999'999, 0}, 60 * kNsPerSec)}));
  ASSERT_NE(find(out, "shape", OutcomeStatus::applied), nullptr) << "the shape was not applied";
  // The kernel holds the shape's rate (rounded to bytes/s) and burst, not its expiry or its action:
  // what it reads back is the shape in force, not a difference to heal.
  for (int i = 0; i < 3; ++i) {
    auto rec = ex_->reconcile(snapshot().ts_ns);
    EXPECT_TRUE(rec.empty()) << "a shape in force was healed: " << (rec.empty() ? "" : rec[0].detail);
  }
}

TEST_F(ExecuteE2E, ModeStepsUnderTrafficLoseNothingAndLeakNothing) {
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::native));
  tick(plan_of({act("b", BlockPrefix{key(), P(kA12), {}})}));
  const auto queue0 = veth_tx_dropped();
  {
    Stream good(*a_, kA11, *b_, kB, 9100, 5000);
    Stream bad(*a_, kA12, *b_, kB, 9101, 5000);
    std::this_thread::sleep_for(200ms);  // traffic before the first step
    for (AttachMode m : {AttachMode::generic, AttachMode::tc, AttachMode::native}) {
      auto t0 = std::chrono::steady_clock::now();
      auto out = tick(plan_of({act(std::string("m-") + std::string(to_string(m)), SetAttachMode{key(), m})}));
      auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ASSERT_NE(find(out, std::string("m-") + std::string(to_string(m)), OutcomeStatus::applied), nullptr);
      EXPECT_EQ(g().mode(), m);
      std::printf("step to %s: %.1f ms\n", std::string(to_string(m)).c_str(), ms);
      std::this_thread::sleep_for(200ms);  // traffic between steps
    }
    good.stop();
    bad.stop();
    const auto queue = veth_tx_dropped() - queue0;
    std::printf("allowed: %llu sent, %llu received, longest gap %llu packets (%.1f ms); blocked: %llu sent, %llu "
                "received; veth queue dropped %llu\n",
                (unsigned long long)good.sent(), (unsigned long long)good.received(),
                (unsigned long long)good.longest_gap(), good.longest_gap() / 5.0, (unsigned long long)bad.sent(),
                (unsigned long long)bad.received(), (unsigned long long)queue);
    RecordProperty("longest_gap_packets", std::to_string(good.longest_gap()));
    ASSERT_GT(good.sent(), 3000u);
    EXPECT_EQ(bad.received(), 0u) << "a blocked packet got through during a mode step";
    EXPECT_LE(good.sent() - good.received(), queue) << "allowed packets lost beyond what the veth queue dropped";
  }
  EXPECT_EQ(g().rule_count(), 1u);
}

TEST_F(ExecuteE2E, ProgramSwapKeepsRulesCountersAndTraffic) {
  ASSERT_NO_FATAL_FAILURE(start());
  tick(plan_of({act("b", BlockPrefix{key(), P(kA12), {}}), act("s", ShadowPrefix{key(), P(kA11), {}})}));
  EXPECT_EQ(udp_round(kA12, 100), 0u);
  EXPECT_EQ(udp_round(kA11, 100), 100u);
  auto stats0 = g().rule_stats();
  ASSERT_TRUE(stats0);
  const auto drops0 = (*g().verdicts())[GUARD_R_DROP_RULE].packets;
  const auto prog0 = g().link()->prog_id;
  EXPECT_EQ(*g().program_variant(), "default");
  {
    Stream good(*a_, kA, *b_, kB, 9200, 5000);
    std::this_thread::sleep_for(200ms);
    auto out = tick(plan_of({act("lean", SwapProgram{key(), "lean"})}));
    ASSERT_NE(find(out, "lean", OutcomeStatus::applied), nullptr);
    std::this_thread::sleep_for(200ms);
    good.stop();
    EXPECT_EQ(good.received(), good.sent()) << "packets lost across the swap";
  }
  EXPECT_EQ(*g().program_variant(), "lean");
  EXPECT_NE(g().link()->prog_id, prog0);
  EXPECT_EQ(g().rule_count(), 2u);
  auto stats1 = g().rule_stats();
  ASSERT_TRUE(stats1);
  ASSERT_EQ(stats1->size(), stats0->size());
  for (std::size_t i = 0; i < stats0->size(); ++i) EXPECT_GE((*stats1)[i].packets, (*stats0)[i].packets);
  EXPECT_GE((*g().verdicts())[GUARD_R_DROP_RULE].packets, drops0) << "verdict counters survive";
  EXPECT_EQ(udp_round(kA12, 100), 0u) << "the new program enforces the old rules";
  EXPECT_GE((*g().verdicts())[GUARD_R_DROP_RULE].packets, drops0 + 100);
  // And back, as a rollback would.
  auto out = tick(plan_of({act("def", SwapProgram{key(), "default"})}));
  ASSERT_NE(find(out, "def", OutcomeStatus::applied), nullptr);
  EXPECT_EQ(*g().program_variant(), "default");
}

TEST_F(ExecuteE2E, ABlockThatHurtsBystandersIsRolledBack) {
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::native, quick_verify()));
  Stream flood(*a_, kA11, *b_, kB, 9300, 3000);
  Stream benign(*a_, kA12, *b_, kB, 9301, 1000);
  for (int i = 0; i < 3; ++i) {  // the Monitor sees both before the change
    std::this_thread::sleep_for(250ms);
    tick();
  }
  // Made to fail on purpose: the /24 holds the bystander as well.
  const auto benign_before = benign.next_seq();
  // As the planner would say it: a flood from kA11, the block a /24 wide.
  Action wide = act("wide", BlockPrefix{key(), P("10.88.0.0/24"), {}}, 60 * kNsPerSec);
  wide.rationale.symptom = SymptomKind::flood;
  wide.rationale.subject.iface = key();
  wide.rationale.subject.prefix = P(kA11);
  auto out = tick(plan_of({wide}));
  ASSERT_NE(find(out, "wide", OutcomeStatus::applied), nullptr);
  auto all = tick_until("wide", OutcomeStatus::rolled_back);
  auto* rb = find(all, "wide", OutcomeStatus::rolled_back);
  ASSERT_NE(rb, nullptr);
  std::printf("rolled back: %s\n", rb->detail.c_str());
  EXPECT_NE(rb->detail.find("traffic outside the action fell"), std::string::npos) << rb->detail;
  // The rollback reached the kernel (review staged it; the tick applied it).
  EXPECT_EQ(g().rule_count(), 0u);
  const auto benign_after_rollback = benign.next_seq();
  std::this_thread::sleep_for(300ms);
  flood.stop();
  benign.stop();
  EXPECT_GT(benign.received_since(benign_after_rollback), 200u) << "the bystander's traffic came back";
  EXPECT_LT(benign.received_since(benign_before), benign.sent() - benign_before) << "it was blocked meanwhile";
}

TEST_F(ExecuteE2E, AFloodBlockIsVerifiedFromTheObservations) {
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::native, quick_verify()));
  Stream flood(*a_, kA11, *b_, kB, 9400, 3000);
  Stream benign(*a_, kA12, *b_, kB, 9401, 1000);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(250ms);
    tick();
  }
  tick(plan_of({act("blk", BlockPrefix{key(), P(kA11), {}}, 60 * kNsPerSec)}));
  const auto flood_from = flood.next_seq();
  auto all = tick_until("blk", OutcomeStatus::verified);
  auto* v = find(all, "blk", OutcomeStatus::verified);
  ASSERT_NE(v, nullptr);
  std::printf("verified: %s\n", v->detail.c_str());
  EXPECT_LT(v->effect, -1000);
  flood.stop();
  benign.stop();
  EXPECT_EQ(flood.received_since(flood_from + 100), 0u);
  EXPECT_EQ(g().rule_count(), 1u);
}

TEST_F(ExecuteE2E, ReconcileHealsRulesAndTheLinkRemovedFromOutside) {
  ASSERT_NO_FATAL_FAILURE(start());
  tick(plan_of({act("a", BlockPrefix{key(), P(kA11), {}}), act("b", BlockPrefix{key(), P(kA12), {}})}));
  EXPECT_EQ(udp_round(kA11, 50), 0u);
  // From outside: an operator deletes one of the daemon's rules, and the
  // attach link is detached (as `bpftool link detach` does).
  auto r = guard_cli({"unblock", kA11, "--iface", key()});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  {
    Fd link(bpf_obj_get((test_pin_root() + "/" + key() + "/link").c_str()));
    ASSERT_TRUE(link.valid());
    ASSERT_EQ(bpf_link_detach(link.get()), 0);
  }
  EXPECT_EQ(udp_round(kA11, 50), 50u);
  auto out = ex_->reconcile(snapshot().ts_ns);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, OutcomeStatus::applied) << out[0].error;
  std::printf("reconcile: %s\n", out[0].detail.c_str());
  EXPECT_NE(out[0].detail.find("attach:"), std::string::npos) << out[0].detail;
  EXPECT_NE(out[0].detail.find("rules: 1 rule(s) missing"), std::string::npos) << out[0].detail;
  EXPECT_TRUE(g().link()->attached);
  EXPECT_EQ(udp_round(kA11, 50), 0u);
  EXPECT_EQ(udp_round(kA12, 50), 0u);
  EXPECT_EQ(udp_round(kA, 50), 50u);
  EXPECT_TRUE(ex_->reconcile(snapshot().ts_ns).empty()) << "nothing left to heal";

  // The guard unloaded altogether: reconcile loads it again with the rules.
  ASSERT_TRUE(guard::Guard::unload(key(), {test_pin_root()}));
  out = ex_->reconcile(snapshot().ts_ns);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, OutcomeStatus::applied) << out[0].error;
  EXPECT_EQ(g().rule_count(), 2u);
  EXPECT_EQ(udp_round(kA12, 50), 0u);
}

TEST_F(ExecuteE2E, TheDaemonsActuatorAndReflexGuardChangeRulesInTurn) {
  ASSERT_NO_FATAL_FAILURE(start());
  // The daemon-style actuator holds its Guard for the whole test.
  tick(plan_of({act("d1", BlockPrefix{key(), P(kA11), {}})}));
  // reflex-guard is not locked out (a lock kept by the daemon would time it out).
  auto r = guard_cli({"block", kA12, "--iface", key()}, 5);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto rep = guard_cli({"replace", "--file", "/dev/null", "--iface", key()}, 5);
  // (an empty replace would drop the daemon's rule; reconcile puts it back)
  ASSERT_EQ(rep.exit_code, 0) << rep.out;
  ASSERT_EQ(guard_cli({"block", kA12, "--iface", key()}, 5).exit_code, 0);
  // The daemon's next change reads the rules back (the set changed under
  // it): it keeps the operator's rule and puts back its own d1.
  tick(plan_of({act("d2", BlockPrefix{key(), P(kA21), {}})}));
  EXPECT_EQ(udp_round(kA12, 50), 0u) << "the operator's rule was lost";
  EXPECT_EQ(udp_round(kA21, 50), 0u);
  EXPECT_EQ(udp_round(kA11, 50), 0u) << "the daemon's own rule was not healed";
  EXPECT_TRUE(ex_->reconcile(snapshot().ts_ns).empty());
  // And the operator again, after the daemon's swap.
  r = guard_cli({"unblock", kA12, "--iface", key()}, 5);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(udp_round(kA12, 50), 50u);
  tick(plan_of({act("d3", Unblock{key(), P(kA21), {}})}));
  EXPECT_EQ(udp_round(kA12, 50), 50u) << "the daemon re-added a rule it never owned";
  EXPECT_EQ(udp_round(kA21, 50), 50u);
  EXPECT_EQ(g().rule_count(), 1u);  // d1
}

TEST_F(ExecuteE2E, KernelFailuresAreOutcomesWithTheFix) {
  ASSERT_NO_FATAL_FAILURE(start());
  tick(plan_of({act("b", BlockPrefix{key(), P(kA11), {}})}));
  // The interface goes away under the daemon.
  ASSERT_TRUE(b_->ip({"link", "del", if_b_}));
  auto out = tick(plan_of({act("m", SetAttachMode{key(), AttachMode::generic})}));
  auto* f = find(out, "m", OutcomeStatus::failed);
  ASSERT_NE(f, nullptr);
  std::printf("failed: %s (%s)\n", f->error.c_str(), f->hint.c_str());
  EXPECT_NE(f->error.find("is gone"), std::string::npos) << f->error;
  EXPECT_FALSE(f->hint.empty());
  EXPECT_EQ(ex_->desired().ifaces.at(key()).mode, AttachMode::native) << "the desired state keeps what is in force";
  auto rec = ex_->reconcile(snapshot().ts_ns);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].status, OutcomeStatus::failed);
  EXPECT_NE(rec[0].error.find("gone"), std::string::npos) << rec[0].error;

  // It comes back (same name, a new ifindex): reconcile attaches the guard
  // to it, with the rules it held.
  ASSERT_NO_FATAL_FAILURE(make_pair());
  auto healed = ex_->reconcile(snapshot().ts_ns);
  ASSERT_EQ(healed.size(), 1u);
  EXPECT_EQ(healed[0].status, OutcomeStatus::applied) << healed[0].error;
  std::printf("healed: %s\n", healed[0].detail.c_str());
  EXPECT_TRUE(g().link()->attached);
  EXPECT_EQ(udp_round(kA11, 50), 0u) << "the block before the interface went is not enforced again";
  EXPECT_EQ(udp_round(kA, 50), 50u);
  EXPECT_TRUE(ex_->reconcile(snapshot().ts_ns).empty()) << "nothing left to heal";
  EXPECT_TRUE(ex_->status(snapshot().ts_ns).ifaces.at(0).healthy);
}

// A RuleBatch end to end: 10k rules as one action on the real guard, real
// packets through the veth pair, then its inverse and the guard's rules back
// exactly as they were (the operator's rule untouched throughout).
std::vector<guard::GuardRule> sorted_rules(guard::Guard& g) {
  auto r = g.rules();
  EXPECT_TRUE(r) << r.error().message();
  if (!r) return {};
  std::sort(r->begin(), r->end(), [](const auto& a, const auto& b) { return a.key() < b.key(); });
  return *r;
}

TEST_F(ExecuteE2E, ARuleBatchOf10kRulesIsOneActionInForceAndItsInverseRestoresExactly) {
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::native, quick_verify()));
  // Before: the daemon's rate limit on kA21, and an operator's block of kA22 made with reflex-guard.
  tick(plan_of({act("rl", RateLimitPrefix{key(), P(kA21), 100, 40, {}})}));
  auto cli = guard_cli({"block", kA22, "--iface", key()}, 5);
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  const auto before = sorted_rules(g());
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(udp_round(kA11, 100), 100u);
  EXPECT_LE(udp_round(kA21, 500), 120u) << "the rate limit is in force before";

  // 10k hosts in one batch: kA11 and kA21 among them, kA12 not.
  RuleBatch b{key(), {P(kA11), P(kA21)}, {}};
  for (int i = 0; b.prefixes.size() < 10'000; ++i)
    b.prefixes.push_back(P(("10.90." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250)).c_str()));
  const auto t0 = std::chrono::steady_clock::now();
  auto out = tick(plan_of({act("batch", b, 600 * kNsPerSec)}));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ batch ] 10k rules, one tick (Monitor + review + prepare + apply): %.1f ms\n", ms);
  // (the rate limit's own check may report in the same tick)
  const auto mine = std::count_if(out.begin(), out.end(), [](const Outcome& o) { return o.action_id == "batch"; });
  EXPECT_EQ(mine, 1) << "one Outcome for the batch";
  auto* applied = find(out, "batch", OutcomeStatus::applied);
  ASSERT_NE(applied, nullptr);
  ASSERT_EQ(last_.intents.size(), 1u);
  const std::vector<ActionSpec> inv = last_.intents[0].inverse;  // later ticks replace last_
  EXPECT_EQ(g().rule_count(), 10'001u) << "the batch's 10k and the operator's rule";
  EXPECT_EQ(udp_round(kA11, 100), 0u);
  EXPECT_EQ(udp_round(kA21, 100), 0u) << "the rate limit became a block";
  EXPECT_EQ(udp_round(kA22, 100), 0u) << "the operator's block stays";
  EXPECT_EQ(udp_round(kA12, 100), 100u) << "a source not in the batch passes";
  for (const auto& r : g().rules().value())
    if (r.prefix == P(kA11)) EXPECT_GT(r.expires_ns, 0u) << "the action's ttl is the rules' expiry";

  // Its post-condition is judged from the Monitor's rule count.
  auto verified = tick_until("batch", OutcomeStatus::verified);
  auto* v = find(verified, "batch", OutcomeStatus::verified);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->detail, "the batch's 10000 rules are in force");

  // The inverse: the new keys go, the rate limit comes back.
  ASSERT_EQ(inv.size(), 2u);
  std::vector<Action> undo;
  for (std::size_t i = 0; i < inv.size(); ++i) undo.push_back(act("undo" + std::to_string(i), inv[i]));
  out = tick(plan_of(undo));
  for (const auto& o : out) EXPECT_EQ(o.status, OutcomeStatus::applied) << o.action_id << ": " << o.error;
  EXPECT_EQ(sorted_rules(g()), before) << "the guard holds exactly what it held before";
  EXPECT_EQ(udp_round(kA11, 100), 100u);
  EXPECT_LE(udp_round(kA21, 500), 120u) << "the rate limit is in force again";
  EXPECT_EQ(udp_round(kA22, 100), 0u);
  EXPECT_EQ(udp_round(kA12, 100), 100u);
}

}  // namespace
