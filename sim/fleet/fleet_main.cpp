// reflex-sim-fleet: `reflex-sim fleet` on its own (the same options), for
// builds without the scenario runner.

#include "sim/fleet/fleet_command.h"

int main(int argc, char** argv) {
  CLI::App app{"reflex-sim fleet: a fleet of simulated nodes, each on reflexd's own loop, in virtual time"};
  reflex::sim::fleet::FleetCommand args;
  reflex::sim::fleet::add_fleet_options(app, args);
  CLI11_PARSE(app, argc, argv);
  return reflex::sim::fleet::run_fleet_command(args);
}
