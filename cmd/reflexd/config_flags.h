#pragma once
// The configuration flags `reflexd run` and `reflexd check-config` share:
// every config file field can be given on the command line, and a flag wins.

#include "daemon/config.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

namespace reflex::cmd {

struct ConfigCli {
  std::string config_path;  // empty: defaults (and flags) only
  std::vector<std::string> ifaces;
  std::string mode, listen, unix_socket, token_file, store, policies, log_format, pin_root;
  std::int64_t tick_ms = 0, drain_ms = 0, max_rules = 0;
  bool no_watch = false;
  std::vector<CLI::Option*> opts;  // to tell which were given
};

// Adds --config and one flag per field to sub.
void add_config_flags(CLI::App* sub, ConfigCli& c);

// The file (if any) with the flags applied over it; prints every finding to
// stderr (file:line:col: error: field: ...) and returns nullopt on any error.
// log_level is the global --log-level when it was given.
std::optional<daemon::DaemonConfig> resolve_config(const ConfigCli& c, const CLI::App& app);

}  // namespace reflex::cmd
