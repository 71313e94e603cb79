// `reflexd check-policy PATH`: validate a policy file or folder, like
// `nginx -t` or `promtool check rules`. Findings go to stderr as
// file:line:col: error|warning: field: message (hint); the summary to stdout.

#include "cmd/reflexd/policy_commands.h"
#include "cmd/reflexd/subcommand.h"
#include "plan/policy_loader.h"

#include <iostream>

namespace reflex::cmd {

int check_policy(const std::string& path, const CheckOptions& opts) {
  auto report = plan::load_policy_path(path);
  for (const auto& d : report.diagnostics) std::cerr << d.to_string() << "\n";
  const int errors = report.errors(), warnings = report.warnings();
  bool failed = errors > 0 || (opts.werror && warnings > 0);
  if (!opts.quiet) {
    if (report.ok())
      std::cout << path << ": " << (failed ? "FAILED" : "OK") << ": " << report.policy->rules.size() << " rule(s) in "
                << report.policy->files.size() << " file(s), " << warnings << " warning(s)"
                << (report.policy->global.mode == plan::Mode::dry_run ? ", global mode dry_run" : "") << "\n";
    else
      std::cout << path << ": FAILED: " << errors << " error(s), " << warnings
                << " warning(s); the set would be rejected and the last good set kept\n";
  }
  return failed ? 1 : 0;
}

namespace {

const RegisterSubcommand kRegister{"check-policy", [](CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("check-policy", "validate a policy file or folder; non-zero exit on error");
  auto path = std::make_shared<std::string>();
  auto opts = std::make_shared<CheckOptions>();
  sub->add_option("path", *path, "policy file or folder (e.g. /etc/reflex/policies)")->required();
  sub->add_flag("-q,--quiet", opts->quiet, "print findings only, no summary");
  sub->add_flag("--werror", opts->werror, "treat warnings as errors");
  sub->callback([&exit_code, path, opts] { exit_code = check_policy(*path, *opts); });
}};

}  // namespace
}  // namespace reflex::cmd
