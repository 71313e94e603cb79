// `reflexd run`: the daemon. Loads the policy folder, keeps it current
// (inotify, SIGHUP, POST /v1/policies/reload) and serves the REST API until
// SIGINT or SIGTERM. Logs go to stderr; stdout gets one line once the API
// answers, naming the address (the real port when --listen asked for port 0),
// so scripts and tests can wait for it.

#include "cmd/reflexd/run_daemon.h"
#include "cmd/reflexd/subcommand.h"
#include "api/endpoint.h"
#include "common/log.h"

#include <csignal>
#include <iostream>

namespace reflex::cmd {
namespace {

int run_daemon(const RunOptions& opts) {
  // A closed stdout or log pipe must cost a line, not the daemon (sockets
  // already send with MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(opts);
  if (auto st = daemon.start(); !st) {
    std::cerr << "reflexd: " << st.error().message() << "\n";
    return 1;
  }
  const auto& status = daemon.policies().status();
  std::cout << "reflexd: listening on http://" << api::format_endpoint(daemon.listening()) << " (policies "
            << opts.policies << ", generation " << status.generation << ", "
            << daemon.policies().current()->rules.size() << " rule(s))" << std::endl;
  return daemon.run();
}

const RegisterSubcommand kRegister{
    "run", [](CLI::App& app, int& exit_code) {
      auto* sub =
          app.add_subcommand("run", "run the daemon: policies with hot reload, REST API and /metrics");
      auto opts = std::make_shared<RunOptions>();
      auto no_watch = std::make_shared<bool>(false);
      auto drain_ms = std::make_shared<int>(static_cast<int>(opts->drain.count()));
      sub->add_option("--policies", opts->policies, "policy folder, reloaded when it changes")
          ->capture_default_str();
      sub->add_option("--listen", opts->listen, "REST API address ADDR:PORT (port 0: any free port)")
          ->capture_default_str();
      sub->add_flag("--no-watch", *no_watch,
                    "do not follow the folder with inotify (e.g. on NFS); reload on SIGHUP or POST "
                    "/v1/policies/reload");
      sub->add_option("--drain-ms", *drain_ms,
                      "on SIGTERM, time for in-flight requests before connections are cut")
          ->capture_default_str()
          ->check(CLI::Range(0, 600'000));
      sub->callback([&app, &exit_code, opts, no_watch, drain_ms] {
        // main() sets up logging after parsing, and this runs during parsing.
        reflex::init_logging(app.get_option("--log-level")->as<std::string>());
        opts->watch = !*no_watch;
        opts->drain = std::chrono::milliseconds(*drain_ms);
        exit_code = run_daemon(*opts);
      });
    }};

}  // namespace
}  // namespace reflex::cmd
