#include "bench/monitor/retrans_bench.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <map>
#include <memory>
#include <thread>

#include "bench/monitor/bench_util.h"
#include "bench/monitor/testbed.h"
#include "bpf/tcp_retrans_kern_user.h"
#include "common/fd.h"
#include "guard/bpf_util.h"
#include "guard/guard.h"
#include "monitor/map_dump.h"
#include "monitor/monitor.h"
#include "sim/netns.h"
#include "sim/tcp_load.h"
#include "tcp_retrans.skel.h"
#include "tcp_rtt.skel.h"

namespace reflex::bench {
namespace {

constexpr const char* kA = "10.91.0.1";
constexpr const char* kB = "10.91.0.2";

struct RunStats {
  std::uint64_t ns = 0, runs = 0;
};

Result<RunStats> run_stats(const bpf_program* p) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) < 0)
    return errno_error("read BPF program info", errno);
  return RunStats{info.run_time_ns, info.run_cnt};
}

constexpr const char* kProbeProg = "tcp_probe (tp_btf)";
constexpr const char* kAnchorProg = "anchor: tcp_rtt on tcp_probe (raw_tp)";

// The programs measured: the probe's four, and tcp_rtt's as the anchor.
struct Programs {
  std::unique_ptr<tcp_retrans, void (*)(tcp_retrans*)> retrans{nullptr, tcp_retrans__destroy};
  std::unique_ptr<tcp_rtt, void (*)(tcp_rtt*)> rtt{nullptr, tcp_rtt__destroy};
  std::vector<std::pair<std::string, const bpf_program*>> list() const {
    return {{"tcp_retransmit_skb (tp_btf)", retrans->progs.tcp_retrans_skb},
            {kProbeProg, retrans->progs.tcp_retrans_probe},
            {"tcp_destroy_sock (tp_btf)", retrans->progs.tcp_retrans_destroy},
            {"inet_sock_set_state (tp_btf)", retrans->progs.tcp_retrans_state},
            {kAnchorProg, rtt->progs.tcp_rtt_probe}};
  }
};

// Best of `rounds` windows per program (the least ns per run, with its
// rate), and per window the probe's tcp_probe program over the anchor on
// the same events, whose median is the side-by-side figure.
struct Measured {
  std::vector<ProgCost> best;
  double ratio_median = 0;
};

Result<Measured> measure(const Programs& progs, const RetransBenchOptions& o) {
  std::map<std::string, ProgCost> best;
  std::vector<double> ratios;
  const auto list = progs.list();
  for (int r = 0; r < o.rounds; ++r) {
    std::vector<RunStats> before;
    for (const auto& [name, p] : list) {
      auto s = run_stats(p);
      if (!s) return s.error();
      before.push_back(*s);
    }
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    const double dt = seconds_since(t0);
    std::map<std::string, double> ns;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto s = run_stats(list[i].second);
      if (!s) return s.error();
      if (s->runs <= before[i].runs) continue;
      const std::string& name = list[i].first;
      ProgCost c{name,
                 static_cast<double>(s->ns - before[i].ns) / static_cast<double>(s->runs - before[i].runs),
                 static_cast<double>(s->runs - before[i].runs) / dt};
      ns[name] = c.ns_per_run;
      auto it = best.find(name);
      if (it == best.end() || c.ns_per_run < it->second.ns_per_run) best[name] = c;
    }
    if (ns.count(kProbeProg) && ns.count(kAnchorProg)) ratios.push_back(ns[kProbeProg] / ns[kAnchorProg]);
  }
  Measured m;
  for (const auto& [name, p] : list)
    if (auto it = best.find(name); it != best.end()) m.best.push_back(it->second);
  m.ratio_median = percentile(ratios, 0.5);
  return m;
}

void print(std::FILE* out, const std::string& title, const Measured& m) {
  std::fprintf(out, "  %s\n    %-40s %10s %12s %12s\n", title.c_str(), "program", "ns/run", "runs/s",
               "CPU share");
  for (const auto& c : m.best)
    std::fprintf(out, "    %-40s %10.1f %12.1f %11.3f%%\n", c.prog.c_str(), c.ns_per_run, c.runs_per_s,
                 c.ns_per_run * c.runs_per_s / 1e9 * 100);
  std::fprintf(
      out,
      "    tcp_probe: the probe's program / the anchor on the same events, median of the windows: %.2f\n",
      m.ratio_median);
}

}  // namespace

