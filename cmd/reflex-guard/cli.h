#pragma once
// Shared pieces of the reflex-guard subcommands.

#include "common/result.h"
#include "guard/guard.h"

#include <functional>
#include <string>
#include <vector>

namespace reflex::guard::cli {

struct Context {
  GuardOptions opts;
  std::vector<std::string> ifaces;  // --iface; empty = every guarded interface
  bool json = false;
};

// Prints "reflex-guard: what (hint)" on stderr; returns the exit code 1.
int fail(const Error& e);

// Pin keys of --iface (bare names are in --netns), or of every guarded
// interface (in --netns, if given); may be empty.
std::vector<std::string> requested_interfaces(const Context& ctx);

// The interfaces a rule command applies to: --iface, or all guarded ones.
Result<std::vector<std::string>> target_interfaces(const Context& ctx);

// Opens the guard of every target interface, or fails without opening any.
Result<std::vector<Guard>> open_targets(const Context& ctx);

// Installs the set on every guard, printing "<iface>: describe(report)" per interface.
int install_all(std::vector<Guard>& guards, const CompiledRuleSet& set,
                const std::function<std::string(const InstallReport&)>& describe);

// Applies one change to every target interface, after `check` passed on all
// of them (so a change that cannot apply somewhere changes nothing anywhere).
int apply_each(const Context& ctx, const std::function<Result<UpdateReport>(Guard&)>& change, const std::string& what,
               const std::function<Status(const Guard&)>& check = {});

std::string human_bytes(std::uint64_t b);
std::string human_count(std::uint64_t n);

int cmd_load(const Context& ctx, const std::string& iface, const std::string& mode);
int cmd_unload(const Context& ctx, const std::string& iface);
int cmd_status(const Context& ctx);
int cmd_rules(const Context& ctx);
int cmd_replace(const Context& ctx, const std::string& file);
int cmd_events(const Context& ctx, int sample_every, long count, int timeout_s);
int cmd_demo(const Context& ctx);

}  // namespace reflex::guard::cli
