#include "fleet/fleet_node.h"

#include <gtest/gtest.h>

namespace reflex::fleet {
namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }
constexpr TimeNs kWall = 1'800'000'000 * kNsPerSec;

// Seams beside the real ones: a bus that keeps what was published, a
// recorder that keeps the events.
struct CapturingBus final : VerdictTransport {
  std::vector<Inbound> sent;
  void publish(std::string subject, std::string payload) override { sent.push_back({subject, payload}); }
  LinkStatus status() const override { return {LinkState::connected}; }
};
struct CapturingRecorder final : Recorder {
  std::vector<LoopEvent> events;
  Status commit_decisions(const Decisions&) override { return ok(); }
  void record_observation(const Observation&) override {}
  void record_symptoms(std::span<const SymptomEvent>) override {}
  void record_event(const LoopEvent& e) override { events.push_back(e); }
  Status flush() override { return ok(); }
  StoreHealth health() const override { return {}; }
  std::vector<std::string> directions() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.emplace_back(e.body.as_object().at("direction").as_string());
    return out;
  }
};

FleetNodeOptions opts(const std::string& id) {
  FleetNodeOptions o;
  o.node_id = id;
  return o;
}

Action block(const std::string& id, const char* prefix, SymptomKind why) {
  Action a;
  a.id = id;
  a.spec = BlockPrefix{"", P(prefix), {}};
  a.ttl_ns = 600 * kNsPerSec;
  a.rationale.rule_id = "r";
  a.rationale.symptom = why;
  a.rationale.subject.prefix = P(prefix);
  a.rationale.evidence.detail = "why";
  return a;
}

TEST(FleetNode, PublishesEachVerifiedActionOnceAndRecordsIt) {
  CapturingBus bus;
  CapturingRecorder rec;
  FleetNode a(opts("a"), &bus, &rec);
  Plan plan;
  plan.actions = {block("p1.1", "203.0.113.0/24", SymptomKind::flood)};
  Symptom s;
  s.kind = SymptomKind::flood;
  s.subject.prefix = P("203.0.113.0/24");
  s.severity = Severity::critical;
  s.score = 0.99;
  a.planned(plan, std::span<const Symptom>(&s, 1));
  Outcome applied{"p1.1", OutcomeStatus::applied};
  a.outcomes(std::span<const Outcome>(&applied, 1), 10 * kNsPerSec, kWall);
  EXPECT_TRUE(bus.sent.empty()) << "applied is not yet verified";
  Outcome verified{"p1.1", OutcomeStatus::verified};
  a.outcomes(std::span<const Outcome>(&verified, 1), 12 * kNsPerSec, kWall);
  a.outcomes(std::span<const Outcome>(&verified, 1), 13 * kNsPerSec, kWall);
  ASSERT_EQ(bus.sent.size(), 1u);
  EXPECT_EQ(bus.sent[0].subject, "reflex.v1.verdict.a");
  auto v = decode_verdict(bus.sent[0].payload);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->node, "a");
  EXPECT_EQ(v->severity, Severity::critical);
  EXPECT_DOUBLE_EQ(v->score, 0.99);
  EXPECT_EQ(a.stats().sent, 1u);
  EXPECT_EQ(rec.directions(), std::vector<std::string>{"sent"});
  EXPECT_EQ(rec.events[0].kind, RecordKind::verdict);
}

TEST(FleetNode, PeersBelieveRefuseAndActOnVerdictsAndSayWhichInTheRecord) {
  CapturingBus bus;
  FleetNode a(opts("a"), &bus, nullptr);
  Plan plan;
  plan.actions = {block("p1.1", "203.0.113.0/24", SymptomKind::flood),
                  block("p1.2", "10.99.0.0/24", SymptomKind::flood)};
  a.planned(plan, {});
  Outcome outs[] = {{"p1.1", OutcomeStatus::verified}, {"p1.2", OutcomeStatus::verified}};
  a.outcomes(outs, 10 * kNsPerSec, kWall);
  ASSERT_EQ(bus.sent.size(), 2u);

  CapturingRecorder rec;
  CapturingBus bbus;
  FleetNode b(opts("b"), &bbus, &rec);
  plan::Guardrails g;
  g.never_block = {P("10.99.0.0/16")};
  for (const auto& m : bus.sent) b.receive(m, 11 * kNsPerSec, kWall, g);
  b.receive({"reflex.v1.verdict.a", "{broken"}, 11 * kNsPerSec, kWall, g);
  b.receive({"reflex.v1.verdict.b", bus.sent[0].payload}, 11 * kNsPerSec, kWall, g);  // "our own" subject: ignored
  EXPECT_EQ(rec.directions(), (std::vector<std::string>{"received", "refused", "refused"}));
  EXPECT_EQ(rec.events[1].body.as_object().at("reason").as_string(), "never_block");
  EXPECT_EQ(rec.events[2].body.as_object().at("reason").as_string(), "malformed");
  EXPECT_EQ(b.stats().received, 3u);
  EXPECT_EQ(b.stats().book.accepted, 1u);
  EXPECT_EQ(b.stats().book.refused_total(), 2u);

  auto ev = b.symptom_events(12 * kNsPerSec, {});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].symptom.kind, SymptomKind::peer_verdict);

  // B acts on it: recorded as acted on, and never re-published.
  Plan bp;
  bp.actions = {block("q1.1", "203.0.113.0/24", SymptomKind::peer_verdict)};
  b.planned(bp, {});
  Outcome bo[] = {{"q1.1", OutcomeStatus::applied}, {"q1.1", OutcomeStatus::verified}};
  b.outcomes(bo, 13 * kNsPerSec, kWall);
  EXPECT_TRUE(bbus.sent.empty());
  EXPECT_EQ(b.stats().acted_on, 1u);
  EXPECT_EQ(b.stats().acted_by_action.at("block"), 1u);
  EXPECT_EQ(rec.directions().back(), "acted_on");

  // Once the flood is seen here too, B's own block of it is B's evidence: published.
  Symptom flood;
  flood.kind = SymptomKind::flood;
  flood.subject.iface = "eth0";
  flood.subject.prefix = P("203.0.113.9");
  flood.severity = Severity::warning;
  Plan cp;
  cp.actions = {block("q2.1", "203.0.113.0/24", SymptomKind::peer_verdict)};
  b.planned(cp, std::span<const Symptom>(&flood, 1));
  Outcome co{"q2.1", OutcomeStatus::verified};
  b.outcomes(std::span<const Outcome>(&co, 1), 14 * kNsPerSec, kWall);
  ASSERT_EQ(bbus.sent.size(), 1u);
  auto v = decode_verdict(bbus.sent[0].payload);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, SymptomKind::flood);
  EXPECT_EQ(v->node, "b");
}

