// The fleet simulator: its datapath model against the guard's semantics, and
// whole runs of small fleets, every node on the daemon's own Loop with the
// shipped policies.

#include "plan/policy_loader.h"
#include "sim/fleet/datapath_model.h"
#include "sim/fleet/fleet_report.h"
#include "sim/fleet/fleet_run.h"
#include "sim/fleet/real_node_loop.h"

#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

namespace reflex::sim::fleet {
namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }

DesiredRule rule(const char* prefix, RuleVerb verb, std::uint64_t pps = 0, TimeNs expires = 0) {
  DesiredRule r;
  r.prefix = P(prefix);
  r.verb = verb;
  r.pps = pps;
  r.expires_ns = expires;
  return r;
}

Flow flow(const char* src, double packets) {
  Flow f;
  f.source = P(src);
  f.packets = packets;
  return f;
}

TEST(DatapathModel, DecidesAsTheGuardDoes) {
  DatapathModel dp;
  dp.install({rule("203.0.113.0/24", RuleVerb::drop), rule("203.0.113.8/30", RuleVerb::rate_limit, 100),
              rule("203.0.113.9/32", RuleVerb::allow), rule("198.51.100.0/24", RuleVerb::shadow),
              rule("192.0.2.0/24", RuleVerb::drop, 0, 5 * kNsPerSec)});
  dp.begin_tick(kNsPerSec, 1.0);
  EXPECT_EQ(dp.judge(flow("203.0.113.1", 50)).dropped, 50);  // the /24 drop
  auto limited = dp.judge(flow("203.0.113.10", 500));          // the longer /30 limit wins over the /24 drop
  EXPECT_EQ(limited.passed, 100);
  EXPECT_EQ(limited.rate_limited, 400);
  EXPECT_EQ(dp.judge(flow("203.0.113.9", 70)).passed, 70);  // allow wins over everything
  auto shadowed = dp.judge(flow("198.51.100.4", 30));
  EXPECT_EQ(shadowed.passed, 30);
  EXPECT_EQ(shadowed.shadowed, 30);
  EXPECT_EQ(dp.judge(flow("192.0.2.1", 10)).dropped, 10);
  // Counted as the kernel counts: a shadowed packet is not also a pass.
  EXPECT_EQ(dp.counts().shadow, 30u);
  EXPECT_EQ(dp.counts().pass, 100u + 70u);
  EXPECT_EQ(dp.counts().allowed, 70u);

  dp.begin_tick(5 * kNsPerSec, 1.0);  // the 192.0.2.0/24 rule has expired
  EXPECT_EQ(dp.judge(flow("192.0.2.1", 10)).passed, 10);
  EXPECT_EQ(dp.live_rules(5 * kNsPerSec).size(), 4u);
  // A swap keeps the counters of surviving keys.
  auto counted = [&](const char* prefix) {
    for (const auto& m : dp.rules())
      if (m.rule.prefix == P(prefix)) return m.packets;
    return -1.0;
  };
  EXPECT_EQ(counted("203.0.113.8/30"), 500);
  dp.install({rule("203.0.113.8/30", RuleVerb::drop)});
  EXPECT_EQ(counted("203.0.113.8/30"), 500);
}

const char* kMoving = R"(
name: moving-test
nodes: 9
duration: 18m
seed: 5
mesh: {layout: grid}
benign: {sources: 24, pps: 300, spread: 0.4}
attacks:
  - {name: walker, kind: moving, prefix: 203.0.113.0/24, sources: 2, pps: 6000, start: 30s, dwell: 2m, entries: 8, from_node: 0}
expect:
  max_coop_delivered_ratio: 0.333
)";

