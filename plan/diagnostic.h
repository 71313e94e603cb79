#pragma once
// A finding about a policy file, in the compiler style operators already read:
//   policies/10-flood.yaml:14:9: error: rules[flood-host].then[1].pps: expected a
//   positive integer (packets per second), got "lots" (write e.g. `pps: 5000`)

#include "plan/policy.h"

#include <string>
#include <vector>

namespace reflex::plan {

struct Diagnostic {
  enum class Level { error, warning };
  Level level = Level::error;
  SourceLoc loc;
  std::string field;    // dotted path of the field, "rules[flood-host].when.min_score"
  std::string message;  // what was expected and what was found
  std::string hint;     // how to fix it (may be empty)
  std::string to_string() const;
};

struct LoadReport {
  std::optional<PolicySet> policy;  // set only if there is no error
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return policy.has_value(); }
  int errors() const;
  int warnings() const;
  std::string first_error() const;  // empty when there is none
};

}  // namespace reflex::plan