Result<RetransBenchReport> run_retrans_bench(const RetransBenchOptions& o, std::FILE* out) {
  auto testbed = Testbed::create();
  if (!testbed) return testbed.error();
  Testbed& tb = **testbed;
  const std::string ia = sim::unique_name("rfxba"), ib = sim::unique_name("rfxbb");
  if (auto st =
          sim::make_veth(tb.a(), tb.b(), {ia, ib, std::string(kA) + "/24", std::string(kB) + "/24", {}});
      !st)
    return st.error();

  std::fprintf(out, "TCP retransmit probe: BPF run time per event (BPF_ENABLE_STATS, best of %d x %.1f s)\n",
               o.rounds, o.seconds);
  Programs progs;
  progs.retrans.reset(tcp_retrans__open_and_load());
  progs.rtt.reset(tcp_rtt__open_and_load());
  if (!progs.retrans || !progs.rtt) return errno_error("load the tcp_retrans and tcp_rtt programs", errno);
  if (int err = tcp_retrans__attach(progs.retrans.get()); err) return errno_error("attach tcp_retrans", err);
  if (int err = tcp_rtt__attach(progs.rtt.get()); err) return errno_error("attach tcp_rtt", err);
  Fd stats(bpf_enable_stats(BPF_STATS_RUN_TIME));
  if (!stats.valid()) return errno_error("enable BPF run-time stats", errno, "needs CAP_SYS_ADMIN");

  RetransBenchReport rep;
  {
    // One connection for every window: its state and destroy programs run
    // at its start and end (and for whatever else the host does meanwhile).
    auto load = sim::TcpLoad::start(tb.a(), kA, tb.b(), kB, 7300);
    if (!load) return load.error();
    auto m = measure(progs, o);
    if (!m) return m.error();
    rep.clean = m->best;
    rep.clean_ratio = m->ratio_median;
    print(out, "bulk TCP a -> b over a bare veth (no loss)", *m);
  }

  auto g = tb.load_guard(ib);
  if (!g) return g.error();
  guard::GuardRule limit;
  limit.prefix = *Prefix::parse(std::string(kA) + "/32");
  limit.action = guard::RuleAction::rate_limit;
  limit.pps = o.limit_pps;
  if (auto r = g->replace(std::vector<guard::GuardRule>{limit}); !r) return r.error();
  {
    auto load = sim::TcpLoad::start(tb.a(), kA, tb.b(), kB, 7301);
    if (!load) return load.error();
    auto m = measure(progs, o);
    if (!m) return m.error();
    rep.lossy = m->best;
    rep.lossy_ratio = m->ratio_median;
    print(out,
          "the same through the guard at " + std::to_string(o.limit_pps) + " packets/s (the rest dropped)",
          *m);
  }
  progs = Programs{};
  stats = Fd();

  // The Monitor's tick with the probe in it, the flow still lossy (no
  // guard probe: only b has a guard, and the tick bench measures those).
  monitor::MonitorConfig cfg;
  cfg.pin_root = tb.pin_root();
  cfg.guard = false;
  for (const auto& [iface, ns] : {std::pair{ia, tb.a().name()}, std::pair{ib, tb.b().name()}}) {
    auto ref = monitor::parse_interface_ref(iface, ns);
    if (!ref) return ref.error();
    cfg.interfaces.push_back(*ref);
  }
  auto load = sim::TcpLoad::start(tb.a(), kA, tb.b(), kB, 7302);
  if (!load) return load.error();
  boost::asio::io_context io;
  auto mon = monitor::Monitor::create(io, cfg, {});
  if (!mon) return mon.error();
  (*mon)->tick();  // loads the Monitor's programs
  Observation last = (*mon)->tick();
  if (!last.degraded.empty())
    return make_error("a probe is degraded: " + last.degraded[0].probe + ": " + last.degraded[0].reason);
  // Medians over the ticks: on a shared host a tick is sometimes descheduled halfway.
  std::vector<double> tick_cpu, retrans_wall, rtt_wall;
  double retransmits = 0, segments = 0, seen_s = 0;  // on a's interface over the measured ticks
  for (int t = 0; t < o.ticks; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(o.gap_ms));
    auto before = (*mon)->probe_times();
    auto c0 = thread_cpu_ns();
    last = (*mon)->tick();
    if (const auto& r = last.interfaces.at(cfg.interfaces[0].key).retrans) {
      const double dt = static_cast<double>(last.interval_ns) / 1e9;
      retransmits += r->per_s * dt;
      segments += r->segments_per_s * dt;
      seen_s += dt;
    }
    tick_cpu.push_back(static_cast<double>(thread_cpu_ns() - c0) / 1e6);
    auto after = (*mon)->probe_times();
    for (std::size_t i = 0; i < after.size(); ++i) {
      const double ms = static_cast<double>(after[i].wall_ns - before[i].wall_ns) / 1e6;
      if (after[i].probe == "tcp_retrans") retrans_wall.push_back(ms);
      if (after[i].probe == "tcp_rtt") rtt_wall.push_back(ms);
    }
  }
  rep.tick_ms = percentile(tick_cpu, 0.5);
  rep.retrans_ms = percentile(retrans_wall, 0.5);
  rep.rtt_ms = percentile(rtt_wall, 0.5);
  std::fprintf(
      out,
      "  Monitor tick over both interfaces (median of %d, %d ms apart): %.3f ms CPU; tcp_retrans %.3f ms "
      "wall (%.1f%% of the tick), anchor tcp_rtt %.3f ms; meanwhile %s: %.0f retransmits/s of %.0f "
      "segments/s\n",
      o.ticks, o.gap_ms, rep.tick_ms, rep.retrans_ms,
      rep.tick_ms > 0 ? rep.retrans_ms / rep.tick_ms * 100 : 0, rep.rtt_ms, cfg.interfaces[0].key.c_str(),
      seen_s > 0 ? retransmits / seen_s : 0, seen_s > 0 ? segments / seen_s : 0);

  // The probe's read at its worst: a full map, dumped and summed as sample() does.
  auto full = guard::create_map(BPF_MAP_TYPE_PERCPU_HASH, "rfx_rtx_bench", sizeof(retrans_key),
                                sizeof(retrans_val), RETRANS_MAX_KEYS, 0);
  if (!full) return full.error();
  std::vector<retrans_val> vals(static_cast<std::size_t>(guard::possible_cpus()), retrans_val{3, 100});
  for (std::uint32_t i = 0; i < RETRANS_MAX_KEYS; ++i) {
    retrans_key k{4026531840u + i / 16, i % 16};
    if (bpf_map_update_elem(full->get(), &k, vals.data(), BPF_ANY) < 0)
      return errno_error("fill the benchmark map", errno);
  }
  monitor::MapDumper dump(sizeof(retrans_key), sizeof(retrans_val), true, 256);
  std::vector<double> full_ms;
  for (int r = 0; r < 20; ++r) {
    std::uint64_t total = 0;
    auto c0 = thread_cpu_ns();
    auto n = dump.dump(full->get(), [&](const std::uint8_t*, const std::uint8_t* v) {
      std::uint64_t sum[2];
      monitor::sum_percpu_words<2>(v, dump.ncpu(), dump.stride(), sum);
      total += sum[0];
    });
    full_ms.push_back(static_cast<double>(thread_cpu_ns() - c0) / 1e6);
    if (!n || *n != RETRANS_MAX_KEYS || total != 3ull * RETRANS_MAX_KEYS * vals.size())
      return make_error("the benchmark map did not read back whole");
  }
  rep.full_map_ms = percentile(full_ms, 0.5);
  std::fprintf(out, "  a full map (%d keys) dumped and summed: %.3f ms CPU (median of 20)\n",
               RETRANS_MAX_KEYS, rep.full_map_ms);
  std::fflush(out);
  return rep;
}

}  // namespace reflex::bench
