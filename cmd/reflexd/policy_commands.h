#pragma once
// Policy subcommands shared between `reflexd check-policy PATH` and the
// `reflexd --check-policy PATH` flag form (nginx -t style).

#include <string>
#include <vector>

namespace reflex::cmd {

struct CheckOptions {
  bool quiet = false;   // only findings, no summary
  bool werror = false;  // warnings fail the check too
};

// Prints findings to stderr and a one-line summary to stdout. 0: valid, 1: errors
// (or warnings with werror).
int check_policy(const std::string& path, const CheckOptions& opts);

}  // namespace reflex::cmd
