// `reflexd test-policy FILE...`: run policy unit tests written in YAML (a timed
// series of symptoms in, expected actions out), like `promtool test rules`.
// Prints a -/+ diff per failing tick and exits non-zero if anything failed.

#include "cmd/reflexd/subcommand.h"
#include "plan/policy_loader.h"
#include "plan/policy_test.h"

#include <iostream>

namespace reflex::cmd {
namespace {

struct TestOptions {
  std::vector<std::string> files;
  bool timeline = false;
};

int test_policy(const TestOptions& opts) {
  int passed = 0, failed = 0;
  for (const auto& f : opts.files) {
    auto run = plan::run_policy_test_file(f);
    for (const auto& d : run.diagnostics) std::cerr << d.to_string() << "\n";
    if (run.cases.empty() && !run.passed()) {
      std::cout << "FAIL " << f << ": cannot run (see errors above)\n";
      ++failed;
      continue;
    }
    for (const auto& c : run.cases) {
      std::cout << (c.passed ? "PASS " : "FAIL ") << c.loc.to_string() << " " << c.name << "\n";
      for (const auto& line : c.report) std::cout << line << "\n";
      (c.passed ? passed : failed)++;
    }
    if (opts.timeline) {
      auto parsed = plan::read_policy_test(f);
      if (!parsed.file) continue;
      for (const auto& p : parsed.file->policy_paths) {
        auto report = plan::load_policy_path(p);
        if (!report.ok()) continue;
        for (const auto& tc : parsed.file->tests)
          std::cout << "--- timeline: " << tc.name << "\n" << plan::render_timeline(plan::simulate(*report.policy, tc), true);
      }
    }
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

const RegisterSubcommand kRegister{"test-policy", [](CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("test-policy", "run YAML policy unit tests; non-zero exit on failure");
  auto opts = std::make_shared<TestOptions>();
  sub->add_option("files", opts->files, "policy test files (e.g. policies/tests/*.yaml)")->required();
  sub->add_flag("--timeline", opts->timeline, "also print every plan of every test (for writing expectations)");
  sub->callback([&exit_code, opts] { exit_code = test_policy(*opts); });
}};

}  // namespace
}  // namespace reflex::cmd
