// reflex-guard: the operator's tool for reflex's XDP guard.
#include "cli.h"
#include "common/log.h"
#include "guard/rule_text.h"

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace reflex::guard::cli {
int cmd_bench(const Context& ctx, const std::vector<std::string>& sizes, bool quick);
}

using namespace reflex;
using namespace reflex::guard;
using namespace reflex::guard::cli;

namespace {

Status enter_netns(const std::string& name) {
  std::string path = name.find('/') == std::string::npos ? "/run/netns/" + name : name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open network namespace " + path, errno, "list them with `ip netns list`");
  int rc = setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc < 0) return errno_error("enter network namespace " + path, err);
  return ok();
}

Result<GuardRule> rule_from_flags(const std::string& prefix, RuleAction action, const std::string& proto, int port,
                                  const std::string& ttl, std::uint32_t pps, std::uint32_t burst) {
  std::vector<std::string> words{prefix, std::string(to_string(action))};
  if (!proto.empty()) words.push_back("proto=" + proto);
  if (port) words.push_back("port=" + std::to_string(port));
  if (!ttl.empty()) words.push_back("ttl=" + ttl);
  if (pps) words.push_back("pps=" + std::to_string(pps));
  if (burst) words.push_back("burst=" + std::to_string(burst));
  return parse_rule_words(words, boottime_ns());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflex-guard: load reflex's XDP guard on interfaces and manage its rules"};
  app.require_subcommand(1);
  Context ctx;
  std::string netns, log_level = "warn";
  app.add_option("--netns", netns,
                 "the interfaces are in network namespace NAME (/run/netns/NAME); guards there are named IF@NAME");
  app.add_option("--pin-root", ctx.opts.pin_root, "where pins live")->capture_default_str()->group("");
  app.add_option("-v,--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  app.add_option("--max-rules", ctx.opts.max_rules, "refuse rule sets larger than this")->capture_default_str();

  std::string iface, mode = "auto", prefix, proto, ttl, file;
  int port = 0;
  std::uint32_t pps = 0, burst = 0;
  int sample = -1, timeout_s = 0;
  long count = -1;
  bool quick = false;
  std::vector<std::string> sizes;

  auto* load = app.add_subcommand("load", "load and attach the guard on IFACE (native -> generic -> tc with auto)");
  load->add_option("IFACE", iface)->required();
  load->add_option("--mode", mode, "auto|native|generic|tc")->capture_default_str();

  auto* unload = app.add_subcommand("unload", "detach the guard from IFACE and remove its pins");
  unload->add_option("IFACE", iface)->required();

  auto* status = app.add_subcommand("status", "guarded interfaces, modes, rule counts, counters");
  status->add_flag("--json", ctx.json);
  status->add_option("--iface", ctx.ifaces);

  // Every rule command takes a prefix, --iface and an L4 narrowing; adding ones also take --ttl.
  auto rule_command = [&](const char* name, const char* what, bool adds) {
    auto* c = app.add_subcommand(name, what);
    c->add_option("PREFIX", prefix, "address or prefix, IPv4 or IPv6")->required();
    c->add_option("--iface", ctx.ifaces, "only on these interfaces (default: every guarded one)");
    c->add_option("--proto", proto, "narrow to an L4 protocol (tcp, udp, icmp, ...)");
    c->add_option("--port", port, "narrow to a destination port");
    if (adds) c->add_option("--ttl", ttl, "expire after this long (600, 10m, 2h); enforced by the datapath");
    return c;
  };
  auto* block = rule_command("block", "drop packets from PREFIX", true);
  auto* allow = rule_command("allow", "always pass packets from PREFIX (wins over every other rule)", true);
  auto* limit = rule_command("limit", "rate-limit each source address in PREFIX", true);
  limit->add_option("--pps", pps, "packets per second per source")->required();
  limit->add_option("--burst", burst, "bucket depth in packets (default pps/10)");
  auto* shadow = rule_command("shadow", "count what dropping PREFIX would drop, drop nothing", true);
  auto* unblock = rule_command("unblock", "remove the rules for PREFIX (all of them unless --proto/--port)", false);

  auto* rules = app.add_subcommand("rules", "list rules with their counters (the output is a valid rules file)");
  rules->add_flag("--json", ctx.json);
  rules->add_option("--iface", ctx.ifaces);

  auto* replace = app.add_subcommand("replace", "atomically replace the whole rule set from a file");
  replace->add_option("--file", file, "rules file: 'PREFIX ACTION [key=value ...]' per line")->required();
  replace->add_option("--iface", ctx.ifaces);

  auto* events = app.add_subcommand("events", "stream sampled drops (Ctrl-C to stop)");
  events->add_option("--iface", ctx.ifaces);
  events->add_option("--sample", sample, "sample 1 in N drops (0 stops events); default: leave as is");
  events->add_option("--count", count, "stop after N events");
  events->add_option("--timeout", timeout_s, "stop after S seconds");

  auto* bench = app.add_subcommand("bench", "per-packet cost (BPF_PROG_TEST_RUN) vs XDP_DROP and xdp-filter; swap time");
  bench->add_option("--sizes", sizes, "rule counts (default 1 1000 100000 1000000)");
  bench->add_flag("--quick", quick, "fewer repeats (for tests)");

  auto* demo = app.add_subcommand("demo", "guard a veth pair in throwaway namespaces: traffic, block, drops, cleanup");

  CLI11_PARSE(app, argc, argv);
  init_logging(log_level);

  if (!netns.empty()) {
    if (auto s = enter_netns(netns); !s) return fail(s.error());
    ctx.opts.netns = netns;
  }

  if (*load) return cmd_load(ctx, iface, mode);
  if (*unload) return cmd_unload(ctx, iface);
  if (*status) return cmd_status(ctx);
  if (*rules) return cmd_rules(ctx);
  if (*replace) return cmd_replace(ctx, file);
  if (*events) return cmd_events(ctx, sample, count, timeout_s);
  if (*bench) return cmd_bench(ctx, sizes, quick);
  if (*demo) return cmd_demo(ctx);

  for (auto [sub, action] : {std::pair{block, RuleAction::drop}, std::pair{allow, RuleAction::allow},
                             std::pair{limit, RuleAction::rate_limit}, std::pair{shadow, RuleAction::shadow}}) {
    if (!*sub) continue;
    auto rule = rule_from_flags(prefix, action, proto, port, ttl, pps, burst);
    if (!rule) return fail(rule.error());
    return apply_each(ctx, [&](Guard& g) { return g.upsert(*rule); }, format_rule(*rule, boottime_ns()));
  }
  if (*unblock) {
    auto p = Prefix::parse(prefix);
    if (!p) return fail(p.error());
    std::optional<std::uint8_t> want_proto;
    if (!proto.empty()) {
      want_proto = parse_proto(proto);
      if (!want_proto) return fail(make_error("unknown protocol '" + proto + "'", "use tcp, udp, icmp or 0-255"));
    }
    auto match = [&](const GuardRule& r) {
      return r.prefix == *p && (!want_proto || r.l4.proto == want_proto) && (!port || r.l4.port == port);
    };
    return apply_each(
        ctx, [&](Guard& g) { return g.remove(match); }, "removed rules for " + p->to_string(),
        [&](const Guard& g) -> Status {
          if (g.count_matching(match)) return ok();
          return make_error(g.key() + ": no rule for " + p->to_string() + " matches", "see `reflex-guard rules`");
        });
  }
  return 0;
}
