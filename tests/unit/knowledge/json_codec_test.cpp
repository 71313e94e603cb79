// The codecs of the knowledge types: every value survives text exactly, the
// JSON reads the way the docs say, and bad input names its place.
#include <gtest/gtest.h>

#include "knowledge/json/action_json.h"
#include "knowledge/json/desired_state_json.h"
#include "knowledge/json/planner_state_json.h"
#include "knowledge/json/recorder_json.h"
#include "knowledge/json/symptom_json.h"
#include "knowledge/json/text.h"
#include "plan/action_text.h"
#include "tests/unit/knowledge/samples.h"

namespace reflex {
namespace {

namespace json = boost::json;
using testing::RandomValues;

// x -> JSON -> text -> JSON -> x', and x' == x; the second text equals the first.
template <class T>
void expect_round_trip(const T& x) {
  std::string text = to_text(to_json(x));
  auto v = parse_text(text);
  ASSERT_TRUE(v) << text;
  T y{};
  auto s = from_json(*v, y, "x");
  ASSERT_TRUE(s) << s.error().what << "\n" << text;
  EXPECT_TRUE(y == x) << text;
  EXPECT_EQ(to_text(to_json(y)), text);
}

template <class T, class Make>
void round_trip_many(Make make, int n = 400) {
  RandomValues rv(0x5eed + n);
  for (int i = 0; i < n; ++i) {
    T x = make(rv);
    expect_round_trip(x);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(JsonCodec, PrefixesSubjectsAndSymptomsRoundTrip) {
  round_trip_many<Prefix>([](RandomValues& r) { return r.prefix(); });
  round_trip_many<Subject>([](RandomValues& r) { return r.subject(); });
  round_trip_many<Evidence>([](RandomValues& r) { return r.evidence(); });
  round_trip_many<Symptom>([](RandomValues& r) { return r.symptom(); });
  round_trip_many<SymptomEvent>([](RandomValues& r) { return r.symptom_event(); });
}

TEST(JsonCodec, EverySpecAlternativeRoundTrips) {
  RandomValues rv(11);
  std::vector<bool> seen(std::variant_size_v<ActionSpec>);
  for (int i = 0; i < 800; ++i) {
    ActionSpec s = rv.spec();
    seen[s.index()] = true;
    expect_round_trip(s);
    if (HasFailure()) return;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "alternative " << i << " never made";
  round_trip_many<L4Match>([](RandomValues& r) { return r.l4(); });
}

TEST(JsonCodec, ActionsPlansOutcomesIntentsOverridesRoundTrip) {
  round_trip_many<Rationale>([](RandomValues& r) { return r.rationale(); });
  round_trip_many<Action>([](RandomValues& r) { return r.action(); });
  round_trip_many<Plan>([](RandomValues& r) { return r.plan(); }, 200);
  round_trip_many<Outcome>([](RandomValues& r) { return r.outcome(); });
  round_trip_many<Intent>([](RandomValues& r) { return r.intent(); });
  round_trip_many<Override>([](RandomValues& r) { return r.override_(); });
}

TEST(JsonCodec, PlannerStateRoundTripsEveryField) {
  RandomValues rv(3);
  for (int i = 0; i < 300; ++i) {
    PlannerState s = rv.planner_state();
    expect_round_trip(s);
    // TrackState's own == leaves the evidence's deviation and detail out; the
    // record must not.
    auto back = from_json<PlannerState>(*parse_text(to_text(to_json(s))));
    ASSERT_TRUE(back);
    for (const auto& [k, t] : s.tracks) {
      EXPECT_TRUE(back->tracks.at(k).last_evidence == t.last_evidence) << k;
      EXPECT_EQ(back->tracks.at(k).base_mode, t.base_mode);
      EXPECT_EQ(back->tracks.at(k).symptom_kind, t.symptom_kind);
    }
    if (HasFailure()) return;
  }
}

TEST(JsonCodec, DesiredStateRoundTrips) {
  RandomValues rv(5);
  for (int i = 0; i < 100; ++i) {
    expect_round_trip(rv.desired_state(1 + rv.below(20)));
    if (HasFailure()) return;
  }
  expect_round_trip(DesiredState{});
}

TEST(JsonCodec, RecorderValuesRoundTrip) {
  RandomValues rv(9);
  for (int i = 0; i < 200; ++i) {
    OverrideRecord o{rv.override_(), static_cast<OverrideChange>(rv.below(3)), rv.time(), rv.text()};
    std::string t1 = to_text(to_json(o));
    auto back = from_json<OverrideRecord>(*parse_text(t1));
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->override_ == o.override_ && back->change == o.change && back->ts_ns == o.ts_ns &&
                back->who == o.who);
    Record r{
        rv.rng()(), rv.time(), rv.time(),           kAllRecordKinds[rv.below(std::size(kAllRecordKinds))],
        rv.text(),  rv.text(), to_json(rv.action())};
    auto rb = from_json<Record>(*parse_text(to_text(to_json(r))));
    ASSERT_TRUE(rb);
    EXPECT_EQ(rb->id, r.id);
    EXPECT_EQ(rb->kind, r.kind);
    EXPECT_EQ(rb->body, r.body);
    EXPECT_EQ(to_text(to_json(*rb)), to_text(to_json(r)));
  }
  StoreHealth h{false, "disk full", 12, 34, 56, 7};
  auto hb = from_json<StoreHealth>(*parse_text(to_text(to_json(h))));
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->reason, "disk full");
  EXPECT_EQ(hb->dropped, 7u);
  EXPECT_FALSE(hb->ok);
}

TEST(JsonCodec, ReadsAsDocumented) {
  Action a;
  a.id = "p7-a0";
  a.spec = RateLimitPrefix{"eth0", *Prefix::parse("198.51.100.0/24"), 1000, 0, L4Match{17, 53}};
  a.ttl_ns = 600 * kNsPerSec;
  a.rationale.rule_id = "flood-ladder";
  a.rationale.symptom = SymptomKind::flood;
  a.rationale.step = 1;
  EXPECT_EQ(to_text(to_json(a)),
            R"({"id":"p7-a0","spec":{"kind":"rate_limit","iface":"eth0","prefix":"198.51.100.0/24",)"
            R"("l4":{"proto":17,"port":53},"pps":1000},"ttl_ns":600000000000,)"
            R"("rationale":{"rule_id":"flood-ladder","symptom":"flood","step":1}})");
  // 0.0.0.0/0 is a prefix like any other, never left out.
  EXPECT_EQ(to_text(to_json(ActionSpec{BlockPrefix{}})), R"({"kind":"block","prefix":"0.0.0.0/0"})");
  Outcome o{"p7-a0", OutcomeStatus::rolled_back, "", 0.25, 5 * kNsPerSec, "", "drops rose"};
  EXPECT_EQ(
      to_text(to_json(o)),
      R"({"action_id":"p7-a0","status":"rolled_back","effect":0.25,"ts_ns":5000000000,"detail":"drops rose"})");
  TrackState t;
  t.level = 0;  // the first rung, not the default -1: must be written
  t.base_mode = static_cast<int>(AttachMode::native);
  EXPECT_EQ(to_text(to_json(t)), R"({"level":0,"base_mode":"native"})");
}

TEST(JsonCodec, SpecKindsAreThePlannersActionKinds) {
  RandomValues rv(1);
  for (int i = 0; i < 200; ++i) {
    ActionSpec s = rv.spec();
    EXPECT_EQ(spec_kind_name(s), plan::action_kind_name(s));
  }
}

TEST(JsonCodec, ErrorsNameThePlace) {
  auto v = parse_text(R"({"id":"p1","actions":[{"id":"a","spec":{"kind":"block","prefix":"10.0.0.0/33"}}]})");
  ASSERT_TRUE(v);
  auto p = from_json<Plan>(*v, "plan");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().what.rfind("plan.actions[0].spec.prefix: ", 0), 0u) << p.error().what;

  auto k = from_json<ActionSpec>(*parse_text(R"({"kind":"nuke","prefix":"10.0.0.0/8"})"), "spec");
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().what.find("unknown action kind \"nuke\""), std::string::npos) << k.error().what;

