// Short scenarios on the real kernel against `none` and `threshold`: the
// runner's own measurements (onset to drop, deliveries, false blocks, rule
// expiry, attach mode) on cases whose outcome is known.
#include "sim/runner.h"
#include "tests/e2e/sim/sim_fixture.h"
#include "tests/support/kernel_env.h"

#include <gtest/gtest.h>

namespace reflex::sim {
namespace {

using testing::run_on;
using testing::scenario_from;

// One address floods at 30 kpps from 1.5 s to 4 s; 10 benign clients send
// 500 pps; the threshold blocks above 5000 pps for 2 s.
const char* kSingleSource = R"(
name: single
description: one address floods
duration: 6s
settle_max: 8s
threshold: {pps: 5000, ttl: 2s}
traffic:
  - {name: clients, class: benign, kind: udp, sources: 100.64.1.0/24, count: 10, pps: 500}
  - {name: flood, class: attack, kind: udp, sources: 203.0.113.9/32, count: 1, pps: 30000, from: 1500ms, until: 4s}
)";

TEST(SimRunner, ThresholdDropsASingleSourceFloodAndItsRuleExpires) {
  REFLEX_REQUIRE_BPF();
  auto d = run_on(scenario_from(kSingleSource), NodeKind::threshold);
  ASSERT_TRUE(d.error.empty()) << d.error;
  auto m = compute_metrics(d);
  ASSERT_TRUE(m.onset_to_drop_ms) << "the attack was never dropped";
  EXPECT_LT(*m.onset_to_drop_ms, 1000);
  EXPECT_GT(m.attack_sent, 50'000u);
  ASSERT_TRUE(m.attack_delivered_ratio);
  EXPECT_LT(*m.attack_delivered_ratio, 0.2);
  EXPECT_EQ(m.false_blocks, 0u);
  EXPECT_EQ(m.benign_dropped, 0u);
  EXPECT_GT(*m.benign_goodput_ratio.during, 0.9);
  ASSERT_EQ(d.rules.size(), 1u);
  EXPECT_EQ(d.rules[0].prefix, *Prefix::parse("203.0.113.9/32"));
  EXPECT_EQ(m.rules_left, 0u) << "the 2 s ban must have expired before the settle phase ended";
  ASSERT_TRUE(m.rules_gone_lag_ms);
  EXPECT_LT(*m.rules_gone_lag_ms, 1000);
  EXPECT_GE(m.actions_expired, 1u);
  EXPECT_TRUE(m.onset_to_detect_ms && m.onset_to_action_ms);
}

TEST(SimRunner, WithoutReflexTheWholeAttackReachesTheVictim) {
  REFLEX_REQUIRE_BPF();
  auto d = run_on(scenario_from(kSingleSource), NodeKind::none);
  ASSERT_TRUE(d.error.empty()) << d.error;
  auto m = compute_metrics(d);
  EXPECT_FALSE(m.onset_to_drop_ms);
  ASSERT_TRUE(m.attack_delivered_ratio);
  EXPECT_GT(*m.attack_delivered_ratio, 0.9);
  EXPECT_TRUE(d.rules.empty());
  bool started = false;
  for (const auto& e : d.events) started |= e.lane == "scenario" && e.kind == "attack_start";
  EXPECT_TRUE(started);
}

TEST(SimRunner, AJumboPeerRefusesNativeXdpAndTheGuardRunsGeneric) {
  REFLEX_REQUIRE_BPF();
  std::string yaml = kSingleSource;
  yaml += "node: {mode: auto, peer_mtu: 9000}\n";
  auto d = run_on(scenario_from(yaml), NodeKind::threshold);
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(d.attach_mode, "generic");
  auto m = compute_metrics(d);
  ASSERT_TRUE(m.onset_to_drop_ms);
  EXPECT_LT(*m.onset_to_drop_ms, 1000);
}

TEST(SimRunner, CraftedSynsReachTheListener) {
  REFLEX_REQUIRE_BPF();
  auto d = run_on(scenario_from(R"(
name: syn
description: SYNs with valid checksums reach the TCP service
duration: 3s
settle_max: 2s
traffic:
  - {name: syn, class: attack, kind: syn, sources: 198.51.100.0/24, count: 50, pps: 5000, from: 500ms, until: 2500ms}
)"),
                  NodeKind::none);
  ASSERT_TRUE(d.error.empty()) << d.error;
  auto m = compute_metrics(d);
  EXPECT_GT(m.attack_sent, 8'000u);
  EXPECT_GT(m.attack_delivered, m.attack_sent * 9 / 10) << "a bad TCP checksum would stop them in the stack";
}

TEST(SimRunner, AHeavyBenignClientBlockedByTheThresholdIsAFalseBlock) {
  REFLEX_REQUIRE_BPF();
  auto d = run_on(scenario_from(R"(
name: heavy
description: a legitimate client above the fixed line
duration: 4s
settle_max: 5s
threshold: {pps: 2000, ttl: 1s}
traffic:
  - {name: backup, class: benign, kind: udp, sources: 100.64.9.7/32, count: 1, pps: 5000, from: 500ms, until: 3s}
  - {name: clients, class: benign, kind: udp, sources: 100.64.1.0/24, count: 10, pps: 500}
)"),
                  NodeKind::threshold);
  ASSERT_TRUE(d.error.empty()) << d.error;
  auto m = compute_metrics(d);
  EXPECT_EQ(m.false_blocks, 1u);
  EXPECT_GT(m.benign_dropped, 1000u) << "the guard's per-source counters saw its packets dropped";
}

// ---- the whole loop: reflexd run ---------------------------------------------

// The same single-source flood against `reflexd run` with the shipped
// policies: no rule is given, the loop sees the flood, decides and drops it,
// and the rule goes away after the flood ends.
TEST(SimRunner, ReflexdDropsAFloodWithNoCommand) {
  REFLEX_REQUIRE_BPF();
  auto d = run_on(scenario_from(kSingleSource), NodeKind::reflex);
  ASSERT_TRUE(d.error.empty()) << d.error;
  auto m = compute_metrics(d);
  ASSERT_TRUE(m.onset_to_drop_ms) << "reflexd never dropped the flood";
  EXPECT_LT(*m.onset_to_drop_ms, 2000);
  ASSERT_TRUE(m.onset_to_detect_ms) << "no flood symptom was recorded";
  ASSERT_TRUE(m.attack_delivered_ratio);
  EXPECT_LT(*m.attack_delivered_ratio, 0.5);
  EXPECT_EQ(m.false_blocks, 0u);
  EXPECT_GE(m.actions_applied, 1u);
  bool block = false;
  for (const auto& r : d.rules) block |= r.prefix.contains(*Prefix::parse("203.0.113.9/32"));
  EXPECT_TRUE(block) << "no rule covered the flooding address";
}

// kill -9 mid-attack: the pinned guard keeps dropping with no process, and
// the restarted daemon adopts the datapath and its own record.
const char* kKill9 = R"(
name: kill9-single
description: one address floods; the daemon is killed while it is dropped, and restarted
duration: 12s
settle_max: 90s
traffic:
  - {name: clients, class: benign, kind: udp, sources: 100.64.1.0/24, count: 10, pps: 500}
  - {name: flood, class: attack, kind: udp, sources: 203.0.113.9/32, count: 1, pps: 30000, from: 1500ms, until: 10s}
events:
  - {at: 4s, do: kill_daemon}
  - {at: 7s, do: start_daemon}
)";

TEST(SimRunner, AfterKill9ThePinnedDatapathKeepsDroppingAndTheDaemonResumes) {
  REFLEX_REQUIRE_BPF();
  auto d = run_on(scenario_from(kKill9), NodeKind::reflex);
  ASSERT_TRUE(d.error.empty()) << d.error;
  auto m = compute_metrics(d);
  ASSERT_TRUE(m.onset_to_drop_ms) << "reflexd never dropped the flood";
  EXPECT_LT(*m.onset_to_drop_ms, 2000);
  int killed = 0, ready = 0;
  for (const auto& e : d.events) {
    killed += e.lane == "daemon" && e.kind == "killed";
    ready += e.lane == "daemon" && e.kind == "ready";
  }
  EXPECT_EQ(killed, 1);
  EXPECT_EQ(ready, 2) << "the daemon did not come back after kill -9";
  // Not one attack packet reaches the victim from the kill until the new
  // daemon is ready: the pinned datapath drops it with no process at all.
  TimeNs down = 0, up = 0;
  for (const auto& e : d.events) {
    if (e.lane == "daemon" && e.kind == "killed") down = e.t_ns;
    if (e.lane == "daemon" && e.kind == "ready" && down) up = e.t_ns;
  }
  ASSERT_GT(up, down);
  const auto rs = rate_series(d, 100 * kNsPerMs);
  double delivered_while_down = 0;
  for (std::size_t c = 0; c < d.classes.size(); ++c) {
    if (d.classes[c].cls != TrafficClass::attack) continue;
    for (std::size_t b = 0; b < rs.t_s.size(); ++b) {
      const auto end = static_cast<TimeNs>(rs.t_s[b] * 1e9);
      if (end - 100 * kNsPerMs >= down && end <= up) delivered_while_down += rs.arrived[c][b] * 0.1;
    }
  }
  EXPECT_EQ(delivered_while_down, 0) << "attack packets reached the victim while no daemon ran";
  ASSERT_TRUE(m.attack_delivered_ratio);
  // Dropped from about 2 s to 10 s, through the 3 s without a daemon.
  EXPECT_LT(*m.attack_delivered_ratio, 0.35) << "the flood got through while the daemon was down";
  EXPECT_EQ(m.false_blocks, 0u);
  EXPECT_EQ(m.rules_left, 0u) << "the restarted daemon did not take its rule back after the flood";
}

}  // namespace
}  // namespace reflex::sim