TEST(FleetNode, ABlockTakenAheadOfTheAttackSpeaksForThisNodeOnceTheAttackArrives) {
  CapturingBus bus;
  FleetNode c(opts("c"), &bus, nullptr);
  Plan plan;
  plan.actions = {block("q1.1", "203.0.113.0/24", SymptomKind::peer_verdict)};
  c.planned(plan, {});
  Outcome verified{"q1.1", OutcomeStatus::verified};
  c.outcomes(std::span<const Outcome>(&verified, 1), 10 * kNsPerSec, kWall);
  EXPECT_TRUE(bus.sent.empty()) << "verified on no traffic of its own: nothing to tell yet";
  EXPECT_TRUE(c.symptom_events(11 * kNsPerSec, {}).empty());
  EXPECT_TRUE(bus.sent.empty());

  Symptom flood;
  flood.kind = SymptomKind::flood;
  flood.subject.iface = "eth0";
  flood.subject.prefix = P("203.0.113.7");
  flood.severity = Severity::critical;
  flood.evidence.detail = "seen here";
  c.symptom_events(120 * kNsPerSec, std::span<const Symptom>(&flood, 1));
  ASSERT_EQ(bus.sent.size(), 1u);
  auto v = decode_verdict(bus.sent[0].payload);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->node, "c");
  EXPECT_EQ(v->kind, SymptomKind::flood);
  EXPECT_EQ(v->prefix, P("203.0.113.0/24"));
  EXPECT_EQ(v->evidence.detail, "seen here");
  EXPECT_EQ(v->wall_ns, kWall + 110 * kNsPerSec);
  c.symptom_events(121 * kNsPerSec, std::span<const Symptom>(&flood, 1));
  EXPECT_EQ(bus.sent.size(), 1u) << "published once";

  // One whose TTL ran out before the attack came says nothing.
  Plan late;
  late.actions = {block("q2.1", "198.51.100.0/24", SymptomKind::peer_verdict)};
  c.planned(late, {});
  Outcome v2{"q2.1", OutcomeStatus::verified};
  c.outcomes(std::span<const Outcome>(&v2, 1), 200 * kNsPerSec, kWall);
  flood.subject.prefix = P("198.51.100.7");
  c.symptom_events(200 * kNsPerSec + 601 * kNsPerSec, std::span<const Symptom>(&flood, 1));
  EXPECT_EQ(bus.sent.size(), 1u);
}

TEST(FleetNode, AReceiveOnlyNodePublishesNothingAndAPublishOnlyNodeBelievesNothing) {
  CapturingBus bus;
  auto o = opts("a");
  o.publish = false;
  FleetNode a(o, &bus, nullptr);
  Plan plan;
  plan.actions = {block("p1.1", "203.0.113.0/24", SymptomKind::flood)};
  a.planned(plan, {});
  Outcome v{"p1.1", OutcomeStatus::verified};
  a.outcomes(std::span<const Outcome>(&v, 1), 1, kWall);
  EXPECT_TRUE(bus.sent.empty());

  FleetNode sender(opts("c"), &bus, nullptr);
  sender.planned(plan, {});
  sender.outcomes(std::span<const Outcome>(&v, 1), 1, kWall);
  ASSERT_EQ(bus.sent.size(), 1u);
  auto deaf = opts("d");
  deaf.receive = false;
  FleetNode d(deaf, nullptr, nullptr);
  d.receive(bus.sent[0], 2, kWall, {});
  EXPECT_TRUE(d.symptom_events(3, {}).empty());
  EXPECT_EQ(d.stats().received, 0u);
}

}  // namespace
}  // namespace reflex::fleet
