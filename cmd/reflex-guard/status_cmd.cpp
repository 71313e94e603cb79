// status: what is guarded, how, and what it has seen.
#include "cli.h"
#include "guard/events.h"

#include <boost/json.hpp>

#include <cstdio>
#include <iostream>
#include <net/if.h>

namespace reflex::guard::cli {

int cmd_status(const Context& ctx) {
  if (auto s = Guard::check_bpffs(ctx.opts); !s) return fail(s.error());
  auto ifaces = requested_interfaces(ctx);
  boost::json::array out;
  std::uint64_t now = boottime_ns();
  if (ifaces.empty() && !ctx.json) std::printf("no interface is guarded (reflex-guard load IFACE)\n");
  for (const auto& ifc : ifaces) {
    auto g = Guard::open(ifc, ctx.opts);
    if (!g) return fail(g.error());
    auto v = g->verdicts();
    if (!v) return fail(v.error());
    auto link = g->link();
    bool attached = link && link->attached;
    const auto& meta = g->active_meta();
    std::size_t rules = g->rule_count();
    double age_s = meta.installed_ns && now > meta.installed_ns ? (now - meta.installed_ns) / 1e9 : 0;
    const auto& c = g->ctl();
    if (ctx.json) {
      boost::json::object counters;
      for (std::uint32_t r = 0; r < GUARD_R_MAX; ++r) {
        auto name = reason_name(r);
        if (name == "unknown") continue;
        counters[name] = boost::json::object{{"packets", (*v)[r].packets}, {"bytes", (*v)[r].bytes}};
      }
      out.push_back(boost::json::object{
          {"interface", ifc},
          {"mode", std::string(reflex::to_string(g->mode()))},
          {"attached", attached},
          {"link_id", link ? link->link_id : 0},
          {"prog_id", link ? link->prog_id : 0},
          {"rules", rules},
          {"version", meta.version},
          {"installed_s_ago", age_s},
          {"sample_every", c.sample_n},
          {"talkers", (c.flags & GUARD_CF_TALKERS) != 0},
          {"counters", std::move(counters)},
      });
      continue;
    }
    std::printf("%s  mode %s%s  rules %zu (v%llu, %.0fs ago)  events 1/%u\n", ifc.c_str(),
                std::string(reflex::to_string(g->mode())).c_str(),
                attached ? "" : " (DETACHED: interface gone or link removed; run reflex-guard load again)", rules,
                static_cast<unsigned long long>(meta.version), age_s, c.sample_n);
    std::printf("  ");
    for (std::uint32_t r : {GUARD_R_PASS_NO_MATCH, GUARD_R_PASS_ALLOW, GUARD_R_DROP_RULE, GUARD_R_DROP_RATE,
                            GUARD_R_PASS_SHADOW, GUARD_R_PASS_RATE_OK, GUARD_R_PASS_NON_IP, GUARD_R_PASS_MALFORMED})
      std::printf("%s %llu  ", std::string(reason_name(r)).c_str(),
                  static_cast<unsigned long long>((*v)[r].packets));
    std::printf("\n");
  }
  if (ctx.json) std::cout << boost::json::serialize(boost::json::object{{"interfaces", std::move(out)}}) << "\n";
  return 0;
}

}  // namespace reflex::guard::cli
