#pragma once
// Loads policies/*.yaml into a PolicySet. A set with any error is rejected as a
// whole (LoadReport::policy stays empty), so a half-valid edit never reaches the
// planner; warnings (lint.h) never reject.

#include "common/result.h"
#include "plan/diagnostic.h"
#include "plan/policy.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace reflex::plan {

struct PolicySource {
  std::string name;  // file name used in diagnostics
  std::string text;
};

// A file, or a folder whose *.yaml / *.yml files (not hidden, not editor
// backups, not in sub-folders) are read in name order as one set.
LoadReport load_policy_path(const std::filesystem::path& path);

// The pure core: parses, validates, resolves defaults and lints texts already
// read. Deterministic and free of I/O (the fuzzer drives this).
LoadReport load_policy_sources(const std::vector<PolicySource>& sources);

// The files load_policy_path would read for a folder, sorted.
std::vector<std::filesystem::path> policy_files_in(const std::filesystem::path& dir);
bool is_policy_file_name(const std::string& name);

// Convenience for callers that only want the set or the first error.
Result<PolicySet> load_policy_set(const std::filesystem::path& path);

}  // namespace reflex::plan
