#include "cli.h"

#include <cstdio>
#include <iostream>

namespace reflex::guard::cli {

int fail(const Error& e) {
  std::cerr << "reflex-guard: " << e.message() << "\n";
  return 1;
}

std::vector<std::string> requested_interfaces(const Context& ctx) {
  // Pin keys: a bare --iface is in --netns (or here), IF@NETNS names its own.
  std::vector<std::string> keys;
  for (const auto& i : ctx.ifaces) keys.push_back(i.find('@') == std::string::npos ? pin_key(i, ctx.opts.netns) : i);
  if (!keys.empty()) return keys;
  for (auto& k : Guard::guarded_interfaces(ctx.opts))
    if (ctx.opts.netns.empty() || split_pin_key(k).second == ctx.opts.netns) keys.push_back(std::move(k));
  return keys;
}

Result<std::vector<std::string>> target_interfaces(const Context& ctx) {
  if (auto s = Guard::check_bpffs(ctx.opts); !s) return s.error();
  auto keys = requested_interfaces(ctx);
  if (keys.empty())
    return make_error(ctx.opts.netns.empty() ? "no interface is guarded"
                                             : "no interface in namespace " + ctx.opts.netns + " is guarded",
                      "load the guard first: reflex-guard load IFACE");
  return keys;
}

Result<std::vector<Guard>> open_targets(const Context& ctx) {
  auto targets = target_interfaces(ctx);
  if (!targets) return targets.error();
  // Open every target first: a typo in one --iface changes nothing anywhere.
  std::vector<Guard> guards;
  for (const auto& ifc : *targets) {
    auto g = Guard::open(ifc, ctx.opts);
    if (!g) return g.error();
    guards.push_back(std::move(*g));
  }
  return guards;
}

int install_all(std::vector<Guard>& guards, const CompiledRuleSet& set,
                const std::function<std::string(const InstallReport&)>& describe) {
  int rc = 0;
  for (std::size_t i = 0; i < guards.size(); ++i) {
    auto rep = guards[i].install(set);
    if (!rep) {
      const auto& e = rep.error();
      rc = fail(Error(guards[i].key() + ": " + e.what, e.hint, e.code));
      continue;
    }
    std::printf("%s: %s\n", guards[i].key().c_str(), describe(*rep).c_str());
  }
  return rc;
}

int apply_each(const Context& ctx, const std::function<Result<UpdateReport>(Guard&)>& change, const std::string& what,
               const std::function<Status(const Guard&)>& check) {
  auto guards = open_targets(ctx);
  if (!guards) return fail(guards.error());
  if (check)
    for (const auto& g : *guards)
      if (auto s = check(g); !s) return fail(s.error());
  int rc = 0;
  for (auto& g : *guards) {
    auto rep = change(g);
    if (!rep) {
      const auto& e = rep.error();
      rc = fail(Error(g.key() + ": " + e.what, e.hint, e.code));
      continue;
    }
    std::printf("%s: %s (rule set v%llu, %zu rules, %s in %.1f ms)\n", g.key().c_str(), what.c_str(),
                static_cast<unsigned long long>(rep->version), g.rule_count(), rep->in_place ? "in place" : "swapped",
                rep->ms);
  }
  return rc;
}

std::string human_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string human_count(std::uint64_t n) { return std::to_string(n); }

}  // namespace reflex::guard::cli
