// reflexctl: the operator's command line over reflexd's REST API, in the
// style of cilium and kubectl. It finds the daemon at --server (or
// REFLEX_SERVER; by default its Unix socket) and reads the API token from
// --token-file for the calls that change something. `doctor` and
// `policy check` need no daemon.

#include "api/auth.h"
#include "cmd/reflexctl/commands.h"
#include "cmd/reflexctl/doctor.h"
#include "daemon/config.h"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>

using namespace reflex;
using namespace reflex::ctl;

namespace {

std::string env_or(const char* name, std::string dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(dflt);
}

// Who the operator is, for the record: the user behind sudo if there is one.
std::string operator_name() {
  for (const char* var : {"SUDO_USER", "USER", "LOGNAME"})
    if (const char* v = std::getenv(var); v && *v) return v;
  return "";
}

std::string joined(int argc, char** argv) {
  std::string out = "reflexctl";
  for (int i = 1; i < argc; ++i) out += std::string(" ") + argv[i];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflexctl: inspect and steer reflexd"};
  app.require_subcommand(1);
  // --json, --server and the rest work after the subcommand too (`reflexctl status --json`).
  app.fallthrough();
  std::string server = env_or("REFLEX_SERVER", std::string(kDefaultServer));
  std::string token_file = env_or("REFLEX_TOKEN_FILE", daemon::kDefaultTokenFile);
  unsigned timeout_ms = 5000;
  Context ctx;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  ctx.command_line = joined(argc, argv);
  app.add_option("-s,--server", server, "where reflexd listens: unix:///PATH or http://ADDR:PORT (env REFLEX_SERVER)")
      ->capture_default_str();
  app.add_option("--token-file", token_file, "the API token, for calls that change something (env REFLEX_TOKEN_FILE)")
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "give up on the daemon after this long")->capture_default_str();
  app.add_flag("-o,--json", ctx.json, "print the daemon's JSON instead of tables");

  bool needs_token = false;
  auto mutating = [&](CLI::App* c) { c->preparse_callback([&](std::size_t) { needs_token = true; }); };

  auto* status = app.add_subcommand("status", "the loop: phase, last tick, interfaces, rules, shapes, overrides");

  std::string kind, iface, status_filter;
  unsigned limit = 50;
  auto* symptoms = app.add_subcommand("symptoms", "active symptoms and recent transitions");
  symptoms->add_option("--kind", kind, "flood, latency_high, drop_rate_high, map_pressure, ...");
  symptoms->add_option("--iface", iface);
  symptoms->add_option("--limit", limit)->capture_default_str();

  auto* actions = app.add_subcommand("actions", "recent actions and their outcomes");
  actions->add_option("--kind", kind, "block, rate_limit, shape, ...");
  actions->add_option("--status", status_filter, "pending, applied, verified, failed, rolled_back, expired, ...");
  actions->add_option("--iface", iface);
  actions->add_option("--limit", limit)->capture_default_str();

  FlowArgs flow_args;
  auto* flows = app.add_subcommand("flows", "sampled flows the guard dropped, limited or shadowed");
  flows->add_option("--iface", flow_args.iface);
  flows->add_option("--src", flow_args.src, "sources inside this prefix");
  flows->add_option("--proto", flow_args.proto, "tcp, udp, icmp, icmpv6 or a number");
  flows->add_option("--port", flow_args.port, "destination port");
  flows->add_option("--verdict", flow_args.verdict, "drop, rate_limited or shadow");
  flows->add_option("--limit", flow_args.limit)->capture_default_str();
  flows->add_flag("--raw", flow_args.raw, "each sample, newest first, instead of flows");

  HistoryArgs hist;
  auto* history = app.add_subcommand("history", "the daemon's record: plans, actions, outcomes, overrides, ...");
  history->add_option("--since", hist.since, "RFC 3339, Unix seconds, or a duration ago (15m)");
  history->add_option("--until", hist.until);
  history->add_option("--kind", hist.kind, "symptom, plan, action, outcome, override, policy, attach, daemon, ...");
  history->add_option("--subject", hist.subject, "exact, or a prefix ending in *");
  history->add_option("--limit", hist.limit, "records a page")->capture_default_str();
  history->add_flag("--all", hist.all, "follow the pages to the end");

