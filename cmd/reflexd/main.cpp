// reflexd: the reflex daemon (MAPE-K loop for a mesh node) and its operator
// subcommands. Subcommands register themselves (subcommand.h).

#include "cmd/reflexd/policy_commands.h"
#include "cmd/reflexd/subcommand.h"
#include "common/log.h"

#include <algorithm>
#include <iostream>

namespace reflex::cmd {

std::vector<SubcommandEntry>& subcommand_registry() {
  static std::vector<SubcommandEntry> registry;
  return registry;
}

}  // namespace reflex::cmd

int main(int argc, char** argv) {
  using namespace reflex::cmd;
  CLI::App app{"reflexd: MAPE-K control loop for a Linux mesh node"};
  app.set_version_flag("--version", "reflexd 0.1");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  std::string check_path;
  app.add_option("--check-policy", check_path, "validate a policy file or folder and exit (like nginx -t)");
  app.require_subcommand(0, 1);

  int exit_code = 0;
  auto& registry = subcommand_registry();
  std::sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& entry : registry) entry.setup(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  reflex::init_logging(log_level);
  if (!check_path.empty()) {
    if (!app.get_subcommands().empty()) {
      std::cerr << "reflexd: --check-policy runs alone; drop the subcommand\n";
      return 2;
    }
    return check_policy(check_path, CheckOptions{});
  }
  if (app.get_subcommands().empty()) {
    std::cerr << app.help();
    return 2;
  }
  return exit_code;
}
