#pragma once
// Before anything is built: does this process have what a scenario needs
// (root or the capabilities, bpffs, iproute2, the daemon)? The answer names
// each missing piece and the command that supplies it.

#include "sim/node_under_test.h"

#include <string>
#include <vector>

namespace reflex::cmd {

// Empty when the run can go ahead; otherwise the message to print.
std::string preflight(const std::string& pin_root, const std::vector<sim::NodeKind>& nodes, const std::string& reflexd);

// "AMD EPYC ..., 2 CPUs, Linux 6.18": for the reader of the figures.
std::string host_description();

}  // namespace reflex::cmd
