// Lint: rules that can never fire or act, shadowed rules, always-trimmed rungs.

#include "plan/policy_loader.h"

#include <gtest/gtest.h>

namespace reflex::plan {
namespace {

std::vector<std::string> warnings_of(const std::string& yaml) {
  auto r = load_policy_sources({{"p.yaml", yaml}});
  EXPECT_TRUE(r.ok()) << r.first_error();
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) {
    EXPECT_EQ(d.level, Diagnostic::Level::warning);
    out.push_back(d.to_string());
  }
  return out;
}

bool has(const std::vector<std::string>& ws, const std::string& needle) {
  for (const auto& w : ws)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

TEST(Lint, Table) {
  struct Row { const char* name; const char* yaml; const char* expect; };
  const Row rows[] = {
      {"prefix action on a symptom without prefix",
       "rules:\n  - {id: a, when: {symptom: map_pressure}, then: {action: block}}\n", "never acts"},
      {"iface filter on map_pressure",
       "rules:\n  - {id: a, when: {symptom: map_pressure, iface: eth0}, then: {action: alert}}\n", "never fires"},
      {"blocks only protected prefixes",
       "global: {guardrails: {never_block: [10.0.0.0/8]}}\n"
       "rules:\n  - {id: a, when: {symptom: flood, prefix: 10.1.0.0/16}, then: {action: block}}\n",
       "in global.guardrails.never_block"},
      {"rate below floor",
       "global: {guardrails: {rate_limit_floor: 100}}\n"
       "rules:\n  - {id: a, when: {symptom: flood}, then: {action: rate_limit, pps: 10}}\n", "rate_limit_floor"},
      {"shape below floor",
       "rules:\n  - {id: a, when: {symptom: latency_high}, then: {action: shape, rate: 100kbit}}\n", "shaping_floor"},
      {"share the max_drop_fraction guardrail raises",
       "rules:\n  - {id: a, when: {symptom: latency_high}, then: {action: shape, rate: 30%}}\n",
       "it will always be raised to 50%"},
      {"enforce under global dry_run",
       "global: {mode: dry_run}\nrules:\n  - {id: a, mode: enforce, when: {symptom: flood}, then: {action: block}}\n",
       "has no effect"},
      {"shadowed by a higher-priority twin",
       "rules:\n  - {id: a, priority: 5, when: {symptom: flood}, then: {action: block}}\n"
       "  - {id: b, priority: 1, when: {symptom: flood, min_score: 0.5}, then: {action: rate_limit, pps: 100}}\n",
       "rules[b]: shadowed by rule 'a'"},
      {"aggregate wider than max_block_prefix",
       "rules:\n  - {id: a, aggregate: {ipv4: 16}, when: {symptom: flood}, then: {action: block}}\n", "narrowed"},
  };
  for (const auto& r : rows) EXPECT_TRUE(has(warnings_of(r.yaml), r.expect)) << r.name;
}

TEST(Lint, NarrowerRuleIsNotShadowed) {
  // b is more specific (a prefix filter): b wins conflicts, so no warning.
  auto ws = warnings_of(
      "rules:\n  - {id: a, priority: 5, when: {symptom: flood}, then: {action: block}}\n"
      "  - {id: b, priority: 1, when: {symptom: flood, prefix: 192.0.2.0/24}, then: {action: shadow}}\n");
  EXPECT_FALSE(has(ws, "shadowed")) << (ws.empty() ? "" : ws[0]);
}

TEST(Lint, AShareOfTheEgressRateIsNotComparedWithTheShapingFloor) {
  // A relative rate has no absolute value until the planner computes it (and
  // the guardrail floors it then): no "below shaping_floor" at load.
  auto ws = warnings_of("rules:\n  - {id: a, when: {symptom: latency_high}, then: {action: shape, rate: 85%}}\n");
  EXPECT_TRUE(ws.empty()) << ws[0];
}

TEST(Lint, CleanPolicyHasNoWarnings) {
  auto ws = warnings_of("rules:\n  - {id: a, when: {symptom: flood}, then: [{action: shadow}, {action: block}]}\n");
  EXPECT_TRUE(ws.empty()) << ws[0];
}

}  // namespace
}  // namespace reflex::plan
