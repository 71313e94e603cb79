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

int edit_rules(const Context& ctx, const std::string& what,
               const std::function<Status(std::vector<GuardRule>&)>& edit) {
  auto targets = target_interfaces(ctx);
  if (!targets) return fail(targets.error());
  // Open every target first: a typo in one --iface changes nothing anywhere.
  std::vector<Guard> guards;
  for (const auto& ifc : *targets) {
    auto g = Guard::open(ifc, ctx.opts);
    if (!g) return fail(g.error());
    guards.push_back(std::move(*g));
  }
  int rc = 0;
  for (auto& g : guards) {
    auto rules = g.rules();
    if (!rules) return fail(rules.error());
    if (auto s = edit(*rules); !s) return fail(s.error());
    auto rep = g.replace(*rules);
    if (!rep) {
      rc = fail(Error(g.iface() + ": " + rep.error().what, rep.error().hint, rep.error().code));
      continue;
    }
    std::printf("%s: %s (rule set v%llu, %zu rules)\n", g.iface().c_str(), what.c_str(),
                static_cast<unsigned long long>(rep->version), rep->rules);
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