  OverrideArgs ov;
  auto add_common = [&](CLI::App* c, bool ttl_required) {
    auto* t = c->add_option("--ttl", ov.ttl, "how long it stays (90s, 10m, 1h30m)");
    if (ttl_required) t->required();
    c->add_option("--reason", ov.reason, "why (recorded; default: the command line)");
    c->add_option("--who", ov.who, "who asks (recorded; default: $SUDO_USER or $USER)");
    c->add_option("--id", ov.id, "an id of your choosing (default: the daemon assigns one)");
    mutating(c);
  };
  auto* block = app.add_subcommand(
      "block", "drop traffic from PREFIX (or every prefix in --file LIST, as one atomic change) for a while");
  auto* block_prefix = block->add_option("PREFIX", ov.prefix);
  auto* block_file = block->add_option(
      "--file", ov.file,
      "a list: one prefix a line, # comments, blank lines skipped; up to 100000, all or none applied");
  block_prefix->excludes(block_file);
  block_file->excludes(block_prefix);
  block->callback([&] {
    if (ov.prefix.empty() && ov.file.empty()) throw CLI::RequiredError("PREFIX or --file LIST");
  });
  block->add_option("--iface", ov.iface, "one interface (default: every guarded one)");
  block->add_option("--proto", ov.proto, "only this protocol");
  block->add_option("--port", ov.port, "only this destination port");
  add_common(block, true);

  auto* unblock = app.add_subcommand(
      "unblock", "lift your block on PREFIX, or (if the planner made it) lift the planner's for --ttl (default 1h)");
  auto* unblock_prefix = unblock->add_option("PREFIX", ov.prefix);
  auto* unblock_file = unblock->add_option(
      "--file", ov.file, "lift every prefix in LIST (as block --file reads it) as one change, for --ttl (default 1h)");
  unblock_prefix->excludes(unblock_file);
  unblock_file->excludes(unblock_prefix);
  unblock->callback([&] {
    if (ov.prefix.empty() && ov.file.empty()) throw CLI::RequiredError("PREFIX or --file LIST");
  });
  unblock->add_option("--iface", ov.iface);
  add_common(unblock, false);

  auto* limit_cmd = app.add_subcommand("limit", "rate-limit each source address in PREFIX");
  limit_cmd->add_option("PREFIX", ov.prefix)->required();
  limit_cmd->add_option("--pps", ov.pps, "packets per second per source")->required();
  limit_cmd->add_option("--burst", ov.burst, "packets above the rate allowed at once");
  limit_cmd->add_option("--iface", ov.iface);
  limit_cmd->add_option("--proto", ov.proto);
  limit_cmd->add_option("--port", ov.port);
  add_common(limit_cmd, true);

  auto* shape = app.add_subcommand("shape", "shape an interface's traffic (or one prefix's) to RATE");
  shape->add_option("--iface", ov.iface)->required();
  shape->add_option("--rate", ov.rate, "10mbit, 1.5gbit, 64kbit")->required();
  shape->add_option("--prefix", ov.prefix, "only traffic of this prefix");
  shape->add_option("--burst", ov.burst, "bytes (64KiB)");
  add_common(shape, true);

  auto* pause = app.add_subcommand("pause", "stop the loop acting (it keeps watching) for --ttl (default 1h)");
  add_common(pause, false);
  std::string resume_who;
  auto* resume = app.add_subcommand("resume", "end a pause");
  resume->add_option("--who", resume_who);
  mutating(resume);

  auto* override_cmd = app.add_subcommand("override", "overrides: list, add, rm");
  override_cmd->require_subcommand(1);
  auto* ov_list = override_cmd->add_subcommand("list", "overrides in force, and whether each matched anything");
  std::string json_body;
  auto* ov_add = override_cmd->add_subcommand(
      "add", "add one: --kind forbid --action block --prefix P --ttl 1h, --kind pin --action block --prefix P, ...");
  ov_add->add_option("--kind", ov.kind, "pause, forbid, pin, block, unblock, shadow, limit, shape, attach_mode");
  ov_add->add_option("--action", ov.action, "forbid: the action kind (block, rate_limit, shape, *); pin: the action");
  ov_add->add_option("--prefix", ov.prefix);
  ov_add->add_option("--iface", ov.iface);
  ov_add->add_option("--proto", ov.proto);
  ov_add->add_option("--port", ov.port);
  ov_add->add_option("--pps", ov.pps);
  ov_add->add_option("--rate", ov.rate);
  ov_add->add_option("--burst", ov.burst);
  ov_add->add_option("--mode", ov.mode, "attach_mode: native, generic or tc");
  ov_add->add_option("--json-body", json_body, "the whole body, as POST /v1/overrides takes it");
  add_common(ov_add, false);
  std::vector<std::string> rm_ids;
  std::string rm_who;
  auto* ov_rm = override_cmd->add_subcommand("rm", "remove overrides by id");
  ov_rm->add_option("ID", rm_ids)->required();
  ov_rm->add_option("--who", rm_who);
  mutating(ov_rm);

