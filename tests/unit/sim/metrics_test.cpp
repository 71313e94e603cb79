// The figures of a run, from hand-made samples: every definition in
// docs/scenarios.md, checked on a case whose answer is known.
#include "sim/run_data.h"
#include "tests/unit/sim/synthetic_run.h"

#include <gtest/gtest.h>

namespace reflex::sim {
namespace {

using testing::synthetic_run;
constexpr TimeNs kMs = kNsPerMs;

TEST(Metrics, OnsetToDetectActionAndDrop) {
  auto m = compute_metrics(synthetic_run(3'300 * kMs));
  EXPECT_DOUBLE_EQ(*m.onset_to_detect_ms, 200);
  EXPECT_DOUBLE_EQ(*m.onset_to_action_ms, 250);
  ASSERT_TRUE(m.onset_to_drop_ms);
  EXPECT_NEAR(*m.onset_to_drop_ms, 300, 10);
  EXPECT_EQ(m.actions_applied, 1u);
  EXPECT_EQ(m.attack_sent, 40'000u);
  EXPECT_EQ(m.attack_delivered, 3'000u);
}

TEST(Metrics, GoodputPhasesAndRecovery) {
  auto m = compute_metrics(synthetic_run(4'000 * kMs));
  EXPECT_NEAR(*m.benign_goodput_ratio.before, 1.0, 1e-9);
  // Half served for 1 s of the 4 s attack: (0.5 * 1 + 1 * 3) / 4.
  EXPECT_NEAR(*m.benign_goodput_ratio.during, 0.875, 0.01);
  EXPECT_NEAR(*m.benign_goodput_ratio.after, 1.0, 1e-9);
  ASSERT_TRUE(m.recovered_ms);
  // The first 500 ms window that stays >= 95% may hold up to 50 ms of the
  // half-served tail, so recovery reads 950 ms.
  EXPECT_NEAR(*m.recovered_ms, 950, 20);
}

TEST(Metrics, AnAttackNeverDroppedHasNoDropTimeAndNoRecovery) {
  auto m = compute_metrics(synthetic_run(100 * kNsPerSec));
  EXPECT_FALSE(m.onset_to_drop_ms);
  EXPECT_FALSE(m.recovered_ms);
  EXPECT_DOUBLE_EQ(*m.attack_delivered_ratio, 1.0);
}

TEST(Metrics, RuleLagIsMeasuredFromTheTtlItHadWhenTheAttackStopped) {
  auto r = synthetic_run(3'300 * kMs);
  RuleLife a;
  a.expiry_at_attack_end_ns = 8 * kNsPerSec;
  a.gone_ns = 8'400 * kMs;  // 400 ms late
  RuleLife b;
  b.expiry_at_attack_end_ns = 9 * kNsPerSec;
  b.gone_ns = 7'500 * kMs;  // reverted early
  r.rules = {a, b};
  auto m = compute_metrics(r);
  EXPECT_DOUBLE_EQ(*m.rules_gone_lag_ms, 400);
}

TEST(Metrics, NearestRankPercentile) {
  EXPECT_DOUBLE_EQ(percentile({5, 1, 4, 2, 3}, 0.5), 3);
  EXPECT_DOUBLE_EQ(percentile({5, 1, 4, 2, 3}, 0.99), 5);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.99), 7);
}

}  // namespace
}  // namespace reflex::sim
