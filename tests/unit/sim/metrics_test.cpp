// The figures of a run, from hand-made samples: every definition in
// docs/scenarios.md, checked on a case whose answer is known.
#include "sim/report.h"
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

TEST(Metrics, RttUnderLoadAndInItsSecondHalf) {
  // Bulk load from 2 s to 10 s; the queue is at 500 ms until 5 s, then healed
  // to 20 ms; 10 ms before it.
  auto r = synthetic_run(3'300 * kMs);
  r.bulk_window = std::make_pair(2 * kNsPerSec, 10 * kNsPerSec);
  for (TimeNs t = 0; t < r.duration_ns; t += 10 * kMs) {
    TimeNs rtt = t < 2 * kNsPerSec ? 10 * kMs : t < 5 * kNsPerSec ? 500 * kMs : 20 * kMs;
    r.rtt.push_back(RttSample{t, rtt});
  }
  auto m = compute_metrics(r);
  EXPECT_DOUBLE_EQ(*m.rtt_before_ms.p99, 10);
  EXPECT_DOUBLE_EQ(*m.rtt_during_ms.p99, 500);  // the whole load: the bloat before it healed
  EXPECT_DOUBLE_EQ(*m.rtt_late_ms.p99, 20);     // 6 s to 10 s: healed
  Scenario sc;
  sc.expect.rtt_p99_late_ms_max = 50;
  Report rep;
  rep.scenario = &sc;
  NodeRuns n;
  n.node = NodeKind::reflex;
  n.metrics = {m};
  rep.nodes.push_back(n);
  auto checks = check_expectations(rep);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].metric, "rtt_p99_late_ms");
  EXPECT_TRUE(checks[0].pass);
  sc.expect.rtt_p99_late_ms_max = 10;
  EXPECT_FALSE(check_expectations(rep)[0].pass);
}

TEST(Metrics, NearestRankPercentile) {
  EXPECT_DOUBLE_EQ(percentile({5, 1, 4, 2, 3}, 0.5), 3);
  EXPECT_DOUBLE_EQ(percentile({5, 1, 4, 2, 3}, 0.99), 5);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.99), 7);
}

}  // namespace
}  // namespace reflex::sim
