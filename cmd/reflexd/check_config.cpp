// `reflexd check-config [PATH]`: validate a config file (and any flags given
// with it) like check-policy does: every finding as file:line:col: error:
// field: message (hint) on stderr, a one-line summary on stdout.

#include "cmd/reflexd/config_flags.h"
#include "cmd/reflexd/subcommand.h"
#include "plan/units.h"

#include <iostream>

namespace reflex::cmd {
namespace {

int check_config(const ConfigCli& c, const CLI::App& app) {
  auto cfg = resolve_config(c, app);
  const std::string what = c.config_path.empty() ? "defaults and flags" : c.config_path;
  if (!cfg) {
    std::cout << what << ": FAILED: reflexd would refuse to start with this configuration\n";
    return 1;
  }
  std::cout << what << ": OK: " << cfg->interfaces.size() << " interface(s)";
  for (const auto& i : cfg->interfaces) std::cout << " " << i.key;
  std::cout << ", tick " << plan::format_duration(cfg->tick) << ", policies " << cfg->policies << ", store "
            << cfg->store.path << ", api " << (cfg->api.listen.empty() ? "-" : cfg->api.listen) << " + "
            << (cfg->api.unix_socket.empty() ? "-" : cfg->api.unix_socket) << "\n";
  if (cfg->interfaces.empty())
    std::cout << "note: no interface is guarded; give --iface IF or `interfaces:` in the file\n";
  return 0;
}

const RegisterSubcommand kRegister{"check-config", [](CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("check-config", "validate a reflexd config file (and flags); non-zero exit on error");
  auto c = std::make_shared<ConfigCli>();
  sub->add_option("path", c->config_path, "config file (default: the --config given, if any)");
  add_config_flags(sub, *c);
  sub->callback([&exit_code, &app, c] { exit_code = check_config(*c, app); });
}};

}  // namespace
}  // namespace reflex::cmd
