// events: stream the guard's sampled drops.
#include "cli.h"
#include "guard/events.h"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>

namespace reflex::guard::cli {
namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int cmd_events(const Context& ctx, int sample_every, long count, int timeout_s) {
  auto targets = target_interfaces(ctx);
  if (!targets) return fail(targets.error());
  std::vector<Guard> guards;
  std::map<std::uint32_t, std::string> rule_names;  // uid -> rule line
  std::uint64_t now = boottime_ns();
  long seen = 0;
  EventReader reader([&](const DropEvent& e) {
    if (count >= 0 && seen >= count) return;
    ++seen;
    auto it = rule_names.find(e.rule_uid);
    std::string port = e.dport ? " dport " + std::to_string(e.dport) : "";
    std::printf("%.6f %s %-12s %s %s%s len %u  rule: %s\n", e.ts_ns / 1e9, e.iface.c_str(),
                std::string(reason_name(e.reason)).c_str(), e.source.to_string().c_str(), proto_name(e.proto).c_str(),
                port.c_str(), e.pkt_len, it != rule_names.end() ? it->second.c_str() : "?");
    std::fflush(stdout);
  });
  for (const auto& ifc : *targets) {
    auto g = Guard::open(ifc, ctx.opts);
    if (!g) return fail(g.error());
    if (sample_every >= 0) (void)g->set_sample_every(static_cast<std::uint32_t>(sample_every));
    if (auto rules = g->rules())
      for (const auto& r : *rules) rule_names[rule_uid(r.key())] = format_rule(r, now);
    if (auto s = reader.add(g->events_fd(), ifc); !s) return fail(s.error());
    std::fprintf(stderr, "%s: streaming 1 in %u drops\n", ifc.c_str(), g->ctl().sample_n);
    guards.push_back(std::move(*g));
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!g_stop && (count < 0 || seen < count)) {
    auto n = reader.poll(200);
    if (!n) return fail(n.error());
    if (timeout_s > 0) {
      timespec t{};
      clock_gettime(CLOCK_MONOTONIC, &t);
      if (t.tv_sec - start.tv_sec >= timeout_s) break;
    }
  }
  return 0;
}

}  // namespace reflex::guard::cli
