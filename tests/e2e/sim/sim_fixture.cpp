#include "tests/e2e/sim/sim_fixture.h"

#include "sim/netns.h"
#include "sim/runner.h"
#include "tests/support/kernel_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>

namespace reflex::sim::testing {

Scenario scenario_from(const std::string& yaml) {
  auto s = parse_scenario(yaml, "inline.yaml");
  if (!s) ADD_FAILURE() << s.error().what;
  return s ? *s : Scenario{};
}

RunData run_on(const Scenario& s, NodeKind node) {
  static int n = 0;
  RunOptions o;
  o.node = node;
  o.pin_root = reflex::testing::test_pin_root() + "/run" + std::to_string(n++);
  std::filesystem::create_directories(o.pin_root);
  o.work_dir = scratch_dir("run" + std::to_string(n));
  o.reflexd = REFLEXD_BIN;
  o.policies = std::string(REFLEX_SOURCE_DIR) + "/policies";
  auto d = run_scenario(s, o);
  EXPECT_TRUE(leftover_pins(o.pin_root).empty()) << "the guard's pins outlived the run";
  EXPECT_TRUE(leftover_namespaces(getpid()).empty()) << "namespaces outlived the run";
  return d;
}

std::vector<std::string> leftover_namespaces(int pid) {
  auto out = run_command({"ip", "netns", "list"});
  std::vector<std::string> left;
  if (!out) return left;
  std::regex mine("^rfxsim[a-z]" + std::to_string(pid % 100000) + "x[0-9]+");
  std::stringstream ss(*out);
  std::string line;
  while (std::getline(ss, line))
    if (std::regex_search(line, mine)) left.push_back(line);
  return left;
}

std::vector<std::string> leftover_pins(const std::string& root) {
  std::vector<std::string> left;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return left;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root, ec))
    if (!e.is_directory()) left.push_back(e.path().string());
  return left;
}

std::string scratch_dir(const std::string& name) {
  static const std::string base = [] {
    std::string b = "/tmp/rfx-sim-e2e-" + std::to_string(getpid());
    std::atexit([] { std::filesystem::remove_all("/tmp/rfx-sim-e2e-" + std::to_string(getpid())); });
    return b;
  }();
  std::string d = base + "/" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace reflex::sim::testing
