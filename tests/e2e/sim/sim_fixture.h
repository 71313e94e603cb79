#pragma once
// Shared by the scenario e2e tests: a scenario from inline YAML, a run
// against a node kind with a private pin root, and the check that the run
// left nothing behind.
#include "sim/run_data.h"
#include "sim/scenario.h"

#include <string>

namespace reflex::sim::testing {

Scenario scenario_from(const std::string& yaml);
RunData run_on(const Scenario& s, NodeKind node);
// Namespaces whose name carries pid (unique_name's shape), and the pin
// folders left under root.
std::vector<std::string> leftover_namespaces(int pid);
std::vector<std::string> leftover_pins(const std::string& root);
std::string scratch_dir(const std::string& name);  // a fresh folder under /tmp, removed at exit

}  // namespace reflex::sim::testing