  auto* policy = app.add_subcommand("policy", "policies: show, check, reload");
  policy->require_subcommand(1);
  auto* pol_show = policy->add_subcommand("show", "the policy set in force and the last rejection");
  std::string check_dir = daemon::kDefaultPolicies;
  auto* pol_check = policy->add_subcommand("check", "validate a policy folder here, without the daemon");
  pol_check->add_option("DIR", check_dir)->capture_default_str();
  std::string reload_reason;
  auto* pol_reload = policy->add_subcommand("reload", "make the daemon reload its policy folder now");
  pol_reload->add_option("--reason", reload_reason);
  mutating(pol_reload);

  DoctorOptions doc;
  std::string config_path = daemon::kDefaultConfigPath;
  auto* doctor = app.add_subcommand("doctor", "check this machine for what reflexd needs, with the fixes");
  doctor->add_option("--iface", doc.ifaces, "probe attach modes on IF (or IF@NETNS); default: the config's");
  doctor->add_option("--config", config_path, "the daemon's config, for its interfaces")->capture_default_str();
  doctor->add_flag("!--no-attach", doc.attach, "do not attach probe programs to real interfaces");
  doctor->add_flag("!--no-veth", doc.veth, "skip the throwaway veth pair");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (or the help); every usage mistake exits 2,
    // whatever CLI11's own code for it, so scripts can tell it apart.
    const int code = app.exit(e);
    return code == 0 ? kOk : kUsage;
  }

  if (doctor->parsed()) {
    if (doc.ifaces.empty() && std::filesystem::exists(config_path)) {
      auto cfg = daemon::load_config_file(config_path);
      if (cfg.ok())
        for (const auto& i : cfg.config->interfaces) doc.ifaces.push_back(i.key);
      doc.pin_root = cfg.ok() ? cfg.config->pin_root : doc.pin_root;
    }
    return print_doctor(run_doctor(doc), ctx.json, std::cout);
  }
  if (pol_check->parsed()) return cmd_policy_check(ctx, check_dir);

  auto address = parse_server(server);
  if (!address) {
    fail(ctx, address.error());
    return kUsage;
  }
  std::string token;
  if (needs_token) {
    auto t = api::read_token_file(token_file);
    if (!t) {
      std::cerr << "reflexctl: " << t.error().what << "\n  " << t.error().hint << "\n";
      return kUsage;
    }
    token = std::move(*t);
  }
  ctx.client.emplace(*address, token, std::chrono::milliseconds(timeout_ms));
  ctx.client->set_token_source(token_file);
  if (ov.who.empty()) ov.who = operator_name();

  if (status->parsed()) return cmd_status(ctx);
  if (symptoms->parsed()) return cmd_symptoms(ctx, kind, iface, limit);
  if (actions->parsed()) return cmd_actions(ctx, kind, status_filter, iface, limit);
  if (flows->parsed()) return cmd_flows(ctx, flow_args);
  if (history->parsed()) return cmd_history(ctx, hist);
  if (block->parsed()) {
    ov.kind = "block";
    return ov.file.empty() ? cmd_add_override(ctx, ov) : cmd_list_file(ctx, ov);
  }
  if (unblock->parsed()) {
    if (ov.file.empty()) return cmd_unblock(ctx, ov);
    ov.kind = "unblock";
    if (ov.ttl.empty()) ov.ttl = "1h";
    return cmd_list_file(ctx, ov);
  }
  if (limit_cmd->parsed()) {
    ov.kind = "limit";
    return cmd_add_override(ctx, ov);
  }
  if (shape->parsed()) {
    ov.kind = "shape";
    return cmd_add_override(ctx, ov);
  }
  if (pause->parsed()) {
    ov.kind = "pause";
    if (ov.ttl.empty()) ov.ttl = "1h";
    return cmd_add_override(ctx, ov);
  }
  if (resume->parsed()) return cmd_resume(ctx, resume_who.empty() ? operator_name() : resume_who);
  if (ov_list->parsed()) return cmd_override_list(ctx);
  if (ov_add->parsed()) {
    if (!json_body.empty()) return cmd_add_override_json(ctx, json_body);
    if (ov.kind.empty()) {
      std::cerr << "reflexctl: override add needs --kind (or --json-body)\n";
      return kUsage;
    }
    return cmd_add_override(ctx, ov);
  }
  if (ov_rm->parsed()) return cmd_override_rm(ctx, rm_ids, rm_who.empty() ? operator_name() : rm_who);
  if (pol_show->parsed()) return cmd_policy_show(ctx);
  if (pol_reload->parsed()) return cmd_policy_reload(ctx, reload_reason);
  return kUsage;
}
