// A planner restored from its saved JSON makes the decisions an uninterrupted
// one makes: every shipped policy test and the golden day, with the state
// saved to text and restored into a fresh Planner after every tick.
#include <gtest/gtest.h>

#include <filesystem>

#include "knowledge/json/action_json.h"
#include "knowledge/json/planner_state_json.h"
#include "knowledge/json/text.h"
#include "plan/policy_loader.h"
#include "plan/policy_test.h"

namespace reflex {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> scenario_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(REFLEX_SOURCE_DIR) / "policies" / "tests"))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  files.push_back(fs::path(REFLEX_SOURCE_DIR) / "tests" / "unit" / "plan" / "golden" / "mesh_node_day.yaml");
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> plans_as_text(const std::vector<plan::TickResult>& ticks) {
  std::vector<std::string> out;
  for (const auto& t : ticks) out.push_back(to_text(to_json(t.plan)));
  return out;
}

TEST(PlannerRestore, RestoredEveryTickDecidesAsUninterrupted) {
  std::size_t cases = 0, actions = 0, nonempty_states = 0;
  for (const auto& file : scenario_files()) {
    auto parsed = plan::read_policy_test(file);
    ASSERT_TRUE(parsed.file) << file;
    ASSERT_EQ(parsed.file->policy_paths.size(), 1u) << file;
    auto policy = plan::load_policy_set(parsed.file->policy_paths.front());
    ASSERT_TRUE(policy) << file << ": " << policy.error().message();
    for (const auto& tc : parsed.file->tests) {
      ++cases;
      auto straight = plan::simulate(*policy, tc);
      auto restored = plan::simulate(*policy, tc, [&](plan::Planner& p) {
        std::string saved = to_text(to_json(p.state()));
        if (!p.state().tracks.empty()) ++nonempty_states;
        auto v = parse_text(saved, "planner state");
        ASSERT_TRUE(v) << v.error().what;
        auto s = from_json<PlannerState>(*v);
        ASSERT_TRUE(s) << s.error().what;
        ASSERT_TRUE(*s == p.state()) << saved;
        p = plan::Planner{};
        p.restore(std::move(*s));
      });
      for (const auto& t : straight) actions += t.plan.actions.size();
      EXPECT_EQ(plans_as_text(straight), plans_as_text(restored)) << file << ": " << tc.name;
    }
  }
  // The scenarios exercise the planner: not a comparison of empty runs.
  EXPECT_GE(cases, 5u);
  EXPECT_GE(actions, 20u);
  EXPECT_GE(nonempty_states, 100u);
}

}  // namespace
}  // namespace reflex
