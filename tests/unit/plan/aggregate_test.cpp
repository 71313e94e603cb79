// The aggregate action in the policy language and the planner: parsed with
// its fields, materialised for a guard's rule table, and held inside the
// guardrails (never wider than max_block_prefix, never_block carried along).

#include "plan/action_text.h"
#include "plan/planner.h"
#include "test_util.h"

#include <gtest/gtest.h>

namespace reflex::plan {
namespace {

Symptom pressure(const std::string& map, TimeNs t) {
  Symptom s;
  s.kind = SymptomKind::map_pressure;
  s.subject.map = map;
  s.severity = Severity::warning;
  s.score = 0.9;
  s.evidence = {0.9, 0.8, 1.1, "90% full"};
  s.ts_ns = t;
  return s;
}

std::vector<Action> plan_at(const PolicySet& p, std::vector<Symptom> symptoms) {
  PlannerState st;
  PlanInput in;
  in.symptoms = std::move(symptoms);
  return make_plan(p, in, st).plan.actions;
}

TEST(Aggregate, ParsesAndTargetsTheRuleTablesInterface) {
  auto p = testing::load_ok(R"Y(
global:
  defaults: {for: 0s}
  guardrails: {never_block: [10.0.0.0/8], max_block_prefix: {ipv4: 24, ipv6: 48}}
rules:
  - id: agg
    when: {symptom: map_pressure, map: "*/rules"}
    then: {action: aggregate, verb: rate_limit, length: {ipv4: 26, ipv6: 56}, min_hosts: 4, ttl: 20m}
)Y");
  ASSERT_EQ(p.rules.size(), 1u);
  const auto& step = p.rules[0].ladder[0];
  EXPECT_EQ(step.kind, ActionKind::aggregate);
  EXPECT_EQ(step.aggregate_verb, RuleVerb::rate_limit);
  EXPECT_EQ(step.aggregate_len_v4, 26);
  EXPECT_EQ(step.aggregate_len_v6, 56);
  EXPECT_EQ(step.aggregate_min_hosts, 4u);

  auto actions = plan_at(p, {pressure("veth1@ns2/rules", 0)});
  ASSERT_EQ(actions.size(), 1u);
  const auto* a = std::get_if<AggregateRules>(&actions[0].spec);
  ASSERT_NE(a, nullptr) << describe(actions[0]);
  EXPECT_EQ(a->iface, "veth1@ns2");
  EXPECT_EQ(a->verb, RuleVerb::rate_limit);
  EXPECT_EQ(a->len_v4, 26);  // narrower than the widest blockable: kept
  EXPECT_EQ(a->len_v6, 56);
  EXPECT_EQ(a->min_hosts, 4u);
  ASSERT_EQ(a->keep_out.size(), 1u);  // never_block travels with it: Execute makes no cover over it
  EXPECT_EQ(a->keep_out[0], Prefix::parse("10.0.0.0/8").value());
  EXPECT_EQ(actions[0].ttl_ns, 20 * 60 * kNsPerSec);
  EXPECT_EQ(target_key(actions[0].spec), "aggregate:veth1@ns2:rate_limit");
  EXPECT_TRUE(actions[0].rationale.guardrails.empty());
}

TEST(Aggregate, NeverWiderThanTheWidestBlockablePrefix) {
  auto p = testing::load_ok(R"Y(
global:
  defaults: {for: 0s}
  guardrails: {max_block_prefix: {ipv4: 24, ipv6: 48}}
rules:
  - id: agg
    when: {symptom: map_pressure}
    then: {action: aggregate, length: {ipv4: 16, ipv6: 32}}
)Y");
  auto actions = plan_at(p, {pressure("eth0/rules", 0)});
  ASSERT_EQ(actions.size(), 1u);
  const auto& a = std::get<AggregateRules>(actions[0].spec);
  EXPECT_EQ(a.len_v4, 24);
  EXPECT_EQ(a.len_v6, 48);
  EXPECT_EQ(a.verb, RuleVerb::drop);
  const auto& g = actions[0].rationale.guardrails;
  ASSERT_EQ(g.size(), 2u);
  EXPECT_NE(g[0].find("max_block_prefix: aggregate /16 narrowed to /24"), std::string::npos) << g[0];
}

TEST(Aggregate, AMapThatIsNoRuleTableIsNotedNotActedOn) {
  auto p = testing::load_ok(R"Y(
global: {defaults: {for: 0s}}
rules:
  - id: agg
    when: {symptom: map_pressure}
    then: {action: aggregate}
)Y");
  PlannerState st;
  PlanInput in;
  in.symptoms = {pressure("eth0/talkers", 0)};
  auto out = make_plan(p, in, st);
  EXPECT_TRUE(out.plan.actions.empty());
  ASSERT_FALSE(out.plan.notes.empty());
  EXPECT_NE(out.plan.notes[0].find("aggregate needs an interface or a guard rule table"), std::string::npos)
      << out.plan.notes[0];
}

TEST(Aggregate, BadFieldsAreRejectedWithTheirPlace) {
  for (auto [yaml, says] : std::vector<std::pair<std::string, std::string>>{
           {"then: {action: aggregate, verb: allow}", "expected block, rate_limit or shadow"},
           {"then: {action: aggregate, length: {ipv4: 32}}", "length.ipv4"},
           {"then: {action: aggregate, min_hosts: 1}", "min_hosts"},
           {"then: {action: aggregate, pps: 10}", "pps"},
       }) {
    auto r = load_policy_sources(
        {{"p.yaml", "rules:\n  - id: a\n    when: {symptom: map_pressure}\n    " + yaml + "\n"}});
    EXPECT_FALSE(r.ok()) << yaml;
    std::string all;
    for (const auto& d : r.diagnostics) all += d.to_string() + "\n";
    EXPECT_NE(all.find(says), std::string::npos) << yaml << "\n" << all;
  }
}

TEST(Aggregate, ShippedPoliciesAggregateAFillingRuleTable) {
  auto r = load_policy_path(REFLEX_SOURCE_DIR "/policies");
  ASSERT_TRUE(r.ok()) << r.first_error();
  const Rule* rule = r.policy->find("rules-aggregate");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->ladder.at(0).kind, ActionKind::aggregate);
}

}  // namespace
}  // namespace reflex::plan
