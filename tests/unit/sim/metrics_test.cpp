// The figures of a run, from hand-made samples: every definition in
// docs/scenarios.md, checked on a case whose answer is known.
#include "sim/run_data.h"

#include <gtest/gtest.h>

namespace reflex::sim {
namespace {

constexpr TimeNs kMs = kNsPerMs;

// 10 s at 10 ms: benign UDP 1000 pps (class 1) all served until the attack,
// attack 10 kpps (class 2) from 3 s to 7 s, dropped from drop_at on; benign
// served at half while the attack gets through.
RunData synthetic(TimeNs drop_at) {
  RunData r;
  r.duration_ns = r.end_ns = 10 * kNsPerSec;
  r.onset_ns = 3 * kNsPerSec;
  r.attack_end_ns = 7 * kNsPerSec;
  r.attack_windows = {{3 * kNsPerSec, 7 * kNsPerSec}};
  r.classes = {{"unclassified", TrafficClass::benign, TrafficKind::udp, {}, 0, 0, 0},
               {"clients", TrafficClass::benign, TrafficKind::udp, {1}, 1000, 0, 10 * kNsPerSec},
               {"flood", TrafficClass::attack, TrafficKind::udp, {2}, 10000, 3 * kNsPerSec, 7 * kNsPerSec}};
  std::uint64_t offered_b = 0, served_b = 0, offered_a = 0, arrived_a = 0;
  for (TimeNs t = 0; t <= r.duration_ns; t += 10 * kMs) {
    Sample s;
    s.t_ns = t;
    s.offered = {0, offered_b, offered_a};
    s.arrived = {0, served_b, arrived_a};
    s.served = {0, served_b, 0};
    r.samples.push_back(s);
    bool attack = t >= 3 * kNsPerSec && t < 7 * kNsPerSec;
    offered_b += 10;
    served_b += attack && t < drop_at ? 5 : 10;
    if (attack) {
      offered_a += 100;
      if (t < drop_at) arrived_a += 100;
    }
  }
  r.events = {{3'200 * kMs, "symptom", "flood", "192.0.2.0/24", ""}, {3'250 * kMs, "action", "block", "192.0.2.0/24", ""},
              {3'300 * kMs, "outcome", "applied", "", ""}};
  return r;
}

TEST(Metrics, OnsetToDetectActionAndDrop) {
  auto m = compute_metrics(synthetic(3'300 * kMs));
  EXPECT_DOUBLE_EQ(*m.onset_to_detect_ms, 200);
  EXPECT_DOUBLE_EQ(*m.onset_to_action_ms, 250);
  ASSERT_TRUE(m.onset_to_drop_ms);
  EXPECT_NEAR(*m.onset_to_drop_ms, 300, 10);
  EXPECT_EQ(m.actions_applied, 1u);
  EXPECT_EQ(m.attack_sent, 40'000u);
  EXPECT_EQ(m.attack_delivered, 3'000u);
}

TEST(Metrics, GoodputPhasesAndRecovery) {
  auto m = compute_metrics(synthetic(4'000 * kMs));
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
  auto m = compute_metrics(synthetic(100 * kNsPerSec));
  EXPECT_FALSE(m.onset_to_drop_ms);
  EXPECT_FALSE(m.recovered_ms);
  EXPECT_DOUBLE_EQ(*m.attack_delivered_ratio, 1.0);
}

TEST(Metrics, RuleLagIsMeasuredFromTheTtlItHadWhenTheAttackStopped) {
  auto r = synthetic(3'300 * kMs);
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
