// A RuleBatch end to end: 10k rules as one action on the real guard, real
// packets through the veth pair, then its inverse and the guard's rules back
// exactly as they were (the operator's rule untouched throughout).

#include "tests/e2e/execute/execute_fixture.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace reflex;
using namespace reflex::testing;

namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }

execute::VerifyConfig quick_verify() {
  execute::VerifyConfig v;
  v.settle_ns = 500 * kNsPerMs;
  v.baseline_ns = 500 * kNsPerMs;
  v.deadline_ns = 3 * kNsPerSec;
  return v;
}

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
