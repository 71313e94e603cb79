#include "sim/fleet/fleet_command.h"

#include "plan/policy_loader.h"
#include "sim/fleet/fleet_report.h"
#include "sim/fleet/real_node_loop.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <future>
#include <iostream>

namespace reflex::sim::fleet {
namespace {

std::string default_policies() {
#ifdef REFLEX_SOURCE_DIR
  if (std::filesystem::exists(std::string(REFLEX_SOURCE_DIR) + "/policies"))
    return std::string(REFLEX_SOURCE_DIR) + "/policies";
#endif
  return "/etc/reflex/policies";
}

}  // namespace

void add_fleet_options(CLI::App& cmd, FleetCommand& a) {
  cmd.add_option("scenario", a.scenario, "the fleet scenario (sim/scenarios/fleet-*.yaml)")->required();
  cmd.add_option("--report", a.report, "write report.json and timeline.svg here");
  cmd.add_option("--policies", a.policies, "policy folder (default: the scenario's, else the repository's policies/)");
  cmd.add_option("--coop", a.coop, "run cooperation on, off, or both on the same traffic")
      ->check(CLI::IsMember({"both", "on", "off"}));
  cmd.add_option("--threads", a.threads, "threads (the two runs of `both` share them)")->check(CLI::Range(1, 256));
  cmd.add_option("--trace", a.trace, "print node N's actions and outcomes as they happen");
  cmd.add_option("--slices", a.slices, "print the cost per node-tick of every SECONDS of simulated time (stderr)");
  cmd.add_flag("--quiet", a.quiet, "print nothing but errors");
  cmd.add_flag("--verbose", a.verbose, "log every loop's actions (as reflexd does); with --slices, what the nodes hold per slice");
}

int run_fleet_command(const FleetCommand& a) {
  // A thousand loops saying what they did is the report's job, not the log's.
  spdlog::set_level(a.verbose ? spdlog::level::info : spdlog::level::warn);
  auto rep = load_fleet_scenario(a.scenario);
  if (!rep.ok()) {
    std::cerr << rep.errors();
    return 2;
  }
  const FleetScenario& s = *rep.scenario;
  const std::string pdir = !a.policies.empty() ? a.policies : !s.policies.empty() ? s.policies : default_policies();
  auto policies = plan::load_policy_set(pdir);
  if (!policies) {
    std::cerr << "reflex-sim fleet: policies " << pdir << ": " << policies.error().message() << "\n";
    return 2;
  }
  RealLoopOptions lo;
  lo.iface = kSimIface;
  lo.tick_ns = s.tick;
  lo.policies = std::make_shared<const plan::PolicySet>(std::move(*policies));

  std::vector<bool> modes;
  if (a.coop != "off") modes.push_back(true);
  if (a.coop != "on") modes.push_back(false);
  const int per_run = std::max(1, a.threads / static_cast<int>(modes.size()));
  std::vector<std::future<FleetRun>> futures;
  for (bool coop : modes) {
    RunOptions ro;
    ro.coop = coop;
    ro.threads = per_run;
    ro.trace_node = a.trace;
    ro.slice_s = a.slices;
    ro.slice_counts = a.verbose;
    ro.loop = real_loop_factory(lo);
    // Both runs at once when there are threads for both.
    futures.push_back(std::async(a.threads >= 2 ? std::launch::async : std::launch::deferred,
                                 [&s, ro] { return run_fleet(s, ro); }));
  }
  std::vector<FleetRun> runs;
  for (auto& f : futures) runs.push_back(f.get());

  if (!a.report.empty())
    if (auto st = write_fleet_report(s, runs, a.report); !st) {
      std::cerr << "reflex-sim fleet: " << st.error().message() << "\n";
      return 2;
    }
  auto checks = check_expectations(s, runs);
  if (!a.quiet) {
    std::cout << s.name << ": " << s.nodes << " nodes, " << static_cast<double>(s.duration) / kNsPerSec << " s\n";
    for (const auto& r : runs) {
      const auto m = summarize(s, r);
      std::printf("  coop %-3s attack delivered %.0f of %.0f (moving %.0f), benign dropped %.0f, actions %llu, "
                  "verdicts sent %llu received %llu refused %llu acted on %llu, onset to drop p50 %.1f s "
                  "(%zu of %zu visits never dropped); wall %.2f s (%.2f us per node-tick)\n",
                  r.coop ? "on" : "off", m.attack_delivered, m.attack_packets, m.moving_delivered, m.benign_dropped,
                  static_cast<unsigned long long>(m.actions), static_cast<unsigned long long>(m.verdicts_sent),
                  static_cast<unsigned long long>(m.verdicts_received),
                  static_cast<unsigned long long>(m.verdicts_refused),
                  static_cast<unsigned long long>(m.verdicts_acted_on),
                  m.onset_to_drop_s.empty() ? 0.0 : [&] {
                    auto v = m.onset_to_drop_s;
                    std::sort(v.begin(), v.end());
                    return v[v.size() / 2];
                  }(),
                  m.visits_never_dropped, m.visits, r.wall_s,
                  r.node_ticks ? r.wall_s * 1e6 / static_cast<double>(r.node_ticks) : 0.0);
    }
    for (const auto& c : checks)
      std::printf("  expect %s <= %g: %s (%s)\n", c.metric.c_str(), c.max,
                  c.value ? std::to_string(*c.value).c_str() : "n/a", c.pass ? "pass" : "FAIL");
    if (!a.report.empty()) std::cout << "  report: " << a.report << "/report.json, " << a.report << "/timeline.svg\n";
  }
  for (const auto& c : checks)
    if (!c.pass) return 1;
  return 0;
}

}  // namespace reflex::sim::fleet
