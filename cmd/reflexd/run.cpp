// `reflexd run`: the daemon, the whole loop. Configuration comes from
// --config (every field has a default) with flags over it. Logs go to
// stderr; stdout gets one line once the API answers, naming where, so
// scripts and tests can wait for it.

#include "cmd/reflexd/config_flags.h"
#include "cmd/reflexd/subcommand.h"
#include "common/log.h"
#include "daemon/daemon.h"

#include <csignal>
#include <iostream>

namespace reflex::cmd {
namespace {

int run_daemon(const daemon::DaemonConfig& cfg) {
  // A closed stdout or log pipe must cost a line, not the daemon (sockets
  // already send with MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  reflex::init_logging(cfg.log.level, parse_log_format(cfg.log.format).value_or(LogFormat::text));
  daemon::Daemon d(cfg);
  if (auto st = d.start(); !st) {
    std::cerr << "reflexd: " << st.error().message() << "\n";
    return 1;
  }
  const auto& status = d.policies().status();
  std::cout << "reflexd: running the loop on " << cfg.interfaces.size() << " interface(s), listening on "
            << d.describe_listeners() << " (policies " << cfg.policies << ", generation " << status.generation
            << ")" << std::endl;
  return d.run();
}

const RegisterSubcommand kRegister{"run", [](CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("run", "run the daemon: Monitor, Analyze, Plan and Execute over Knowledge, with the "
                                        "REST API and /metrics");
  auto c = std::make_shared<ConfigCli>();
  add_config_flags(sub, *c);
  sub->callback([&app, &exit_code, c] {
    auto cfg = resolve_config(*c, app);
    if (!cfg) {
      std::cerr << "reflexd: the configuration has errors (above); `reflexd check-config` checks it\n";
      exit_code = 2;
      return;
    }
    exit_code = run_daemon(*cfg);
  });
}};

}  // namespace
}  // namespace reflex::cmd
