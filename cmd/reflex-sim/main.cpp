// reflex-sim: runs a scenario from sim/scenarios/ against a node in real
// network namespaces, live in the terminal, and writes the report (JSON,
// timeline SVG/PNG, HTML). It leaves the host as it found it, also when
// interrupted with Ctrl-C: every namespace, link, pin, qdisc and process it
// made goes when it stops.

#include "cmd/reflex-sim/live_view.h"
#include "cmd/reflex-sim/preflight.h"
#include "sim/fleet/fleet_command.h"
#include "sim/fleet/scenario.h"
#include "sim/report.h"
#include "sim/runner.h"
#include "sim/scenario.h"

#include <CLI/CLI.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

namespace fs = std::filesystem;
using namespace reflex;

namespace {

std::atomic<bool> g_interrupt{false};

// Signals are blocked in every thread and taken here, so the run unwinds
// on its own thread and every RAII guard runs.
void start_signal_thread() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    for (int n = 0;; ++n) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      g_interrupt = true;
      std::fprintf(stderr, n == 0 ? "\nreflex-sim: %s: stopping and cleaning up (namespaces, guard, daemon)...\n"
                                  : "\nreflex-sim: %s: still cleaning up, one moment...\n",
                   strsignal(sig));
    }
  }).detach();
}

std::string self_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

std::string default_reflexd() {
  for (const auto& p : {self_dir() + "/../reflexd/reflexd", self_dir() + "/reflexd"})
    if (access(p.c_str(), X_OK) == 0) return fs::weakly_canonical(p).string();
  return "/usr/sbin/reflexd";
}

std::string default_policies() {
#ifdef REFLEX_SOURCE_DIR
  if (fs::exists(std::string(REFLEX_SOURCE_DIR) + "/policies")) return std::string(REFLEX_SOURCE_DIR) + "/policies";
#endif
  return "/etc/reflex/policies";
}

std::string default_report_dir(const std::string& scenario) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return "reflex-sim-" + scenario + "-" + stamp;
}

int cmd_check(const std::vector<std::string>& files) {
  int bad = 0;
  for (const auto& f : files) {
    if (sim::fleet::looks_like_fleet_scenario(f)) {  // `reflex-sim fleet`'s
      auto r = sim::fleet::load_fleet_scenario(f);
      if (!r.ok()) {
        std::cerr << r.errors();
        ++bad;
      } else {
        std::cout << f << ": ok (fleet " << r.scenario->name << ", " << r.scenario->nodes << " nodes)\n";
      }
      continue;
    }
    auto s = sim::load_scenario(f);
    if (!s) {
      std::cerr << s.error().what << "\n" << s.error().hint << "\n";
      ++bad;
    } else {
      std::cout << f << ": ok (" << s->name << ", " << s->traffic.size() << " traffic groups)\n";
    }
  }
  return bad ? 1 : 0;
}

struct RunArgs {
  std::string scenario;
  std::string report;
  int runs = 1;
  std::vector<std::string> nodes;
  std::string reflexd, policies, pin_root;
  bool quiet = false, check = false;
};