  auto m = from_json<ActionSpec>(*parse_text(R"({"kind":"block"})"), "spec");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().what, "spec.prefix: missing");

  auto e = from_json<Symptom>(*parse_text(R"({"kind":"flud"})"), "symptom");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().what.find("symptom.kind: expected one of latency_high, "), std::string::npos)
      << e.error().what;

  auto t = from_json<PlannerState>(*parse_text(R"({"tracks":{"r|eth0":{"level":"high"}}})"), "planner_state");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().what.rfind(R"(planner_state.tracks["r|eth0"].level: expected an integer)", 0), 0u)
      << t.error().what;
  EXPECT_FALSE(from_json<Plan>(json::value(3)));
}

// A batch's list is one string checked against its count and digest: a
// damaged or truncated record is refused, naming the field; an inverse over
// the action's own list names it instead of repeating it.
TEST(JsonCodec, RuleBatchListsAreCheckedAndRecordedOnce) {
  RuleBatch b{"eth0", {*Prefix::parse("192.0.2.0/24"), *Prefix::parse("2001:db8::1/128")}, {}, RuleVerb::shadow};
  json::value v = to_json(ActionSpec{b});
  EXPECT_EQ(v.at("count").as_uint64(), 2u);
  EXPECT_EQ(std::string(v.at("prefixes").as_string()), "192.0.2.0/24 2001:db8::1");
  expect_round_trip(ActionSpec{b});

  json::value cut = v;
  cut.as_object()["prefixes"] = "192.0.2.0/24";
  auto c = from_json<ActionSpec>(cut, "spec");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().what.rfind("spec.prefixes: holds 1 prefixes", 0), 0u) << c.error().what;
  json::value swapped = v;
  swapped.as_object()["prefixes"] = "2001:db8::1 192.0.2.0/24";  // same count, other list
  EXPECT_FALSE(from_json<ActionSpec>(swapped, "spec"));
  json::value bad = v;
  bad.as_object()["prefixes"] = "192.0.2.0/24 10.0.0.0/40";
  auto e = from_json<ActionSpec>(bad, "spec");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().what.rfind("spec.prefixes: prefix 1: ", 0), 0u) << e.error().what;

  Action a;
  a.id = "batch-1";
  a.spec = b;
  RuleBatch undo = b;
  undo.remove = true;
  Intent in{a, {undo}};
  json::value iv = to_json(in);
  EXPECT_EQ(iv.at("inverse").at(0).at("prefixes_of").as_string(), "action");
  EXPECT_FALSE(iv.at("inverse").at(0).as_object().contains("prefixes"));
  expect_round_trip(in);
  iv.as_object()["action"].as_object()["spec"].as_object()["kind"] = "block";
  iv.as_object()["action"].as_object()["spec"].as_object()["prefix"] = "192.0.2.0/24";
  auto orphan = from_json<Intent>(iv, "intent");
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().what.rfind("intent.inverse[0].prefixes_of: ", 0), 0u) << orphan.error().what;
}

TEST(JsonCodec, UnknownFieldsAreIgnoredMissingOnesDefault) {
  auto a = from_json<Action>(
      *parse_text(R"({"id":"x","spec":{"kind":"alert","message":"hi","new":1},"later":[1]})"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "x");
  EXPECT_EQ(std::get<Alert>(a->spec).message, "hi");
  EXPECT_EQ(a->rationale.step, -1);
  EXPECT_EQ(a->ttl_ns, 0);
}

}  // namespace
}  // namespace reflex
