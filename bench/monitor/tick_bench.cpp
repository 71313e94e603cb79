#include "bench/monitor/tick_bench.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "bench/guard/rule_gen.h"
#include "bench/monitor/bench_util.h"
#include "guard/guard.h"
#include "guard/test_run.h"
#include "monitor/map_dump.h"
#include "monitor/monitor.h"
#include "sim/netns.h"
#include "sim/packet.h"
#include "sim/traffic.h"

namespace reflex::bench {
namespace {

// Everything the benchmark made, released in reverse on every way out.
struct Testbed {
  std::string pin_root;
  std::unique_ptr<sim::NetNs> a, b;
  std::vector<std::string> b_ifaces;  // pin keys
  ~Testbed() {
    for (const auto& i : b_ifaces) (void)guard::Guard::unload(i, guard::GuardOptions{pin_root});
    b.reset();
    a.reset();
    std::error_code ec;
    std::filesystem::remove_all(pin_root, ec);
  }
};

std::string addr(std::size_t iface, int host) {
  return "10.90." + std::to_string(iface) + "." + std::to_string(host);
}

}  // namespace

Result<TickBenchReport> run_tick_bench(const TickBenchOptions& o, std::FILE* out) {
  Testbed tb;
  tb.pin_root = "/sys/fs/bpf/reflex-bench-" + std::to_string(getpid());
  auto a = sim::NetNs::create(sim::unique_name("rfxba"));
  if (!a) return a.error();
  tb.a = std::make_unique<sim::NetNs>(std::move(*a));
  auto b = sim::NetNs::create(sim::unique_name("rfxbb"));
  if (!b) return b.error();
  tb.b = std::make_unique<sim::NetNs>(std::move(*b));

  std::fprintf(out, "monitor tick: %zu interfaces, %zu rules each, %zu talkers each\n", o.ifaces, o.rules,
               o.talkers);
  monitor::MonitorConfig defaults;
  // Rules that never cover the test sources, so the talkers pass and count.
  auto rules = make_rules(RuleShape::v4_prefix, o.rules, *Prefix::parse("10.0.0.0/8"));
  monitor::MonitorConfig cfg;
  cfg.pin_root = tb.pin_root;
  cfg.interval = std::chrono::milliseconds(o.interval_ms);
  cfg.top_talkers = 16;
  for (std::size_t i = 0; i < o.ifaces; ++i) {
    std::string ia = sim::unique_name("rfxba"), ib = sim::unique_name("rfxbb");
    auto st =
        sim::make_veth(*tb.a, *tb.b, {ia, ib, addr(i, 1) + "/24", addr(i, 2) + "/24", {addr(i, 3) + "/24"}});
    if (!st) return st.error();
    // Pinned as IB@NETNS, the name the Monitor's probe opens for an interface in a namespace.
    tb.b_ifaces.push_back(guard::pin_key(ib, tb.b->name()));
    guard::GuardOptions go;
    go.pin_root = tb.pin_root;
    go.netns = tb.b->name();
    std::optional<Result<guard::Guard>> g = guard::Guard::load(ib, guard::LoadMode::auto_, go);
    if (!*g) return g->error();
    auto with_drop = rules;  // and one rule the traffic from .3 hits
    guard::GuardRule drop;
    drop.prefix = *Prefix::parse(addr(i, 3) + "/32");
    with_drop.push_back(drop);
    auto rep = (*g)->replace(with_drop);
    (void)(*g)->set_sample_every(o.sample_every);
    if (!rep) return rep.error();
    // Fill the talker table: one packet from each of `talkers` sources, through the guard's own program.
    for (std::size_t s = 0; s < o.talkers; ++s) {
      std::string src = "10." + std::to_string(100 + i) + "." + std::to_string((s >> 8) & 0xff) + "." +
                        std::to_string(s & 0xff);
      auto pkt = sim::PacketBuilder().ipv4(src, addr(i, 2)).udp(4000, 53).payload(18).build();
      auto r = guard::test_run((*g)->xdp_prog_fd(), pkt, 1 + static_cast<std::uint32_t>(s % 7));
      if (!r) return r.error();
    }
    auto ref = monitor::parse_interface_ref(ib, tb.b->name());
    if (!ref) return ref.error();
    cfg.interfaces.push_back(*ref);
    std::fprintf(out, "  %s: %zu rules installed in %.0f ms\n", ib.c_str(), rep->rules,
                 rep->compile_ms + rep->install_ms);
  }

  // The largest read of a tick, alone: one guard's talker table (one batch read).
  {
    auto g = guard::Guard::open(tb.b_ifaces[0], guard::GuardOptions{tb.pin_root});
    if (!g) return g.error();
    std::vector<double> ms;
    for (int r = 0; r < 10; ++r) {
      auto c0 = thread_cpu_ns();
      auto all = g->talkers();
      if (!all) return all.error();
      ms.push_back(static_cast<double>(thread_cpu_ns() - c0) / 1e6);
    }
    std::fprintf(out, "  one talker table, read alone: %.2f ms CPU (p50 of 10)\n", percentile(ms, 0.5));
  }

  // Steady traffic from a to every b interface, half from the dropped source.
  std::atomic<bool> stop{false};
  std::thread traffic;
  if (o.pps_per_iface > 0) {
    std::vector<std::pair<sim::UdpPeer, std::string>> peers;
    for (std::size_t i = 0; i < o.ifaces; ++i)
      for (int host : {1, 3}) {
        auto p = sim::UdpPeer::open(*tb.a, addr(i, host), 0);
        if (!p) return p.error();
        peers.emplace_back(std::move(*p), addr(i, 2));
      }
    traffic = std::thread([&stop, &o, peers = std::move(peers)]() mutable {
      // Every 10 ms, each peer sends its share (a load generator may pace with sleeps).
      const auto per_peer = static_cast<std::size_t>(o.pps_per_iface / 2 / 100);
      auto next = std::chrono::steady_clock::now();
      std::uint32_t seq = 0;
      while (!stop.load()) {
        for (auto& [peer, dst] : peers) (void)peer.send_many(dst, 9000, seq, per_peer);
        seq += static_cast<std::uint32_t>(per_peer);
        next += std::chrono::milliseconds(10);
        std::this_thread::sleep_until(next);
      }
    });
  }
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop, traffic};
  if (o.pps_per_iface > 0)
    std::fprintf(out, "  traffic: %.0f UDP packets/s into each interface, half of it dropped by a rule\n",
                 o.pps_per_iface);