int cmd_run(RunArgs a) {
  auto sc = sim::load_scenario(a.scenario);
  if (!sc) {
    std::cerr << sc.error().what << "\n" << sc.error().hint << "\n";
    return 2;
  }
  std::vector<sim::NodeKind> kinds;
  for (const auto& n : a.nodes) {
    auto k = sim::parse_node_kind(n);
    if (!k) {
      std::cerr << "reflex-sim: unknown node kind " << n << " (reflex, none or threshold)\n";
      return 2;
    }
    kinds.push_back(*k);
  }
  if (kinds.empty()) kinds = {sim::NodeKind::reflex, sim::NodeKind::none, sim::NodeKind::threshold};
  if (a.reflexd.empty()) a.reflexd = default_reflexd();
  if (a.policies.empty()) a.policies = default_policies();
  const bool custom_pins = !a.pin_root.empty();
  if (!custom_pins) a.pin_root = "/sys/fs/bpf/reflex-sim-" + std::to_string(getpid());

  std::error_code ec;
  const bool made_pins = fs::create_directories(a.pin_root, ec);  // fails without root: preflight says why
  if (auto why = cmd::preflight(a.pin_root, kinds, a.reflexd); !why.empty()) {
    std::cerr << why;
    return 77;
  }
  if (a.report.empty()) a.report = default_report_dir(sc->name);
  fs::create_directories(a.report, ec);
  if (ec) {
    std::cerr << "reflex-sim: cannot create the report folder " << a.report << ": " << ec.message() << "\n";
    return 2;
  }
  start_signal_thread();

  sim::Report report;
  report.scenario = &*sc;
  report.host = cmd::host_description();
  cmd::LiveView view(a.quiet);
  view.banner(*sc, kinds, a.runs, a.report);
  for (auto kind : kinds) {
    sim::NodeRuns nr;
    nr.node = kind;
    for (int i = 0; i < a.runs && !g_interrupt; ++i) {
      sim::RunOptions o;
      o.node = kind;
      o.run_index = i;
      o.pin_root = a.pin_root + "/" + std::string(sim::to_string(kind)) + "-" + std::to_string(i);
      o.work_dir = a.report + "/runs/" + std::string(sim::to_string(kind)) + "-" + std::to_string(i + 1);
      fs::create_directories(o.work_dir, ec);
      fs::create_directories(o.pin_root, ec);
      o.reflexd = a.reflexd;
      o.policies = a.policies;
      o.interrupt = &g_interrupt;
      view.start_run(kind, i, a.runs);
      auto data = sim::run_scenario(*sc, o, &view);
      fs::remove_all(o.pin_root, ec);
      auto m = sim::compute_metrics(data);
      view.end_run(data, m);
      nr.runs.push_back(std::move(data));
      nr.metrics.push_back(m);
    }
    report.nodes.push_back(std::move(nr));
    if (g_interrupt) break;
  }
  if (!custom_pins || made_pins) fs::remove_all(a.pin_root, ec);
  int rc = 0;
  if (auto st = sim::write_report(report, a.report); !st) {
    std::cerr << "reflex-sim: " << st.error().message() << "\n";
    rc = 1;
  }
  view.summary(report, a.report);
  for (const auto& n : report.nodes)
    for (const auto& d : n.runs)
      if (!d.error.empty()) rc = 1;
  if (g_interrupt) return 130;
  if (a.check)
    for (const auto& c : sim::check_expectations(report))
      if (!c.pass) rc = rc ? rc : 3;
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflex-sim: scenarios against a node in real network namespaces, with a report"};
  app.set_version_flag("--version", "reflex-sim 0.1");
  app.require_subcommand(1);
  RunArgs ra;
  auto* run = app.add_subcommand("run", "run one scenario and write its report");
  run->add_option("scenario", ra.scenario, "a scenario file (sim/scenarios/*.yaml)")->required();
  run->add_option("--report", ra.report, "folder for report.json, timeline.svg/png, report.html (default: a new one)");
  run->add_option("--runs", ra.runs, "repeat each node's run N times; the report gives percentiles")
      ->check(CLI::Range(1, 1000));
  run->add_option("--node", ra.nodes, "node kinds, in order (default: reflex none threshold); the first is under test")
      ->check(CLI::IsMember({"reflex", "none", "threshold"}));
  run->add_option("--reflexd", ra.reflexd, "the reflexd executable (default: next to reflex-sim in the build)");
  run->add_option("--policies", ra.policies, "policy folder for reflexd (default: the repository's policies/)");
  run->add_option("--pin-root", ra.pin_root, "bpffs folder for the guard's pins (default: a private one, removed)");
  run->add_flag("--quiet", ra.quiet, "no live timeline; the summary only");
  run->add_flag("--check", ra.check, "exit 3 when the node under test misses one of the scenario's targets");
  std::vector<std::string> check_files;
  auto* check = app.add_subcommand("check", "validate scenario files");
  check->add_option("files", check_files, "scenario files")->required();
  sim::fleet::FleetCommand fa;
  auto* fleet = app.add_subcommand("fleet", "a fleet of simulated nodes on reflexd's own loop, in virtual time "
                                            "(cooperation on and off; docs/fleet.md)");
  sim::fleet::add_fleet_options(*fleet, fa);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*check) return cmd_check(check_files);
  if (*fleet) return sim::fleet::run_fleet_command(fa);
  return cmd_run(ra);
}
