// The store records what the loop gives it: decisions durably at once,
// streams in batches, state blobs with their clocks; ids in arrival order.
#include <gtest/gtest.h>

#include "knowledge/json/action_json.h"
#include "knowledge/json/desired_state_json.h"
#include "knowledge/json/planner_state_json.h"
#include "knowledge/json/symptom_json.h"
#include "knowledge/json/text.h"
#include "knowledge/store/schema.h"
#include "tests/unit/knowledge/samples.h"
#include "tests/unit/knowledge/store_fixture.h"

namespace reflex {
namespace {

using testing::all_pages;
using testing::ManualClock;
using testing::open_ok;

class StoreRecord : public ::testing::Test {
 protected:
  std::string db() { return (dir_ / "reflex.db").string(); }
  testing::ScratchDir dir_{"store"};
  ManualClock wall_{testing::kWallStart};
};

TEST_F(StoreRecord, DecisionsAreReadableOnceCommitted) {
  store::OpenReport report;
  auto s = open_ok(db(), {}, &wall_, &report);
  ASSERT_TRUE(s);
  EXPECT_TRUE(report.created);
  EXPECT_EQ(report.to_version, store::kSchemaVersion);
  auto d = testing::synthetic_decisions(7, 70 * kNsPerSec, 3);
  ASSERT_TRUE(s->commit_decisions(d.decisions()));

  // No flush: a decision is on disk when commit_decisions returns, so a
  // second connection (another process) sees it.
  auto other = open_ok(db(), {}, &wall_);
  ASSERT_TRUE(other);
  auto recs = all_pages(*other, {});
  ASSERT_EQ(recs.size(), 1u + 3u + 3u);  // plan, actions, outcomes
  // Newest first: the outcomes, then the actions, then the plan.
  EXPECT_EQ(recs.back().kind, RecordKind::plan);
  EXPECT_EQ(recs.back().subject, "p7");
  EXPECT_EQ(recs.back().body.at("action_ids").as_array().size(), 3u);
  const Record& first_action = recs[recs.size() - 2];
  EXPECT_EQ(first_action.kind, RecordKind::action);
  EXPECT_EQ(first_action.subject, "eth0 " + std::get<BlockPrefix>(d.plan.actions[0].spec).prefix.to_string());
  EXPECT_EQ(first_action.summary.rfind("block ", 0), 0u) << first_action.summary;
  auto intent = from_json<Intent>(first_action.body);
  ASSERT_TRUE(intent) << intent.error().message();
  EXPECT_TRUE(*intent == d.intents[0]);
  EXPECT_EQ(first_action.body.at("plan_id").as_string(), "p7");
  EXPECT_EQ(recs.front().kind, RecordKind::outcome);
  EXPECT_EQ(recs.front().wall_ns, testing::kWallStart);
  EXPECT_EQ(recs.front().ts_ns, 70 * kNsPerSec);
  for (std::size_t i = 1; i < recs.size(); ++i) EXPECT_GT(recs[i - 1].id, recs[i].id);
}

TEST_F(StoreRecord, StreamsWaitForFlushAndKeepArrivalOrderWithDecisions) {
  auto s = open_ok(db(), {}, &wall_);
  ASSERT_TRUE(s);
  testing::RandomValues rv(1);
  SymptomEvent ev = rv.symptom_event();
  s->record_symptoms(std::span(&ev, 1));
  s->record_event(LoopEvent{RecordKind::policy, 5, "/etc/reflex/policies", "policy set 3 loaded", {}});
  EXPECT_EQ(s->health().pending, 2u);
  auto reader = open_ok(db(), {}, &wall_);
  EXPECT_TRUE(all_pages(*reader, {}).empty()) << "streams are written in batches, not one by one";

  // A decision commit writes what came before it first: ids follow arrival.
  auto d = testing::synthetic_decisions(1, 10, 1);
  ASSERT_TRUE(s->commit_decisions(d.decisions()));
  auto recs = all_pages(*reader, {});
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[4].kind, RecordKind::symptom);
  EXPECT_EQ(recs[3].kind, RecordKind::policy);
  EXPECT_EQ(recs[2].kind, RecordKind::plan);
  auto back = from_json<SymptomEvent>(recs[4].body);
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == ev);

  s->record_event(LoopEvent{RecordKind::daemon, 6, "", "reflexd stopping", {}});
  ASSERT_TRUE(s->flush());
  EXPECT_EQ(all_pages(*reader, {}).size(), 6u);
  EXPECT_EQ(s->health().pending, 0u);
  EXPECT_EQ(s->health().written, 6u);
  EXPECT_TRUE(s->health().ok);
}

TEST_F(StoreRecord, AFullBatchIsWrittenWithoutFlush) {
  store::StoreOptions o;
  o.batch_rows = 10;
  auto s = open_ok(db(), o, &wall_);
  ASSERT_TRUE(s);
  for (int i = 0; i < 10; ++i)
    s->record_observation(testing::synthetic_tick(static_cast<std::uint64_t>(i), i * kNsPerSec, 1, false));
  EXPECT_EQ(s->health().pending, 0u);
  RecordQuery q;
  q.kinds = {RecordKind::observation};
  auto reader = open_ok(db(), {}, &wall_);
  auto obs = all_pages(*reader, q);
  ASSERT_EQ(obs.size(), 10u);
  EXPECT_EQ(obs.front().body.at("seq").to_number<int>(), 9);
  EXPECT_TRUE(all_pages(*reader, {}).empty()) << "observations only when asked for";
}

