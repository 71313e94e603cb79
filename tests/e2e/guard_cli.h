#pragma once
// reflex-guard as a test runs it: this process's private pin root, stdout
// and stderr captured. Built into each e2e suite with REFLEX_GUARD_BIN.

#include <string>
#include <vector>

namespace reflex::testing {

struct CliResult {
  int exit_code = 0;
  std::string out;  // stdout + stderr
};

// Runs reflex-guard with --pin-root set to this test process's private root.
// With timeout_s > 0 it is killed after that long (a lock held forever shows
// as a timeout, not a hung test).
CliResult guard_cli(const std::vector<std::string>& args, int timeout_s = 0);

}  // namespace reflex::testing
