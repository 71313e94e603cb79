#include "cli.h"

#include <cstdio>
#include <iostream>

namespace reflex::guard::cli {

int fail(const Error& e) {
  std::cerr << "reflex-guard: " << e.message() << "\n";
  return 1;
}

Result<std::vector<std::string>> target_interfaces(const Context& ctx) {
  if (auto s = Guard::check_bpffs(ctx.opts); !s) return s.error();
  if (!ctx.ifaces.empty()) return ctx.ifaces;
  auto all = Guard::guarded_interfaces(ctx.opts);
  if (all.empty()) return make_error("no interface is guarded", "load the guard first: reflex-guard load IFACE");
  return all;
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

int install_all(std::vector<Guard>& guards, std::vector<CompiledRuleSet> sets,
                const std::function<std::string(const InstallReport&)>& describe) {
  int rc = 0;
  for (std::size_t i = 0; i < guards.size(); ++i) {
    auto rep = guards[i].install(std::move(sets[i]));
    if (!rep) {
      const auto& e = rep.error();
      rc = fail(Error(guards[i].iface() + ": " + e.what, e.hint, e.code));
      continue;
    }
    std::printf("%s: %s\n", guards[i].iface().c_str(), describe(*rep).c_str());
  }
  return rc;
}

int edit_rules(const Context& ctx, const std::string& what,
               const std::function<Status(std::vector<GuardRule>&)>& edit) {
  auto guards = open_targets(ctx);
  if (!guards) return fail(guards.error());
  // Edit and compile for every interface before installing on any: a rule
  // that cannot apply somewhere changes nothing anywhere.
  std::vector<CompiledRuleSet> sets;
  for (auto& g : *guards) {
    auto rules = g.rules();
    if (!rules) return fail(rules.error());
    if (auto s = edit(*rules); !s) return fail(Error(g.iface() + ": " + s.error().what, s.error().hint, 0));
    auto rs = compile_rules(*rules, boottime_ns(), CompileOptions{0, ctx.opts.max_rules});
    if (!rs) return fail(Error(g.iface() + ": " + rs.error().what, rs.error().hint, 0));
    sets.push_back(std::move(*rs));
  }
  return install_all(*guards, std::move(sets), [&](const InstallReport& rep) {
    return what + " (rule set v" + std::to_string(rep.version) + ", " + std::to_string(rep.rules) + " rules)";
  });
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
