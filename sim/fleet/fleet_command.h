#pragma once
// `reflex-sim fleet SCENARIO.yaml --report DIR`: runs a fleet scenario with
// cooperation on and off on the same traffic, every node on the daemon's own
// Loop in virtual time, and writes the report. add_fleet_command() registers
// it on reflex-sim's command line; reflex-sim-fleet is the same command alone.

#include <CLI/CLI.hpp>

#include <string>

namespace reflex::sim::fleet {

struct FleetCommand {
  std::string scenario, report, policies;
  std::string coop = "both";  // both, on, off
  int threads = 2;
  int trace = -1;
  int slices = 0;  // seconds of simulated time per cost slice (0: none)
  bool quiet = false, verbose = false;
};

// Adds the options to `cmd` (a subcommand, or the app itself).
void add_fleet_options(CLI::App& cmd, FleetCommand& args);
// 0: ran and every expectation held; 1: an expectation failed; 2: could not run.
int run_fleet_command(const FleetCommand& args);

}  // namespace reflex::sim::fleet
