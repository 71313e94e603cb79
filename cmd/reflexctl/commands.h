#pragma once
// reflexctl's commands: each asks the daemon over its REST API and prints a
// table for people, or the daemon's JSON as it came with --json. Each returns
// the process's exit code (exit_codes below) and prints errors to stderr with
// the fix.

#include "cmd/reflexctl/client.h"

#include <boost/json/object.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace reflex::ctl {

// 0: done; 1: the daemon refused or failed the request; 2: usage (CLI11's);
// 3: the daemon could not be reached.
enum ExitCode { kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3 };

struct Context {
  std::optional<Client> client;  // set once the options are read
  bool json = false;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::string command_line;  // "reflexctl block 10.0.0.0/8 --ttl 10m": the default reason
};

int cmd_status(Context& ctx);
int cmd_symptoms(Context& ctx, const std::string& kind, const std::string& iface, unsigned limit);
int cmd_actions(Context& ctx, const std::string& kind, const std::string& status, const std::string& iface,
                unsigned limit);
struct FlowArgs {
  std::string iface, src, proto, verdict;
  unsigned port = 0, limit = 50;
  bool raw = false;
};
int cmd_flows(Context& ctx, const FlowArgs& a);
struct HistoryArgs {
  std::string since, until, kind, subject;
  unsigned limit = 50;
  bool all = false;  // follow the pages to the end
};
int cmd_history(Context& ctx, const HistoryArgs& a);

// Overrides. Each posts a body (api/override_request.h has its shape).
struct OverrideArgs {
  std::string kind;  // block, unblock, shadow, limit, shape, pause, forbid, pin
  std::string prefix, iface, proto, ttl, reason, who, id, rate, burst, action, mode;
  std::string file;  // block --file: a prefix list (cmd/reflexctl/prefix_file.h)
  unsigned port = 0;
  std::uint64_t pps = 0;
};
boost::json::object override_body(const OverrideArgs& a, const std::string& default_reason);
int cmd_add_override(Context& ctx, const OverrideArgs& a);
// block|unblock --file LIST: the file's prefixes as one override of a.kind
// (one RuleBatch; unblock's is the remove form, for rules a removed or
// forgotten list left); a bad line is named LIST:LINE and nothing is sent.
int cmd_list_file(Context& ctx, const OverrideArgs& a);
int cmd_add_override_json(Context& ctx, const std::string& json_text);
// unblock: removes the manual overrides on the prefix; if a rule the planner
// put there remains, adds a manual unblock for `ttl`.
int cmd_unblock(Context& ctx, const OverrideArgs& a);
int cmd_resume(Context& ctx, const std::string& who);
int cmd_override_list(Context& ctx);
int cmd_override_rm(Context& ctx, const std::vector<std::string>& ids, const std::string& who);

int cmd_policy_reload(Context& ctx, const std::string& reason);
int cmd_policy_show(Context& ctx);
// Local: loads a policy folder the way the daemon would (no daemon needed).
int cmd_policy_check(Context& ctx, const std::string& dir);

// An Error printed for people: "reflexctl: what\n  hint\n".
int fail(Context& ctx, const Error& e);

}  // namespace reflex::ctl
