#include "cmd/reflexd/config_flags.h"

#include <iostream>

namespace reflex::cmd {
namespace {

bool given(const CLI::App& sub, const std::string& name) {
  const CLI::Option* o = sub.get_option_no_throw(name);
  return o && o->count() > 0;
}

}  // namespace

void add_config_flags(CLI::App* sub, ConfigCli& c) {
  sub->add_option("--config", c.config_path, "YAML config file; every field has a default (see docs/daemon.md)");
  sub->add_option("-i,--iface", c.ifaces, "interface to guard, IF or IF@NETNS (repeat for more; replaces the file's)");
  sub->add_option("--mode", c.mode, "attach mode: auto (native, then generic, then tc), native, generic, tc");
  sub->add_option("--listen", c.listen, "REST API address ADDR:PORT (port 0: any free port; off: none)");
  sub->add_option("--unix-socket", c.unix_socket, "REST API Unix socket (mode 0660; off: none)");
  sub->add_option("--token-file", c.token_file, "bearer token for mutating calls (a 0600 file)");
  sub->add_option("--store", c.store, "the Knowledge database (SQLite); none: keep no record");
  sub->add_option("--policies", c.policies, "policy folder, reloaded when it changes");
  sub->add_option("--tick-ms", c.tick_ms, "loop tick in milliseconds (50 to 60000)");
  sub->add_option("--log-format", c.log_format, "text or json");
  sub->add_option("--pin-root", c.pin_root, "where the guards are pinned in bpffs");
  sub->add_option("--max-rules", c.max_rules, "guard rules per interface at most (the rule table's capacity)");
  sub->add_option("--drain-ms", c.drain_ms, "on SIGTERM, time for in-flight work before connections are cut");
  sub->add_flag("--no-watch", c.no_watch,
                "do not follow the policy folder with inotify (e.g. on NFS); reload on SIGHUP or POST "
                "/v1/policies/reload");
}

std::optional<daemon::DaemonConfig> resolve_config(const ConfigCli& c, const CLI::App& app) {
  daemon::DaemonConfig cfg;
  std::vector<plan::Diagnostic> diags;
  if (!c.config_path.empty()) {
    auto rep = daemon::load_config_file(c.config_path);
    diags = rep.diagnostics;
    if (rep.config) cfg = *rep.config;
  }
  const CLI::App* sub = app.get_subcommands().empty() ? &app : app.get_subcommands().front();
  daemon::ConfigFlags f;
  f.ifaces = c.ifaces;
  auto str = [&](const char* name, const std::string& v, std::optional<std::string>& dst) {
    if (given(*sub, name)) dst = v;
  };
  str("--mode", c.mode, f.mode);
  str("--listen", c.listen, f.listen);
  str("--unix-socket", c.unix_socket, f.unix_socket);
  str("--token-file", c.token_file, f.token_file);
  str("--store", c.store, f.store);
  str("--policies", c.policies, f.policies);
  str("--log-format", c.log_format, f.log_format);
  str("--pin-root", c.pin_root, f.pin_root);
  if (given(*sub, "--tick-ms")) f.tick_ms = c.tick_ms;
  if (given(*sub, "--drain-ms")) f.drain_ms = c.drain_ms;
  if (given(*sub, "--max-rules")) f.max_rules = c.max_rules;
  if (c.no_watch) f.watch_policies = false;
  if (const CLI::Option* o = app.get_option_no_throw("--log-level"); o && o->count()) f.log_level = o->results().back();
  bool file_ok = std::none_of(diags.begin(), diags.end(),
                              [](const auto& d) { return d.level == plan::Diagnostic::Level::error; });
  if (file_ok) {
    auto more = daemon::apply_flags(cfg, f);
    diags.insert(diags.end(), more.begin(), more.end());
  }
  bool failed = false;
  for (const auto& d : diags) {
    std::cerr << d.to_string() << "\n";
    failed |= d.level == plan::Diagnostic::Level::error;
  }
  if (failed) return std::nullopt;
  return cfg;
}

}  // namespace reflex::cmd
