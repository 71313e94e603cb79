// `reflexd observe`: runs only the Monitor stage and prints one JSON object
// per tick on stdout (like `xdp-filter poll`, or `bpftool map dump` for the
// whole picture). The field names are a contract: see
// knowledge/json/observation_json.h and docs/monitor.md.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cmd/reflexd/subcommand.h"
#include "common/log.h"
#include "knowledge/json/observation_json.h"
#include "monitor/monitor.h"

namespace reflex::cmd {
namespace {

struct ObserveOptions {
  std::vector<std::string> ifaces;
  std::string netns;
  unsigned interval_ms = 1000;
  std::uint64_t count = 0;  // 0 = until interrupted
  std::string pin_root = guard::kDefaultPinRoot;
  bool no_rtt = false, no_drops = false, no_maps = false, no_retrans = false;
  unsigned run_time_every = 10;
};

int run_observe(const ObserveOptions& o) {
  monitor::MonitorConfig cfg;
  for (const auto& text : o.ifaces) {
    auto ref = monitor::parse_interface_ref(text, o.netns);
    if (!ref) {
      std::cerr << "reflexd observe: " << ref.error().message() << "\n";
      return 2;
    }
    cfg.interfaces.push_back(*ref);
  }
  cfg.interval = std::chrono::milliseconds(o.interval_ms);
  cfg.pin_root = o.pin_root;
  cfg.tcp_rtt = !o.no_rtt;
  cfg.tcp_retrans = !o.no_retrans;
  cfg.drop_reasons = !o.no_drops;
  cfg.map_pressure = !o.no_maps;
  cfg.run_time_every = o.run_time_every;
  // Retry failed probes about every tick at first, so a guard loaded after
  // we started shows up quickly.
  cfg.backoff_initial = std::max(cfg.interval, std::chrono::milliseconds(250));
  cfg.backoff_max = std::max(cfg.backoff_max, cfg.backoff_initial);

  boost::asio::io_context io;
  std::unique_ptr<monitor::Monitor> mon;
  auto sink = [&](const Observation& obs) {
    std::string line = boost::json::serialize(to_json(obs));
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) {
      io.stop();  // e.g. piped into head: stop quietly
      return;
    }
    if (o.count && obs.seq + 1 >= o.count) io.stop();
  };
  auto m = monitor::Monitor::create(io, cfg, sink);
  if (!m) {
    std::cerr << "reflexd observe: " << m.error().message() << "\n";
    return 2;
  }
  mon = std::move(*m);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) io.stop();
  });
  std::signal(SIGPIPE, SIG_IGN);
  mon->start();
  io.run();
  mon->stop();
  return 0;
}

const RegisterSubcommand kRegister{
    "observe", [](CLI::App& app, int& exit_code) {
      auto* sub =
          app.add_subcommand("observe", "run only the Monitor stage: one JSON object per tick on stdout");
      auto o = std::make_shared<ObserveOptions>();
      sub->add_option("-i,--iface", o->ifaces, "interface to watch, IF or IF@NETNS (repeat for more)")
          ->required();
      sub->add_option("--netns", o->netns, "network namespace of every bare IF (as `ip netns`)");
      sub->add_option("--interval", o->interval_ms, "tick in milliseconds (at least 50)")
          ->capture_default_str();
      sub->add_option("--count", o->count, "stop after N ticks (0: run until interrupted)")
          ->capture_default_str();
      sub->add_option("--pin-root", o->pin_root, "where the guards are pinned (as reflex-guard --pin-root)")
          ->capture_default_str();
      sub->add_option(
             "--run-time-every", o->run_time_every,
             "measure the guard's run time per packet on one tick in N (0: never; costs ~20 ns per packet "
             "while on)")
          ->capture_default_str();
      sub->add_flag("--no-rtt", o->no_rtt, "do not load the TCP RTT tracepoint program");
      sub->add_flag("--no-retrans", o->no_retrans, "do not load the TCP retransmit tracepoint programs");
      sub->add_flag("--no-drops", o->no_drops, "do not load the kernel drop-reason tracepoint program");
      sub->add_flag("--no-maps", o->no_maps, "do not report map fill");
      sub->callback([&exit_code, o, &app] {
        // Subcommands run inside parse(), before main() sets logging up; without
        // this, spdlog's default logger would write to stdout, into the JSON.
        std::string level = "warn";
        if (const CLI::Option* opt = app.get_option_no_throw("--log-level"); opt && opt->count())
          level = opt->results().back();
        init_logging(level);
        exit_code = run_observe(*o);
      });
    }};

}  // namespace
}  // namespace reflex::cmd
