#include "fleet/verdict.h"

#include <gtest/gtest.h>

namespace reflex::fleet {
namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }

Verdict sample() {
  Verdict v;
  v.node = "node-a";
  v.seq = 42;
  v.wall_ns = 1'700'000'000'123 * kNsPerMs;
  v.prefix = P("203.0.113.0/24");
  v.l4.proto = 17;
  v.l4.port = 53;
  v.kind = SymptomKind::flood;
  v.severity = Severity::critical;
  v.score = 0.97;
  v.evidence = {20000, 300, 66.5, "12 sources, 20000 pps"};
  v.action = VerdictAction::rate_limit;
  v.pps = 500;
  v.ttl_ns = 600 * kNsPerSec;
  v.action_id = "plan-7.1";
  v.rule_id = "flood-critical";
  v.effect = -0.9;
  return v;
}

TEST(Verdict, RoundTripsThroughItsJsonForm) {
  auto v = sample();
  auto text = encode(v);
  EXPECT_NE(text.find("\"v\":1"), std::string::npos);
  auto back = decode_verdict(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, v);
}

TEST(Verdict, BlockCarriesNoPpsAndNoNarrowing) {
  auto v = sample();
  v.action = VerdictAction::block;
  v.pps = 0;
  v.l4 = {};
  auto text = encode(v);
  EXPECT_EQ(text.find("\"pps\""), std::string::npos);
  EXPECT_EQ(text.find("\"proto\""), std::string::npos);
  auto back = decode_verdict(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, v);
}

TEST(Verdict, IgnoresUnknownFieldsOfTheSameVersion) {
  auto text = encode(sample());
  text.insert(1, "\"later_field\":{\"x\":1},");
  auto back = decode_verdict(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->node, "node-a");
}

struct BadCase {
  const char* name;
  std::string text;
  const char* says;
};

TEST(Verdict, RefusesMalformedMessagesNamingTheField) {
  auto good = encode(sample());
  auto replace = [&](const std::string& from, const std::string& to) {
    auto s = good;
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const BadCase cases[] = {
      {"not json", "hello", "not a JSON object"},
      {"an array", "[1,2]", "not a JSON object"},
      {"a later version", replace("\"v\":1", "\"v\":2"), "version 2 is not understood"},
      {"no node", replace("\"node\":\"node-a\",", ""), "\"node\""},
      {"a node with a dot", replace("\"node-a\"", "\"a.b\""), "\"node\""},
      {"a bad prefix", replace("203.0.113.0/24", "203.0.113.0/33"), "\"prefix\""},
      {"a negative seq", replace("\"seq\":42", "\"seq\":-1"), "\"seq\""},
      {"a score above 1", replace("\"score\":9.7E-1", "\"score\":2"), "symptom.score"},
      {"a peer_verdict relayed", replace("\"kind\":\"flood\"", "\"kind\":\"peer_verdict\""), "symptom.kind"},
      {"an unknown action", replace("\"kind\":\"rate_limit\"", "\"kind\":\"unblock\""), "action.kind"},
      {"a port without a proto", replace("\"proto\":17,", ""), "\"port\""},
      {"a port out of range", replace("\"port\":53", "\"port\":70000"), "\"port\""},
      {"a ttl of a year", replace("\"ttl_ms\":600000", "\"ttl_ms\":31536000000"), "\"ttl_ms\""},
      {"oversized", std::string(kMaxVerdictBytes + 1, ' '), "refused"},
  };
  for (const auto& c : cases) {
    auto r = decode_verdict(c.text);
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().what.find(c.says), std::string::npos) << c.name << ": " << r.error().what;
  }
}

TEST(Verdict, SubjectsNameTheSender) {
  EXPECT_EQ(verdict_subject("reflex", "node-a"), "reflex.v1.verdict.node-a");
  EXPECT_EQ(verdict_wildcard("mesh1.reflex"), "mesh1.reflex.v1.verdict.*");
  EXPECT_EQ(node_of_subject("reflex", "reflex.v1.verdict.node-a"), "node-a");
  EXPECT_FALSE(node_of_subject("reflex", "reflex.v1.verdict."));
  EXPECT_FALSE(node_of_subject("reflex", "reflex.v1.verdict.a.b"));
  EXPECT_FALSE(node_of_subject("reflex", "other.v1.verdict.a"));
  EXPECT_FALSE(valid_node_id(std::string(kMaxNodeIdLen + 1, 'a')));
  EXPECT_FALSE(valid_node_id("a*"));
  EXPECT_TRUE(valid_node_id("edge_07-b"));
}

Action action_of(ActionSpec spec) {
  Action a;
  a.id = "plan-3.1";
  a.spec = std::move(spec);
  a.ttl_ns = 600 * kNsPerSec;
  a.rationale.rule_id = "flood-ladder";
  a.rationale.symptom = SymptomKind::flood;
  a.rationale.evidence = {9000, 200, 45, "3 sources"};
  return a;
}

TEST(Verdict, OnlyVerifiedEnforcedBlocksAndLimitsOfOwnEvidenceBecomeVerdicts) {
  Outcome verified{"plan-3.1", OutcomeStatus::verified};
  verified.effect = -0.95;
  auto block = action_of(BlockPrefix{"eth0", P("198.51.100.0/24"), {}});
  auto v = verdict_for(block, verified);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->action, VerdictAction::block);
  EXPECT_EQ(v->prefix, P("198.51.100.0/24"));
  EXPECT_EQ(v->ttl_ns, 600 * kNsPerSec);
  EXPECT_EQ(v->rule_id, "flood-ladder");
  EXPECT_DOUBLE_EQ(v->effect, -0.95);
  EXPECT_EQ(v->evidence.detail, "3 sources");

  auto limit = action_of(RateLimitPrefix{"eth0", P("198.51.100.7"), 1000, 2000, {}});
  auto lv = verdict_for(limit, verified);
  ASSERT_TRUE(lv);
  EXPECT_EQ(lv->pps, 1000u);

  EXPECT_FALSE(verdict_for(block, Outcome{"plan-3.1", OutcomeStatus::applied}));
  EXPECT_FALSE(verdict_for(block, Outcome{"plan-3.1", OutcomeStatus::rolled_back}));
  auto dry = block;
  dry.dry_run = true;
  EXPECT_FALSE(verdict_for(dry, verified));
  EXPECT_FALSE(verdict_for(action_of(ShadowPrefix{"eth0", P("198.51.100.0/24"), {}}), verified));
  auto relayed = block;
  relayed.rationale.symptom = SymptomKind::peer_verdict;
  EXPECT_FALSE(verdict_for(relayed, verified)) << "acting on a peer's word is no evidence of one's own";
  Symptom peer;
  peer.kind = SymptomKind::peer_verdict;
  EXPECT_FALSE(verdict_for(relayed, verified, &peer));
  // Corroborated here: the local flood is the evidence the verdict carries.
  Symptom local;
  local.kind = SymptomKind::flood;
  local.severity = Severity::critical;
  local.score = 0.98;
  local.evidence = {7000, 250, 28, "local flood"};
  auto corroborated = verdict_for(relayed, verified, &local);
  ASSERT_TRUE(corroborated);
  EXPECT_EQ(corroborated->kind, SymptomKind::flood);
  EXPECT_EQ(corroborated->severity, Severity::critical);
  EXPECT_EQ(corroborated->evidence.detail, "local flood");
}

}  // namespace
}  // namespace reflex::fleet