  boost::asio::io_context io;
  std::size_t degraded = 0;
  auto mon =
      monitor::Monitor::create(io, cfg, [&](const Observation& obs) { degraded = obs.degraded.size(); });
  if (!mon) return mon.error();
  // Warm up: the first tick loads the Monitor's own programs.
  (*mon)->tick();
  Observation last = (*mon)->tick();
  if (!last.degraded.empty())
    return make_error("a probe is degraded: " + last.degraded[0].probe + ": " + last.degraded[0].reason);
  std::size_t talkers_seen = 0;
  for (const auto& [name, m] : last.maps)
    if (name.ends_with("/talkers")) talkers_seen += m.entries;

  TickBenchReport rep;
  std::vector<double> cpu, wall;
  auto before = (*mon)->probe_times();
  // Ticks apart as on the timer (traffic flows in between), each timed alone.
  for (int t = 0; t < o.ticks; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(o.gap_ms));
    auto c0 = thread_cpu_ns();
    auto w0 = std::chrono::steady_clock::now();
    (*mon)->tick();
    wall.push_back(seconds_since(w0) * 1e3);
    cpu.push_back(static_cast<double>(thread_cpu_ns() - c0) / 1e6);
  }
  auto after = (*mon)->probe_times();
  for (std::size_t i = 0; i < after.size(); ++i)
    rep.parts.push_back(
        {after[i].probe, static_cast<double>(after[i].wall_ns - before[i].wall_ns) / 1e6 / o.ticks});
  double sum_cpu = 0, sum_wall = 0;
  for (double c : cpu) sum_cpu += c;
  for (double w : wall) sum_wall += w;
  rep.cpu_ms_mean = sum_cpu / static_cast<double>(cpu.size());
  rep.cpu_ms_p50 = percentile(cpu, 0.5);
  rep.cpu_ms_max = percentile(cpu, 1.0);
  rep.wall_ms_mean = sum_wall / static_cast<double>(wall.size());
  std::fprintf(out, "  sources held in the talker tables (all guards): %zu\n", talkers_seen);
  std::fprintf(
      out, "  one tick (x%d, %d ms apart): CPU mean %.2f ms, p50 %.2f ms, max %.2f ms; wall mean %.2f ms\n",
      o.ticks, o.gap_ms, rep.cpu_ms_mean, rep.cpu_ms_p50, rep.cpu_ms_max, rep.wall_ms_mean);
  std::fprintf(out, "  per probe (wall ms per tick):");
  for (const auto& p : rep.parts) std::fprintf(out, " %s %.3f;", p.probe.c_str(), p.ms_per_tick);
  std::fprintf(out, "\n");

  // The loop on its own timer, as the daemon runs it.
  auto c0 = thread_cpu_ns();
  auto w0 = std::chrono::steady_clock::now();
  auto ticks0 = (*mon)->ticks();
  auto share_before = (*mon)->probe_times();
  (*mon)->start();
  io.run_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(o.share_seconds)));
  (*mon)->stop();
  double w = seconds_since(w0);
  rep.loop_cpu_share = static_cast<double>(thread_cpu_ns() - c0) / 1e9 / w;
  rep.loop_ticks = static_cast<int>((*mon)->ticks() - ticks0);
  auto share_after = (*mon)->probe_times();
  double in_ticks_ms = 0;
  for (std::size_t i = 0; i < share_after.size(); ++i)
    in_ticks_ms += static_cast<double>(share_after[i].wall_ns - share_before[i].wall_ns) / 1e6;
  std::fprintf(out,
               "  the loop at a %d ms tick for %.1f s: %d ticks, %.3f%% of one CPU%s (probes: %.2f ms wall "
               "per tick)\n",
               o.interval_ms, w, rep.loop_ticks, rep.loop_cpu_share * 100,
               degraded ? " (some probe degraded!)" : "", in_ticks_ms / std::max(1, rep.loop_ticks));
  std::fflush(out);
  mon->reset();
  return rep;
}

}  // namespace reflex::bench
