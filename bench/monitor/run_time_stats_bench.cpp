#include "bench/monitor/run_time_stats_bench.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/guard/rule_gen.h"
#include "bench/monitor/bench_util.h"
#include "guard/guard.h"
#include "guard/test_run.h"
#include "sim/packet.h"
#include "xdp_baseline.skel.h"

namespace reflex::bench {
namespace {

// The sysctl mirrors the static key: 1 while anyone holds a stats fd (or set it).
std::string stats_sysctl() {
  std::ifstream f("/proc/sys/kernel/bpf_stats_enabled");
  std::string s;
  f >> s;
  return s.empty() ? "?" : s;
}

Result<double> ns_per_packet(int fd, const std::vector<std::uint8_t>& pkt, unsigned repeat) {
  auto r = guard::test_run(fd, pkt, repeat);
  if (!r) return r.error();
  return static_cast<double>(r->duration_ns);
}

double ms_since(std::chrono::steady_clock::time_point t0) { return seconds_since(t0) * 1e3; }

}  // namespace

Result<RunTimeStatsBenchReport> run_run_time_stats_bench(const RunTimeStatsBenchOptions& o, std::FILE* out) {
  RunTimeStatsBenchReport rep;
  std::fprintf(out, "== run-time stats: BPF_PROG_TEST_RUN x%u, off/on interleaved, best of %d (bpf_stats_enabled=%s before)\n",
               o.repeat, o.rounds, stats_sysctl().c_str());
  if (stats_sysctl() != "0")
    std::fprintf(out, "   note: another holder keeps the stats on, so \"off\" is on too\n");
  struct D {
    void operator()(xdp_baseline* s) const { xdp_baseline__destroy(s); }
  };
  std::unique_ptr<xdp_baseline, D> base(xdp_baseline__open_and_load());
  if (!base) return errno_error("load xdp_baseline", errno);
  const int base_fd = bpf_program__fd(base->progs.xdp_drop_all);
  auto g = guard::Guard::create_detached();
  if (!g) return g.error();
  auto rules = make_rules(RuleShape::v4_exact, 1000, *Prefix::parse("198.18.0.0/15"), 42);
  if (auto s = g->replace(rules); !s) return s.error();
  auto pkt = sim::PacketBuilder().ipv4("198.18.0.1", "10.0.0.1").udp(40000, 53).payload(22).build();

  double b_off = 1e18, b_on = 1e18, g_off = 1e18, g_on = 1e18;
  std::vector<double> en, cl;
  for (int r = 0; r < std::max(o.rounds, o.switches); ++r) {
    if (r < o.rounds) {
      auto b = ns_per_packet(base_fd, pkt, o.repeat);
      if (!b) return b.error();
      auto m = ns_per_packet(g->xdp_prog_fd(), pkt, o.repeat);
      if (!m) return m.error();
      b_off = std::min(b_off, *b);
      g_off = std::min(g_off, *m);
    }
    auto t0 = std::chrono::steady_clock::now();
    int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) return errno_error("bpf_enable_stats", errno, "needs CAP_SYS_ADMIN");
    en.push_back(ms_since(t0));
    if (r < o.rounds) {
      auto b = ns_per_packet(base_fd, pkt, o.repeat);
      auto m = ns_per_packet(g->xdp_prog_fd(), pkt, o.repeat);
      if (!b || !m) {
        ::close(fd);
        return !b ? b.error() : m.error();
      }
      b_on = std::min(b_on, *b);
      g_on = std::min(g_on, *m);
    }
    t0 = std::chrono::steady_clock::now();
    ::close(fd);
    cl.push_back(ms_since(t0));
  }
  rep.base_off_ns = b_off;
  rep.base_on_ns = b_on;
  rep.guard_off_ns = g_off;
  rep.guard_on_ns = g_on;
  rep.enable_ms_p50 = percentile(en, 0.5);
  rep.enable_ms_max = *std::max_element(en.begin(), en.end());
  rep.close_ms_p50 = percentile(cl, 0.5);
  rep.close_ms_max = *std::max_element(cl.begin(), cl.end());
  std::fprintf(out, "%-34s %10s %10s %10s\n", "program (ns/packet)", "stats off", "stats on", "added");
  std::fprintf(out, "%-34s %10.1f %10.1f %10.1f\n", "bare XDP_DROP", b_off, b_on, b_on - b_off);
  std::fprintf(out, "%-34s %10.1f %10.1f %10.1f\n", "guard, 1000 /32 rules, miss", g_off, g_on, g_on - g_off);
  std::fprintf(out, "switch (caller blocked, %zu each): enable p50 %.2f ms max %.2f ms; close p50 %.2f ms max %.2f ms\n",
               en.size(), rep.enable_ms_p50, rep.enable_ms_max, rep.close_ms_p50, rep.close_ms_max);
  return rep;
}

}  // namespace reflex::bench
