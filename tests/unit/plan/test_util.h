#pragma once
// Helpers for plan tests: load policy text, run a YAML scenario, print a
// failed case's diff so a red test says what changed.

#include "plan/policy_loader.h"
#include "plan/policy_test.h"

#include <gtest/gtest.h>

#include <string>

namespace reflex::plan::testing {

inline PolicySet load_ok(const std::string& yaml, const std::string& name = "policy.yaml") {
  auto r = load_policy_sources({{name, yaml}});
  std::string all;
  for (const auto& d : r.diagnostics) all += d.to_string() + "\n";
  EXPECT_TRUE(r.ok()) << all;
  return r.policy.value_or(PolicySet{});
}

inline PolicyTestCase parse_case(const std::string& yaml) {
  auto parsed = parse_policy_test("tests:\n" + yaml, "case.yaml", ".");
  std::string all;
  for (const auto& d : parsed.diagnostics) all += d.to_string() + "\n";
  EXPECT_TRUE(parsed.file.has_value()) << all;
  if (!parsed.file || parsed.file->tests.empty()) return {};
  return parsed.file->tests.front();
}

inline std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace reflex::plan::testing