struct Fixture : ::testing::Test {
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::warn); }

  FleetScenario scenario(const std::string& text) {
    auto rep = parse_fleet_scenario(text, "test.yaml");
    EXPECT_TRUE(rep.ok()) << rep.errors();
    return *rep.scenario;
  }
  std::vector<FleetRun> both(const FleetScenario& s) {
    auto policies = plan::load_policy_set(std::string(REFLEX_SOURCE_DIR) + "/policies");
    EXPECT_TRUE(policies) << policies.error().message();
    RealLoopOptions lo;
    lo.iface = kSimIface;
    lo.tick_ns = s.tick;
    lo.policies = std::make_shared<const plan::PolicySet>(std::move(*policies));
    std::vector<FleetRun> runs;
    for (bool coop : {true, false}) {
      RunOptions ro;
      ro.coop = coop;
      ro.threads = coop ? 2 : 1;  // the thread count changes nothing but the wall time
      ro.loop = real_loop_factory(lo);
      runs.push_back(run_fleet(s, ro));
    }
    return runs;
  }
};

TEST_F(Fixture, AMovingFloodIsDroppedAheadOfItWithCooperationAndNotWithout) {
  auto s = scenario(kMoving);
  auto runs = both(s);
  const auto on = summarize(s, runs[0]), off = summarize(s, runs[1]);
  // The same traffic both ways.
  EXPECT_EQ(on.attack_packets, off.attack_packets);
  EXPECT_EQ(on.benign_packets, off.benign_packets);
  ASSERT_GT(off.moving_delivered, 0);
  EXPECT_LE(on.moving_delivered, off.moving_delivered / 3) << on.moving_delivered << " vs " << off.moving_delivered;
  EXPECT_EQ(on.benign_dropped, 0);
  EXPECT_GT(on.verdicts_sent, 0u);
  EXPECT_GT(on.verdicts_acted_on, 0u);
  EXPECT_EQ(off.verdicts_sent, 0u);
  // Every entry after the second one drops the flood within a tick of its arrival.
  // (The first two entries cannot be warned: one peer's word earns a shadow.)
  ASSERT_EQ(on.by_order_onset_s.size(), 8u);
  for (std::size_t k = 2; k < 8; ++k) EXPECT_LE(on.by_order_onset_s[k], 1.0) << "entry " << k;
  for (std::size_t k = 0; k < 8; ++k) EXPECT_GT(off.by_order_onset_s[k], 1.0) << "entry " << k;
  for (const auto& c : check_expectations(s, runs)) EXPECT_TRUE(c.pass) << c.metric;

  // And the report says so.
  auto j = report_json(s, runs);
  EXPECT_TRUE(j.at("pass").as_bool());
  EXPECT_NE(timeline_svg(s, runs).find("cooperation on"), std::string::npos);
}

TEST_F(Fixture, APoisonedNodeMakesPeersShadowAndBlocksNothing) {
  auto s = scenario(R"(
name: poison-test
nodes: 9
duration: 6m
benign: {sources: 24, pps: 300, spread: 0.4}
poison:
  - {node: 4, start: 10s, every: 5s, prefixes: benign}
)");
  auto runs = both(s);
  const auto on = summarize(s, runs[0]);
  EXPECT_GT(on.false_verdicts_sent, 10u);
  EXPECT_EQ(on.benign_dropped, 0);
  EXPECT_EQ(on.actions_by_kind.count("block"), 0u);
  EXPECT_EQ(on.actions_by_kind.count("rate_limit"), 0u);
  ASSERT_EQ(on.actions_by_kind.count("shadow"), 1u) << "each lie is watched (shadowed), nothing more";
  EXPECT_GT(on.actions_by_kind.at("shadow"), 0u);
  EXPECT_GT(on.verdicts_refused, 0u) << "the liar's rate cap (6/min) refuses some of one every 5 s";
}

TEST_F(Fixture, LinksThatFlapCostWarningsButNeverTheLocalDefence) {
  std::string text = kMoving;
  text += "flaps:\n  - {nodes: [1, 3, 4], at: 1m, for: 4m}\n";
  auto s = scenario(text);
  s.expect = {};
  auto runs = both(s);
  const auto on = summarize(s, runs[0]), off = summarize(s, runs[1]);
  EXPECT_GT(runs[0].bus.lost_down + runs[0].bus.buffered, 0u);
  EXPECT_LT(on.moving_delivered, off.moving_delivered);
  EXPECT_EQ(on.visits_never_dropped, 0u) << "a node without the bus still defends itself";
}

}  // namespace
}  // namespace reflex::sim::fleet