TEST_F(StoreRecord, StateBlobsCarryTheirClocksAndSurviveReopen) {
  testing::RandomValues rv(2);
  DesiredState desired = rv.desired_state(50);
  PlannerState planner = rv.planner_state();
  {
    auto s = open_ok(db(), {}, &wall_);
    ASSERT_TRUE(s);
    Decisions d;
    d.ts_ns = 1234 * kNsPerSec;
    d.desired_state = to_json(DesiredState{});
    ASSERT_TRUE(s->commit_decisions(d));
    wall_.advance(kNsPerSec);
    d.ts_ns += kNsPerSec;
    d.desired_state = to_json(desired);
    d.planner_state = to_json(planner);
    ASSERT_TRUE(s->commit_decisions(d));
    EXPECT_FALSE(s->load_state("nothing-here").value().has_value());
  }
  auto s = open_ok(db(), {}, &wall_);
  ASSERT_TRUE(s);
  auto saved = s->load_state("desired");
  ASSERT_TRUE(saved && *saved);
  EXPECT_EQ((*saved)->saved.loop_ns, 1235 * kNsPerSec);
  EXPECT_EQ((*saved)->saved.wall_ns, testing::kWallStart + kNsPerSec);
  auto back = from_json<DesiredState>((*saved)->value);
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == desired);
  auto p = s->load_state("planner");
  ASSERT_TRUE(p && *p);
  auto pb = from_json<PlannerState>((*p)->value);
  ASSERT_TRUE(pb);
  EXPECT_TRUE(*pb == planner);
}

TEST_F(StoreRecord, IdsKeepIncreasingAcrossReopens) {
  std::uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    auto s = open_ok(db(), {}, &wall_);
    ASSERT_TRUE(s);
    auto d = testing::synthetic_decisions(static_cast<std::uint64_t>(round), round, 2);
    ASSERT_TRUE(s->commit_decisions(d.decisions()));
    auto recs = all_pages(*s, {});
    ASSERT_FALSE(recs.empty());
    EXPECT_GT(recs.front().id, last);
    last = recs.front().id;
  }
}

TEST_F(StoreRecord, OverrideChangesAreDecisions) {
  auto s = open_ok(db(), {}, &wall_);
  ASSERT_TRUE(s);
  Override ov;
  ov.id = "ov-1";
  ov.kind = Override::Kind::forbid;
  ov.who = "alice";
  ov.action_kind = "block";
  ov.subject.iface = "eth1";
  ov.subject.prefix = Prefix::parse("192.0.2.0/24").value();
  OverrideRecord created{ov, OverrideChange::created, 100, ""};
  OverrideRecord removed{ov, OverrideChange::removed, 200, "bob"};
  std::vector<OverrideRecord> changes{created, removed};
  Decisions d;
  d.overrides = changes;
  ASSERT_TRUE(s->commit_decisions(d));
  RecordQuery q;
  q.kinds = {RecordKind::override_};
  auto recs = all_pages(*s, q);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].summary, "forbid override ov-1 removed by bob");
  EXPECT_EQ(recs[1].summary, "forbid override ov-1 created by alice");
  EXPECT_EQ(recs[0].subject, "eth1 192.0.2.0/24");
}

}  // namespace
}  // namespace reflex

namespace reflex {
namespace {

// A batch of 10k rules is one action record: its prefixes once (the inverse
// that removes the same keys names them), read back exactly.
TEST_F(StoreRecord, ARuleBatchIntentRoundTripsWithItsListOnce) {
  auto s = open_ok(db(), {}, &wall_);
  ASSERT_TRUE(s);
  auto d = testing::synthetic_decisions(9, 90 * kNsPerSec, 1);
  RuleBatch b;
  b.iface = "eth0";
  b.l4.proto = 17;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    Prefix p;
    p.family = 4;
    p.len = 32;
    p.addr[0] = 198, p.addr[1] = 18, p.addr[2] = static_cast<std::uint8_t>(i >> 8), p.addr[3] = static_cast<std::uint8_t>(i);
    b.prefixes.push_back(p);
  }
  d.plan.actions[0].spec = b;
  d.plan.actions[0].ttl_ns = 600 * kNsPerSec;
  RuleBatch undo = b;
  undo.remove = true;
  RuleBatch back_to{"eth0", {b.prefixes[7]}, b.l4, RuleVerb::rate_limit, 100, 0, false};
  d.intents[0] = Intent{d.plan.actions[0], {undo, back_to}};
  ASSERT_TRUE(s->commit_decisions(d.decisions()));

  auto recs = all_pages(*s, {});
  const Record* action = nullptr;
  for (const auto& r : recs)
    if (r.kind == RecordKind::action) action = &r;
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(action->subject, "eth0");
  EXPECT_NE(action->summary.find("rule_batch iface=eth0 verb=block prefixes=10000"), std::string::npos)
      << action->summary;
  const std::string text = to_text(action->body);
  const std::string needle = b.prefixes[1234].to_string() + " ";
  EXPECT_EQ(text.find(needle), text.rfind(needle)) << "the list is recorded once";
  EXPECT_LT(text.size(), 10'000u * 24) << "one short string per prefix, once";
  auto intent = from_json<Intent>(action->body);
  ASSERT_TRUE(intent) << intent.error().message();
  EXPECT_TRUE(*intent == d.intents[0]);
}

}  // namespace
}  // namespace reflex
