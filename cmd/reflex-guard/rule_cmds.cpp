// load, unload, rules, replace: the commands that manage guards and whole rule sets.
#include "cli.h"
#include "guard/rule_text.h"

#include <boost/json.hpp>

#include <cstdio>
#include <iostream>

namespace reflex::guard::cli {

int cmd_load(const Context& ctx, const std::string& iface, const std::string& mode_name) {
  auto mode = parse_load_mode(mode_name);
  if (!mode) return fail(make_error("unknown mode '" + mode_name + "'", "use auto, native, generic or tc"));
  auto g = Guard::load(iface, *mode, ctx.opts);
  if (!g) return fail(g.error());
  auto link = g->link();
  std::printf("%s: guard loaded in %s mode (link %u, program %u), pinned at %s\n", iface.c_str(),
              std::string(to_string(g->mode())).c_str(), link ? link->link_id : 0, link ? link->prog_id : 0,
              g->pin_dir().c_str());
  return 0;
}

int cmd_unload(const Context& ctx, const std::string& iface) {
  if (auto s = Guard::unload(iface, ctx.opts); !s) return fail(s.error());
  std::printf("%s: guard unloaded\n", iface.c_str());
  return 0;
}

int cmd_replace(const Context& ctx, const std::string& file) {
  auto rules = read_rules_file(file, boottime_ns());
  if (!rules) return fail(rules.error());
  auto guards = open_targets(ctx);
  if (!guards) return fail(guards.error());
  auto describe = [&](const InstallReport& rep) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "replaced rule set from %s: v%llu, %zu rules, swapped in %.1f ms", file.c_str(),
                  static_cast<unsigned long long>(rep.version), rep.rules, rep.install_ms);
    return std::string(buf);
  };
  // One interface, the usual case: compiled straight into its next
  // generation's maps (Guard::replace), so the tables are neither built on
  // the heap nor copied (for a million rules, ~150 MB of each).
  if (guards->size() == 1) {
    Guard& g = guards->front();
    auto rep = g.replace(*rules);
    if (!rep) return fail(rep.error());
    std::printf("%s: %s\n", g.key().c_str(), describe(*rep).c_str());
    return 0;
  }
  // Several: compiled once; a rule set that does not compile changes nothing anywhere.
  auto compiled = compile_rules(*rules, boottime_ns(), CompileOptions{0, ctx.opts.max_rules});
  if (!compiled) return fail(compiled.error());
  return install_all(*guards, *compiled, describe);
}

int cmd_rules(const Context& ctx) {
  auto targets = target_interfaces(ctx);
  if (!targets) return fail(targets.error());
  std::uint64_t now = boottime_ns();
  boost::json::array out;
  for (const auto& ifc : *targets) {
    auto g = Guard::open(ifc, ctx.opts);
    if (!g) return fail(g.error());
    auto stats = g->rule_stats();
    if (!stats) return fail(stats.error());
    if (ctx.json) {
      boost::json::array rules;
      for (const auto& s : *stats) {
        boost::json::object o;
        o["prefix"] = s.rule.prefix.to_string();
        o["action"] = std::string(to_string(s.rule.action));
        if (s.rule.l4.proto) o["proto"] = proto_name(*s.rule.l4.proto);
        if (s.rule.l4.port) o["port"] = *s.rule.l4.port;
        if (s.rule.action == RuleAction::rate_limit) {
          o["pps"] = s.rule.pps;
          o["burst"] = effective_burst(s.rule);
        }
        if (s.rule.expires_ns)
          o["ttl_s"] = s.rule.expires_ns > now ? (s.rule.expires_ns - now) / 1'000'000'000ull : 0;
        o["expired"] = s.rule.expires_ns && s.rule.expires_ns <= now;
        o["packets"] = s.packets;
        o["bytes"] = s.bytes;
        o["line"] = format_rule(s.rule, now);
        rules.push_back(std::move(o));
      }
      out.push_back(boost::json::object{{"interface", ifc},
                                        {"version", g->active_meta().version},
                                        {"rules", std::move(rules)}});
      continue;
    }
    // The text form is itself a rules file (counters are comments), so
    // `reflex-guard rules > saved && reflex-guard replace --file saved` round-trips.
    std::printf("# %s: rule set v%llu, %zu rules\n", ifc.c_str(),
                static_cast<unsigned long long>(g->active_meta().version), stats->size());
    for (const auto& s : *stats) {
      std::string line = format_rule(s.rule, now);
      bool expired = s.rule.expires_ns && s.rule.expires_ns <= now;
      std::printf("%-48s # %llu pkts, %s%s\n", expired ? ("# " + line).c_str() : line.c_str(),
                  static_cast<unsigned long long>(s.packets), human_bytes(s.bytes).c_str(),
                  expired ? ", expired" : "");
    }
  }
  if (ctx.json) std::cout << boost::json::serialize(out) << "\n";
  return 0;
}

}  // namespace reflex::guard::cli
