// The loader: every error names file:line:column, the field, what was
// expected; a set with any error is rejected whole; defaults resolve.

#include "plan/policy_loader.h"
#include "plan/yaml_reader.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace reflex::plan {
namespace {

using testing::load_ok;

std::vector<Diagnostic> errors_of(const std::string& yaml) {
  auto r = load_policy_sources({{"p.yaml", yaml}});
  EXPECT_FALSE(r.ok());
  std::vector<Diagnostic> out;
  for (auto& d : r.diagnostics)
    if (d.level == Diagnostic::Level::error) out.push_back(d);
  return out;
}

TEST(Loader, MinimalRuleGetsGlobalDefaults) {
  auto p = load_ok(R"(
rules:
  - id: a
    when: {symptom: flood}
    then: {action: block}
)");
  ASSERT_EQ(p.rules.size(), 1u);
  const auto& r = p.rules[0];
  EXPECT_EQ(r.ladder.size(), 1u);
  EXPECT_EQ(r.ladder[0].kind, ActionKind::block);
  RuleDefaults d;
  EXPECT_EQ(r.ladder[0].ttl, d.ttl);
  EXPECT_EQ(r.cooldown, d.cooldown);
  EXPECT_EQ(r.when.persist, d.persist);
}

TEST(Loader, DefaultsFromGlobalInAnotherFileApplyRegardlessOfOrder) {
  auto r = load_policy_sources({{"10-rules.yaml", "rules:\n  - id: a\n    when: {symptom: flood}\n    then: {action: shadow}\n"},
                                {"20-global.yaml", "global:\n  defaults: {ttl: 7m, for: 3s}\n"}});
  ASSERT_TRUE(r.ok()) << r.first_error();
  EXPECT_EQ(r.policy->rules[0].ladder[0].ttl, 7 * 60 * kNsPerSec);
  EXPECT_EQ(r.policy->rules[0].when.persist, 3 * kNsPerSec);
}

TEST(Loader, RuleValuesOverrideDefaultsAndStepsInheritRuleTtl) {
  auto p = load_ok(R"(
rules:
  - id: a
    ttl: 2m
    hold: 15s
    when: {symptom: flood, for: 0s}
    then:
      - {action: shadow}
      - {action: block, ttl: 1h}
)");
  EXPECT_EQ(p.rules[0].ladder[0].ttl, 120 * kNsPerSec);
  EXPECT_EQ(p.rules[0].ladder[0].hold, 15 * kNsPerSec);
  EXPECT_EQ(p.rules[0].ladder[1].ttl, 3600 * kNsPerSec);
  EXPECT_EQ(p.rules[0].when.persist, 0);
}

TEST(Loader, ErrorsNameLineColumnFieldAndExpectation) {
  auto errs = errors_of(R"(rules:
  - id: a
    when:
      symptom: flood
      min_score: 1.5
    then: {action: rate_limit, pps: lots}
)");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0].loc.file, "p.yaml");
  EXPECT_EQ(errs[0].loc.line, 5);
  EXPECT_EQ(errs[0].loc.column, 18);
  EXPECT_EQ(errs[0].field, "rules[a].when.min_score");
  EXPECT_NE(errs[0].message.find("from 0 to 1"), std::string::npos) << errs[0].message;
  EXPECT_EQ(errs[1].loc.line, 6);
  EXPECT_EQ(errs[1].field, "rules[a].then.pps");
  EXPECT_EQ(errs[1].to_string().rfind("p.yaml:6:", 0), 0u) << errs[1].to_string();
}

TEST(Loader, TyposAreErrorsWithSuggestions) {
  auto errs = errors_of(R"(rules:
  - id: a
    cooldwon: 30s
    when: {symptom: flod}
    then: {action: blok}
)");
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_NE(errs[0].hint.find("cooldown"), std::string::npos);
  EXPECT_NE(errs[1].hint.find("flood"), std::string::npos);
  EXPECT_NE(errs[2].hint.find("block"), std::string::npos);
}

TEST(Loader, ParametersThatDoNotApplyToTheActionAreErrors) {
  auto errs = errors_of("rules:\n  - id: a\n    when: {symptom: flood}\n    then: {action: block, pps: 10}\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "rules[a].then.pps");
}

TEST(Loader, ShapeRateIsAbsoluteOrAShareOfTheEgressRate) {
  auto p = load_ok(R"(rules:
  - id: rel
    when: {symptom: latency_high}
    then: {action: shape, rate: 85%}
  - id: frac
    when: {symptom: latency_high}
    then: {action: shape, rate: 12.5%}
  - id: abs
    when: {symptom: latency_high}
    then: {action: shape, rate: 20Mbit}
)");
  ASSERT_EQ(p.rules.size(), 3u);
  EXPECT_DOUBLE_EQ(p.rules[0].ladder[0].rate_share, 0.85);
  EXPECT_EQ(p.rules[0].ladder[0].rate_bps, 0u);
  EXPECT_DOUBLE_EQ(p.rules[1].ladder[0].rate_share, 0.125);
  EXPECT_DOUBLE_EQ(p.rules[2].ladder[0].rate_share, 0);
  EXPECT_EQ(p.rules[2].ladder[0].rate_bps, 20'000'000u);
}

TEST(Loader, BadShareRatesSayWhatWasExpected) {
  struct Row { const char* rate; const char* expect; };
  const Row rows[] = {
      {"0%", "above 0% and at most 100%"},
      {"150%", "above 0% and at most 100%"},
      {"-5%", "above 0% and at most 100%"},
      {"85 %%", "above 0% and at most 100%"},
      {"%", "above 0% and at most 100%"},
      {"85 percent", "expected a bit rate"},
  };
  for (const auto& r : rows) {
    auto errs = errors_of(std::string("rules:\n  - id: a\n    when: {symptom: latency_high}\n    then:\n      action: shape\n"
                                      "      rate: \"") + r.rate + "\"\n");
    ASSERT_EQ(errs.size(), 1u) << r.rate;
    EXPECT_EQ(errs[0].field, "rules[a].then.rate") << r.rate;
    EXPECT_EQ(errs[0].loc.line, 6) << r.rate;
    EXPECT_NE(errs[0].message.find(r.expect), std::string::npos) << r.rate << ": " << errs[0].message;
  }
  // A share of the whole interface's egress says nothing about one prefix.
  auto errs = errors_of(
      "rules:\n  - id: a\n    when: {symptom: latency_high}\n    then: {action: shape, rate: 85%, target: prefix}\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "rules[a].then.rate");
  EXPECT_NE(errs[0].hint.find("absolute rate"), std::string::npos) << errs[0].hint;
}

TEST(Loader, TableOfInvalidPolicies) {
  struct Row { const char* name; const char* yaml; const char* field; };
  const Row rows[] = {
      {"missing id", "rules:\n  - when: {symptom: flood}\n    then: {action: block}\n", "rules[0].id"},
      {"bad id", "rules:\n  - id: 'a b'\n    when: {symptom: flood}\n    then: {action: block}\n", "rules[0].id"},
      {"missing when", "rules:\n  - id: a\n    then: {action: block}\n", "rules[a].when"},
      {"missing then", "rules:\n  - id: a\n    when: {symptom: flood}\n", "rules[a].then"},
      {"empty ladder", "rules:\n  - id: a\n    when: {symptom: flood}\n    then: []\n", "rules[a].then"},
      {"bad prefix", "rules:\n  - id: a\n    when: {symptom: flood, prefix: 10.0.0.0/33}\n    then: {action: block}\n", "rules[a].when.prefix"},
      {"clear_below above min_score", "rules:\n  - id: a\n    when: {symptom: flood, min_score: 0.5, clear_below: 0.7}\n    then: {action: block}\n", "rules[a].when.clear_below"},
      {"shape without rate", "rules:\n  - id: a\n    when: {symptom: latency_high}\n    then: {action: shape}\n", "rules[a].then.rate"},
      {"attach without step", "rules:\n  - id: a\n    when: {symptom: attach_degraded}\n    then: {action: attach_mode}\n", "rules[a].then.step"},
      {"port without proto", "rules:\n  - id: a\n    when: {symptom: flood}\n    then: {action: block, port: 53}\n", "rules[a].then.port"},
      {"bad mode", "global: {mode: yolo}\n", "global.mode"},
      {"zero drop fraction", "global: {guardrails: {max_drop_fraction: 0}}\n", "global.guardrails.max_drop_fraction"},
      {"cap of zero", "global: {max_actions_per_minute: 0}\n", "global.max_actions_per_minute"},
      {"backoff max below initial", "global: {backoff: {initial: 1h, max: 1m}}\n", "global.backoff.max"},
      {"rules not a list", "rules: {id: a}\n", "rules"},
      {"unknown top-level key", "rulez: []\n", "rulez"},
      {"duplicate key", "global: {mode: enforce, mode: dry_run}\n", "global.mode"},
      {"version 2", "version: 2\n", "version"},
  };
  for (const auto& r : rows) {
    auto errs = errors_of(r.yaml);
    ASSERT_FALSE(errs.empty()) << r.name;
    bool found = false;
    for (const auto& e : errs) found = found || e.field == r.field;
    EXPECT_TRUE(found) << r.name << ": first error was " << errs[0].to_string();
    EXPECT_GT(errs[0].loc.line, 0) << r.name;
  }
}

TEST(Loader, SyntaxErrorsCarryYamlPosition) {
  auto errs = errors_of("rules:\n  - id: a\n    when: {symptom: flood\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_GT(errs[0].loc.line, 0);
  EXPECT_NE(errs[0].message.find("YAML syntax"), std::string::npos);
}

TEST(Loader, DuplicateIdsAndSecondGlobalAcrossFilesAreErrors) {
  auto r = load_policy_sources({{"a.yaml", "global: {}\nrules:\n  - {id: x, when: {symptom: flood}, then: {action: block}}\n"},
                                {"b.yaml", "global: {}\nrules:\n  - {id: x, when: {symptom: flood}, then: {action: shadow}}\n"}});
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors(), 2);
  std::string all;
  for (const auto& d : r.diagnostics) all += d.to_string() + "\n";
  EXPECT_NE(all.find("b.yaml:1:9: error: global: a second `global:` section (the first is at a.yaml:1:9)"), std::string::npos) << all;
  EXPECT_NE(all.find("duplicate rule id (first defined at a.yaml:3:5)"), std::string::npos) << all;
}

TEST(Loader, FolderReadsOnlyPolicyFilesInNameOrder) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("reflex-loader-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "tests");
  auto write = [&](const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; };
  write("20-b.yaml", "rules:\n  - {id: b, when: {symptom: flood}, then: {action: block}}\n");
  write("10-a.yml", "rules:\n  - {id: a, when: {symptom: flood}, then: {action: shadow}}\n");
  write(".10-a.yml.swp", "garbage: [");
  write("30-c.yaml~", "garbage: [");
  write("notes.txt", "garbage: [");
  write("tests/t.yaml", "garbage: [");
  auto r = load_policy_path(dir);
  ASSERT_TRUE(r.ok()) << r.first_error();
  ASSERT_EQ(r.policy->rules.size(), 2u);
  EXPECT_EQ(r.policy->rules[0].id, "a");
  EXPECT_EQ(r.policy->rules[1].id, "b");
  fs::remove_all(dir);
}

TEST(Loader, MissingPathIsAnError) {
  auto r = load_policy_path("/nonexistent/reflex/policies");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.errors(), 1);
}

TEST(Loader, ShippedDefaultsLoadWithoutFindings) {
  auto r = load_policy_path(std::string(REFLEX_SOURCE_DIR) + "/policies");
  ASSERT_TRUE(r.ok()) << r.first_error();
  for (const auto& d : r.diagnostics) ADD_FAILURE() << d.to_string();
  EXPECT_GE(r.policy->rules.size(), 6u);
  EXPECT_FALSE(r.policy->global.guardrails.never_block.empty());
}

}  // namespace
}  // namespace reflex::plan

namespace reflex::plan {
namespace {

// Regression (found by the fuzzer): yaml-cpp 0.7 spins on invalid UTF-8, so
// the loader must refuse such bytes itself, quickly and with a position.
TEST(Loader, InvalidUtf8IsRejectedBeforeParsing) {
  auto errs = errors_of("rules:\n  - id: a\xff\xff\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].loc.line, 2);
  EXPECT_EQ(errs[0].loc.column, 10);
  EXPECT_NE(errs[0].message.find("invalid UTF-8"), std::string::npos);
  EXPECT_EQ(errors_of(std::string("a: \xc0\x80\n"))[0].message.find("invalid UTF-8"), 0u);  // overlong NUL
  auto ok = load_policy_sources({{"u.yaml", "rules:\n  - {id: a, description: \"d\xc3\xa9j\xc3\xa0 vu \xe2\x9c\x93\", "
                                            "when: {symptom: flood}, then: {action: alert}}\n"}});
  EXPECT_TRUE(ok.ok()) << ok.first_error();
}

TEST(Loader, OversizedFilesAreRejected) {
  auto errs = errors_of(std::string(kMaxYamlBytes + 1, '#'));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].message.find("the limit is"), std::string::npos);
}

}  // namespace
}  // namespace reflex::plan
