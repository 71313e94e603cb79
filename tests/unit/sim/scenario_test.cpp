// Scenario files: every shipped one loads; mistakes are reported with
// file:line:col, the field and what was expected.
#include "sim/fleet/scenario.h"
#include "sim/flood_gen.h"
#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace reflex::sim {
namespace {

TEST(Scenario, EveryShippedScenarioLoads) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(REFLEX_SOURCE_DIR) + "/sim/scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    // Fleet scenarios share the folder; the fleet suite loads and runs them.
    if (fleet::looks_like_fleet_scenario(e.path().string())) continue;
    auto s = load_scenario(e.path().string());
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(s->name + ".yaml", e.path().filename().string()) << "a scenario is named after its file";
    EXPECT_FALSE(s->description.empty()) << e.path();
    ++n;
  }
  EXPECT_GE(n, 8);
}

TEST(Scenario, ParsesAPathWithBulkAndBackgroundUploadsAndAnRttTarget) {
  auto s = parse_scenario(R"(
name: t
duration: 10s
path:
  bottleneck: {rate: 20Mbit, buffer: 500ms}
  bulk: {flows: 2, from: 4s}
  background: {rate: 800kbit}
traffic:
  - {name: c, class: benign, kind: udp, sources: 100.64.1.0/24, count: 2, pps: 10}
expect: {rtt_p99_late_ms: 200}
)",
                          "t.yaml");
  ASSERT_TRUE(s) << s.error().what;
  ASSERT_TRUE(s->bulk);
  EXPECT_EQ(s->bulk->flows, 2u);
  ASSERT_TRUE(s->background);
  EXPECT_EQ(s->background->rate_bps, 800'000u);
  EXPECT_EQ(s->expect.rtt_p99_late_ms_max, 200.0);
  auto bad = parse_scenario(
      "name: t\nduration: 10s\npath: {background: {rate: lots}}\n"
      "traffic: [{name: c, class: benign, kind: udp, sources: 100.64.1.0/24, count: 2, pps: 10}]\n",
      "t.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what.find("path.background.rate"), std::string::npos) << bad.error().what;
}

TEST(Scenario, ParsesGroupsPulsesEventsAndTargets) {
  auto s = parse_scenario(R"(
name: t
description: d
duration: 10s
tick: 50ms
node: {mode: generic, peer_mtu: 9000, udp_capacity_pps: 1000}
traffic:
  - {name: c, class: benign, kind: tcp, count: 2, rate: 8Mbit}
  - {name: a, class: attack, kind: syn, sources: [192.0.2.0/24, 198.51.100.0/25], count: 300, pps: 1000, from: 2s, until: 8s, pulse: {on: 1s, off: 500ms}}
events: [{at: 3s, do: kill_daemon}, {at: 4s, do: start_daemon}]
expect: {onset_to_drop_ms: 300, false_blocks: 0}
)",
                          "t.yaml");
  ASSERT_TRUE(s) << s.error().what;
  EXPECT_EQ(s->tick_ns, 50 * kNsPerMs);
  EXPECT_EQ(s->node.mode, "generic");
  EXPECT_EQ(s->node.peer_mtu, 9000u);
  ASSERT_EQ(s->traffic.size(), 2u);
  EXPECT_EQ(s->traffic[0].rate_bps, 8'000'000u);
  const auto& a = s->traffic[1];
  EXPECT_EQ(a.kind, TrafficKind::syn);
  ASSERT_TRUE(a.pulse);
  EXPECT_EQ(a.pulse->off_ns, 500 * kNsPerMs);
  EXPECT_EQ(s->onset_ns(), 2 * kNsPerSec);
  // Pulses from 2s: on [2,3) [3.5,4.5) ... the last "on" starting before 8s is [6.5,7.5).
  EXPECT_EQ(s->attack_end_ns(), 7'500 * kNsPerMs);
  EXPECT_TRUE(s->any_attack_active(2'500 * kNsPerMs));
  EXPECT_FALSE(s->any_attack_active(3'200 * kNsPerMs));
  ASSERT_EQ(s->events.size(), 2u);
  EXPECT_EQ(s->events[1].action, ScenarioAction::start_daemon);
  EXPECT_EQ(s->expect.onset_to_drop_ms_max, 300.0);
  EXPECT_EQ(s->expect.false_blocks_max, 0u);

  auto src = group_sources(a);
  ASSERT_EQ(src.size(), 300u);
  for (auto x : src) {  // inside the two prefixes, never a network or broadcast address
    bool in24 = (x >> 8) == (0xc0000200u >> 8), in25 = (x >> 7) == (0xc6336400u >> 7);
    EXPECT_TRUE(in24 || in25);
    EXPECT_NE(x & 0xff, 0u);
    EXPECT_NE(x & 0xff, 255u);
  }
  EXPECT_EQ(std::set<std::uint32_t>(src.begin(), src.end()).size(), 300u) << "distinct sources";
}

TEST(Scenario, ReportsEveryMistakeWithItsPlace) {
  auto s = parse_scenario(R"(name: t
description: d
duration: 10s
traffic:
  - {name: a, class: atack, kind: udp, sources: 192.0.2.0/24, count: 300, pps: 1000, wave: {size: 3, every: 0s}}
  - {name: b, class: benign, kind: tcp, count: 2}
  - {name: f, class: attack, kind: udp, count: 20, pps: 1000}
speed: 3
)",
                          "bad.yaml");
  ASSERT_FALSE(s);
  const std::string& w = s.error().what;
  EXPECT_NE(w.find("bad.yaml:5:"), std::string::npos) << w;
  EXPECT_NE(w.find("traffic[a].class: expected benign or attack"), std::string::npos) << w;
  EXPECT_NE(w.find("300 sources do not fit"), std::string::npos) << w;
  EXPECT_NE(w.find("needs `rate:`"), std::string::npos) << w;
  // A udp group without sources: an error with its place, not a yaml-cpp throw.
  EXPECT_NE(w.find("bad.yaml:7:"), std::string::npos) << w;
  EXPECT_NE(w.find("traffic[f].sources: a udp group needs `sources:`"), std::string::npos) << w;
  EXPECT_NE(w.find("traffic[a].wave.every: expected a time longer than 0s"), std::string::npos) << w;
  EXPECT_NE(w.find("speed"), std::string::npos) << "unknown keys are errors: " << w;
}

TEST(Scenario, WavesSendAFewSourcesAtATimeSpreadOverTheGroup) {
  auto s = parse_scenario(R"(name: t
description: d
duration: 10s
traffic:
  - {name: f, class: attack, kind: udp, sources: 198.18.0.0/23, count: 12, pps: 1000, wave: {size: 3, every: 500ms}}
)",
                          "wave.yaml");
  ASSERT_TRUE(s) << s.error().what;
  const auto& g = s->traffic.at(0);
  ASSERT_TRUE(g.wave);
  EXPECT_EQ(g.wave->size, 3u);
  EXPECT_EQ(g.wave->every_ns, 500 * kNsPerMs);
  Stream st{0, TrafficKind::udp, group_sources(g), g.pps, 64, 0, 10 * kNsPerSec, std::nullopt, g.wave};
  // Lanes of 4 sources: wave w sends sources w, 4 + w and 8 + w (mod 4 in the lane).
  std::set<std::size_t> first, second;
  for (std::uint64_t n = 0; n < 30; ++n) first.insert(source_index(st, n, 100 * kNsPerMs));
  for (std::uint64_t n = 0; n < 30; ++n) second.insert(source_index(st, n, 600 * kNsPerMs));
  EXPECT_EQ(first, (std::set<std::size_t>{0, 4, 8}));
  EXPECT_EQ(second, (std::set<std::size_t>{1, 5, 9}));
  EXPECT_EQ(source_index(st, 0, 2 * kNsPerSec), 0u) << "after every lane's source had its turn the first comes back";
}

TEST(Scenario, RefusesAMissingFileWithTheFix) {
  auto s = load_scenario("/nonexistent/scenario.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("sim/scenarios"), std::string::npos);
}

}  // namespace
}  // namespace reflex::sim
