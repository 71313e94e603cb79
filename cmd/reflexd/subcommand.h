#pragma once
// Self-registering reflexd subcommands. A subcommand file defines
//
//   static const reflex::cmd::RegisterSubcommand kRegister{
//       "observe", [](CLI::App& app, int& exit_code) {
//         auto* sub = app.add_subcommand("observe", "...");
//         sub->callback([&exit_code] { exit_code = run_observe(); });
//       }};
//
// and main() adds every registered subcommand to the CLI11 app, in name order.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace reflex::cmd {

using SubcommandSetup = std::function<void(CLI::App& app, int& exit_code)>;

struct SubcommandEntry {
  std::string name;
  SubcommandSetup setup;
};

std::vector<SubcommandEntry>& subcommand_registry();

struct RegisterSubcommand {
  RegisterSubcommand(std::string name, SubcommandSetup setup) {
    subcommand_registry().push_back({std::move(name), std::move(setup)});
  }
};

}  // namespace reflex::cmd
