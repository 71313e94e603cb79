// The store's pure parts: the memory bound while degraded, clock rebasing of
// saved state, record subjects, roll-up buckets.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <limits>

#include "knowledge/store/clock_rebase.h"
#include "knowledge/store/pending.h"
#include "knowledge/store/rollup.h"
#include "knowledge/store/rows.h"
#include "tests/unit/knowledge/samples.h"

namespace reflex {
namespace {

using store::ClockPair;
using store::PendingQueue;
using store::Row;

constexpr TimeNs kWallForRebase = 1'740'798'720LL * kNsPerSec;

Row row(RecordKind k, bool decision, std::size_t body) {
  Row r;
  r.kind = k;
  r.decision = decision;
  r.body.assign(body, 'x');
  return r;
}

TEST(PendingQueue, DropsObservationsFirstThenStreamsNeverDecisions) {
  PendingQueue q(100 * 1024);
  for (int i = 0; i < 20; ++i) q.push(row(RecordKind::action, true, 1000));
  for (int i = 0; i < 40; ++i) q.push(row(RecordKind::symptom, false, 1000));
  EXPECT_EQ(q.dropped(), 0u);
  for (int i = 0; i < 40; ++i) q.push(row(RecordKind::observation, false, 1000));
  EXPECT_LE(q.bytes(), 100u * 1024);
  EXPECT_GT(q.dropped_observations(), 0u);
  EXPECT_EQ(q.dropped_other(), 0u);
  // Keep adding decisions: streams go, decisions stay, even past the bound.
  for (int i = 0; i < 100; ++i) q.push(row(RecordKind::outcome, true, 1000));
  std::size_t decisions = 0, observations = 0, symptoms = 0;
  for (const auto& r : q.rows()) {
    decisions += r.decision;
    observations += r.kind == RecordKind::observation;
    symptoms += r.kind == RecordKind::symptom;
  }
  EXPECT_EQ(decisions, 120u);
  EXPECT_EQ(observations, 0u);
  EXPECT_EQ(symptoms, 0u);
  EXPECT_EQ(q.dropped(), 80u);
  // Order is kept among what stays.
  EXPECT_EQ(q.rows().front().kind, RecordKind::action);
  EXPECT_EQ(q.rows().back().kind, RecordKind::outcome);
}

TEST(PendingQueue, DropsTheOldestObservationsFirst) {
  PendingQueue q(64 * 1024);
  for (int i = 0; i < 200; ++i) {
    Row r = row(RecordKind::observation, false, 1000);
    r.ts_ns = i;
    q.push(std::move(r));
  }
  EXPECT_EQ(q.rows().back().ts_ns, 199);
  EXPECT_GT(q.rows().front().ts_ns, 100);
  EXPECT_TRUE(std::is_sorted(q.rows().begin(), q.rows().end(),
                             [](const Row& a, const Row& b) { return a.ts_ns < b.ts_ns; }));
}

TEST(PendingQueue, StateKeepsTheNewestValuePerKey) {
  PendingQueue q(1 << 20);
  q.set_state("desired", {std::string(1000, 'a'), 1, 2});
  q.set_state("desired", {std::string(10, 'b'), 3, 4});
  q.set_state("planner", {"{}", 5, 6});
  EXPECT_EQ(q.states().size(), 2u);
  EXPECT_EQ(q.states().at("desired").value, std::string(10, 'b'));
  EXPECT_EQ(q.bytes(), 12u);
  q.clear();
  EXPECT_TRUE(q.empty());
}

TEST(ClockRebase, TtlsFollowTheWallClockAcrossARestartAndExpiredRulesGo) {
  // Saved at loop 5000 s / wall W; the daemon restarts (the monotonic clock
  // too) 100 s of wall time later, at loop 20 s.
  const TimeNs W = kWallForRebase;
  ClockPair saved{5000 * kNsPerSec, W};
  ClockPair now{20 * kNsPerSec, W + 100 * kNsPerSec};
  DesiredState d;
  auto& i = d.ifaces["eth0"];
  auto rule = [](const char* p, TimeNs expires) {
    DesiredRule r;
    r.prefix = Prefix::parse(p).value();
    r.expires_ns = expires;
    return r;
  };
  i.rules = {rule("10.0.0.0/24", 5050 * kNsPerSec),  // had 50 s left: gone
             rule("10.0.1.0/24", 5300 * kNsPerSec),  // had 300 s: 200 s left
             rule("10.0.2.0/24", 0)};                // never expires
  i.shapes = {DesiredShape{std::nullopt, 1000, 100, 5099 * kNsPerSec, "a"},
              DesiredShape{Prefix::parse("10.9.0.0/16").value(), 1000, 100, 6000 * kNsPerSec, "b"}};
  auto r = store::rebase(d, saved, now);
  const auto& ri = r.ifaces.at("eth0");
  ASSERT_EQ(ri.rules.size(), 2u);
  EXPECT_EQ(ri.rules[0].prefix.to_string(), "10.0.1.0/24");
  EXPECT_EQ(ri.rules[0].expires_ns, (20 + 200) * kNsPerSec);
  EXPECT_EQ(ri.rules[1].expires_ns, 0);
  ASSERT_EQ(ri.shapes.size(), 1u);
  EXPECT_EQ(ri.shapes[0].action_id, "b");
  EXPECT_EQ(ri.shapes[0].expires_ns, (20 + 900) * kNsPerSec);
}

TEST(ClockRebase, SameClocksChangeNothing) {
  testing::RandomValues rv(4);
  ClockPair c{777 * kNsPerSec, kWallForRebase};
  PlannerState p = rv.planner_state();
  EXPECT_TRUE(store::rebase(p, c, c) == p);
  DesiredState d = rv.desired_state(10);
  for (auto& [n, i] : d.ifaces) {
    for (auto& r : i.rules) r.expires_ns = r.expires_ns > c.loop_ns ? r.expires_ns : 0;
    for (auto& s : i.shapes) s.expires_ns = s.expires_ns > c.loop_ns ? s.expires_ns : 0;
  }
  EXPECT_TRUE(store::rebase(d, c, c) == d);
}

TEST(ClockRebase, PlannerTimesShiftMarkersStay) {
  constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();
  PlannerState p;
  TrackState t;
  t.level_since = 4000 * kNsPerSec;
  t.last_action_ns = 4900 * kNsPerSec;
  t.renew_at_ns = kNever;
  t.clear_since = 4950 * kNsPerSec;
  p.tracks["r|eth0"] = t;
  p.owners["prefix:eth0:10.0.0.0/24"] = TargetOwner{"r|eth0", 24, 0, 2, "r", 0};
  p.backoff["block@x"] = BackoffState{2, 4800 * kNsPerSec, 5100 * kNsPerSec};
  p.emitted["p1-a0"] = EmittedAction{"block@x", 4990 * kNsPerSec, "r|eth0", 1};
  p.recent_actions = {4990 * kNsPerSec};
  p.overrides_done["ov"] = 4000 * kNsPerSec;
  const TimeNs W = kWallForRebase;
  auto r = store::rebase(p, ClockPair{5000 * kNsPerSec, W}, ClockPair{10 * kNsPerSec, W + 60 * kNsPerSec});
  const TimeNs off = (10 - 5000 - 60) * kNsPerSec;
  const auto& rt = r.tracks.at("r|eth0");
  EXPECT_EQ(rt.level_since, 4000 * kNsPerSec + off);
  EXPECT_EQ(rt.last_action_ns, 4900 * kNsPerSec + off);
  EXPECT_EQ(*rt.clear_since, 4950 * kNsPerSec + off);
  EXPECT_FALSE(rt.pending_since);
  EXPECT_EQ(rt.renew_at_ns, kNever);
  EXPECT_EQ(r.owners.begin()->second.expires_ns, 0) << "0 means no expiry, not a time";
  EXPECT_EQ(r.backoff.at("block@x").retry_after_ns, 5100 * kNsPerSec + off);
  EXPECT_EQ(r.emitted.at("p1-a0").planned_ns, 4990 * kNsPerSec + off);
  EXPECT_EQ(r.recent_actions[0], 4990 * kNsPerSec + off);
  EXPECT_EQ(r.overrides_done.at("ov"), 4000 * kNsPerSec + off);
  // A cooldown that had 100 s to run still has them on the new clock.
  EXPECT_EQ(r.backoff.at("block@x").retry_after_ns - (10 * kNsPerSec), (5100 - 5000 - 60) * kNsPerSec);
}

TEST(RecordRows, SubjectsNameInterfaceAndPrefix) {
  Subject s;
  s.iface = "eth0";
  s.prefix = Prefix::parse("10.0.0.0/24").value();
  EXPECT_EQ(store::subject_text(s), "eth0 10.0.0.0/24");
  s.iface.clear();
  EXPECT_EQ(store::subject_text(s), "10.0.0.0/24");
  Subject m;
  m.map = "xdp_guard_rules";
  EXPECT_EQ(store::subject_text(m), "xdp_guard_rules");
  EXPECT_EQ(store::subject_text(ActionSpec{SetAttachMode{"wan0", AttachMode::generic}}), "wan0");
  EXPECT_EQ(store::subject_text(ActionSpec{Alert{"hi"}}), "");
  EXPECT_EQ(store::subject_text(ActionSpec{ShapeInterface{"eth1", std::nullopt, 1000, 10}}), "eth1");
}

TEST(Rollup, BucketsAndMerging) {
  EXPECT_EQ(store::bucket_start(125 * kNsPerSec, 60), 120 * kNsPerSec);
  EXPECT_EQ(store::bucket_start(-1, 60), -60 * kNsPerSec);
  store::Rollup a, b;
  for (int t = 0; t < 3; ++t)
    a.add_observation(boost::json::parse(R"({"interfaces":{"e":{"rx_pps":10,"rx_packets":)" +
                                         std::to_string(100 + t) + "}}}"));
  b.add_observation(boost::json::parse(R"({"interfaces":{"e":{"rx_pps":40,"rx_packets":200}}})"));
  a.merge_later(b);
  const auto& e = a.ifaces.at("e");
  EXPECT_EQ(a.ticks, 4u);
  EXPECT_DOUBLE_EQ(e.rates.at("rx_pps").avg(), 17.5);
  EXPECT_EQ(e.rates.at("rx_pps").max, 40);
  EXPECT_EQ(e.counters.at("rx_packets").first, 100u);
  EXPECT_EQ(e.counters.at("rx_packets").last, 200u);
  auto back = store::Rollup::from_json(a.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ticks, 4u);
  EXPECT_DOUBLE_EQ(back->ifaces.at("e").rates.at("rx_pps").avg(), 17.5);
}

}  // namespace
}  // namespace reflex
