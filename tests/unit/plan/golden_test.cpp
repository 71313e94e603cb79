// Golden tests: the shipped default policies, fed recorded symptom sequences,
// must produce exactly the recorded plans (actions, rationale, guardrails and
// notes). A change in behaviour shows as a text diff; after reviewing it,
// regenerate with REFLEX_UPDATE_GOLDEN=1.
// Also runs the shipped policy tests (policies/tests/*.yaml).

#include "plan/policy_loader.h"
#include "plan/policy_test.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace reflex::plan {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = REFLEX_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> yaml_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Golden, DefaultPoliciesProduceRecordedPlans) {
  auto policy = load_policy_path(kRoot / "policies");
  ASSERT_TRUE(policy.ok()) << policy.first_error();
  auto scenarios = yaml_files(kRoot / "tests/unit/plan/golden");
  ASSERT_FALSE(scenarios.empty());
  const bool update = std::getenv("REFLEX_UPDATE_GOLDEN") != nullptr;
  for (const auto& path : scenarios) {
    auto parsed = read_policy_test(path);
    ASSERT_TRUE(parsed.file) << path << ": " << (parsed.diagnostics.empty() ? "" : parsed.diagnostics[0].to_string());
    std::string got;
    for (const auto& tc : parsed.file->tests)
      got += "=== " + tc.name + "\n" + render_timeline(simulate(*policy.policy, tc), true);
    auto golden = fs::path(path).replace_extension(".golden");
    if (update) {
      std::ofstream(golden) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << golden << " missing: run with REFLEX_UPDATE_GOLDEN=1 and review it";
    EXPECT_EQ(slurp(golden), got) << "plans for " << path.filename()
                                  << " changed; if intended, regenerate with REFLEX_UPDATE_GOLDEN=1";
  }
}

TEST(Golden, ShippedPolicyTestsPass) {
  auto files = yaml_files(kRoot / "policies/tests");
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    auto run = run_policy_test_file(f);
    for (const auto& d : run.diagnostics) ADD_FAILURE() << d.to_string();
    for (const auto& c : run.cases) {
      std::string report;
      for (const auto& l : c.report) report += l + "\n";
      EXPECT_TRUE(c.passed) << c.loc.to_string() << " " << c.name << "\n" << report;
    }
  }
}

TEST(Golden, SimulationIsDeterministic) {
  // The simulation is a function of the policy and the case alone: the same
  // timeline, field for field, from a policy loaded again (new objects at new
  // addresses: nothing may depend on pointer order), and with other
  // scenarios simulated in between (nothing may leak between runs).
  auto policy = load_policy_path(kRoot / "policies");
  ASSERT_TRUE(policy.ok());
  std::vector<std::pair<std::string, PolicyTestCase>> cases;
  for (const auto& path : yaml_files(kRoot / "tests/unit/plan/golden")) {
    auto parsed = read_policy_test(path);
    ASSERT_TRUE(parsed.file);
    for (const auto& tc : parsed.file->tests) cases.emplace_back(path.filename().string() + ": " + tc.name, tc);
  }
  ASSERT_FALSE(cases.empty());
  std::vector<std::string> first;
  std::size_t with_actions = 0;
  for (const auto& [name, tc] : cases) {
    first.push_back(render_timeline(simulate(*policy.policy, tc), true));
    with_actions += first.back().find("rule=") != std::string::npos;
  }
  EXPECT_GT(with_actions, cases.size() / 2);  // the timelines have decisions in them to compare

  auto again = load_policy_path(kRoot / "policies");
  ASSERT_TRUE(again.ok());
  for (std::size_t k = cases.size(); k-- > 0;) {  // reverse order, each after another scenario
    const auto& other = cases[(k + 1) % cases.size()].second;
    (void)simulate(*again.policy, other);
    EXPECT_EQ(render_timeline(simulate(*again.policy, cases[k].second), true), first[k]) << cases[k].first;
  }
}

}  // namespace
}  // namespace reflex::plan
