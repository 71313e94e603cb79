#include "sim/fleet/fleet_run.h"

#include "sim/fleet/mesh.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

namespace reflex::sim::fleet {

namespace {

// Mean and max over the nodes of what each holds, one line per slice.
void print_counts(bool coop, TimeNs now, const std::vector<std::unique_ptr<SimNode>>& nodes) {
  constexpr int kN = 12;
  static const char* names[kN] = {"tracks", "active_tracks", "owners", "backoff", "emitted", "symptoms",
                                  "desired_rules", "model_rules", "live_model_rules", "sources", "peer_entries",
                                  "peer_symptoms"};
  double sum[kN] = {};
  std::size_t max[kN] = {};
  for (const auto& n : nodes) {
    const auto c = n->counts(now);
    const std::size_t v[kN] = {c.loop.tracks, c.loop.active_tracks, c.loop.owners, c.loop.backoff, c.loop.emitted,
                               c.loop.symptoms, c.loop.desired_rules, c.model_rules, c.live_model_rules, c.sources,
                               c.peer_entries, c.peer_symptoms};
    for (int i = 0; i < kN; ++i) {
      sum[i] += static_cast<double>(v[i]);
      max[i] = std::max(max[i], v[i]);
    }
  }
  std::fprintf(stderr, "counts coop %s at %5.0f s (mean/max per node):", coop ? "on" : "off",
               static_cast<double>(now) / kNsPerSec);
  for (int i = 0; i < kN; ++i)
    std::fprintf(stderr, " %s %.1f/%zu", names[i], sum[i] / static_cast<double>(std::max<std::size_t>(1, nodes.size())),
                 max[i]);
  std::fprintf(stderr, "\n");
}

}  // namespace

FleetRun run_fleet(const FleetScenario& s, const RunOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  Mesh mesh(s.nodes, s.layout);
  TrafficModel traffic(s, mesh);
  SimBus bus(s, mesh, o.coop);
  FleetRun run;
  run.coop = o.coop;
  run.visits = traffic.visits();
  run.timeline = Timeline(s.nodes, s.duration, std::max(1, o.timeline_bins));

  std::vector<Prefix> benign_lies;
  std::vector<const PoisonSpec*> poison(static_cast<std::size_t>(s.nodes), nullptr);
  for (const auto& p : s.poison) poison[static_cast<std::size_t>(p.node)] = &p;
  std::vector<std::unique_ptr<SimNode>> nodes;
  nodes.reserve(static_cast<std::size_t>(s.nodes));
  for (int i = 0; i < s.nodes; ++i) {
    NodeSetup ns;
    ns.index = i;
    ns.scenario = &s;
    ns.traffic = &traffic;
    ns.endpoint = o.coop ? &bus.endpoint(i) : nullptr;
    ns.poison = poison[static_cast<std::size_t>(i)];
    if (ns.poison) {
      if (ns.poison->prefixes.empty() && benign_lies.empty()) benign_lies = traffic.benign_prefixes();
      ns.lies = ns.poison->prefixes.empty() ? benign_lies : ns.poison->prefixes;
    }
    ns.timeline = &run.timeline;
    ns.trace = i == o.trace_node;
    nodes.push_back(std::make_unique<SimNode>(std::move(ns), o.loop));
  }

  std::vector<std::vector<reflex::fleet::Inbound>> inbox(static_cast<std::size_t>(s.nodes));
  const double dt = static_cast<double>(s.tick) / kNsPerSec;
  const int threads = std::clamp(o.threads, 1, std::max(1, s.nodes));
  auto tick_range = [&](TimeNs now, int from, int to) {
    for (int i = from; i < to; ++i) nodes[static_cast<std::size_t>(i)]->tick(now, dt, inbox[static_cast<std::size_t>(i)]);
  };
  // Each thread ticks a contiguous range of nodes (only the nodes at a
  // boundary ever change thread, so a node mostly frees what it allocated on
  // the same thread), and the ranges follow the threads' speeds: the vCPUs
  // of a shared host differ by a third or more, so equal halves left the
  // faster one waiting every tick.
  std::vector<int> cut(static_cast<std::size_t>(threads) + 1);
  for (int t = 0; t <= threads; ++t) cut[static_cast<std::size_t>(t)] = s.nodes * t / threads;
  std::vector<double> took(static_cast<std::size_t>(threads));
  auto timed_range = [&](TimeNs now, int t) {
    const auto a = std::chrono::steady_clock::now();
    tick_range(now, cut[static_cast<std::size_t>(t)], cut[static_cast<std::size_t>(t) + 1]);
    took[static_cast<std::size_t>(t)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
  };
  auto rebalance = [&] {
    // Sizes in proportion to each thread's nodes per second, a quarter of
    // the way each tick (one slow tick does not swing the split).
    std::vector<double> rate(static_cast<std::size_t>(threads));
    double total = 0;
    for (std::size_t t = 0; t < rate.size(); ++t) {
      rate[t] = (cut[t + 1] - cut[t]) / std::max(took[t], 1e-6);
      total += rate[t];
    }
    std::vector<int> next(cut.size(), 0);
    for (std::size_t t = 0; t < rate.size(); ++t) {
      const double size = cut[t + 1] - cut[t];
      const double want = s.nodes * rate[t] / total;
      next[t + 1] = next[t] + std::max(1, static_cast<int>(std::lround(size + 0.25 * (want - size))));
    }
    next.back() = s.nodes;
    for (std::size_t t = 1; t + 1 < next.size(); ++t)
      next[t] = std::clamp(next[t], next[t - 1] + 1, s.nodes - static_cast<int>(next.size() - 1 - t));
    cut = std::move(next);
  };
  // The process's CPU (both runs of `both` share it: slice one run at a time).
  auto cpu_s = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  const TimeNs slice = static_cast<TimeNs>(o.slice_s) * kNsPerSec;
  TimeNs slice_end = slice;
  auto slice_wall = std::chrono::steady_clock::now();
  double slice_cpu = slice ? cpu_s() : 0;
  std::uint64_t slice_ticks = 0;
  for (TimeNs now = s.tick; now <= s.duration; now += s.tick) {
    bus.begin_tick(now);
    bus.deliver(now, inbox);
    if (threads == 1) {
      tick_range(now, 0, s.nodes);
    } else {
      {
        std::vector<std::jthread> pool;
        for (int t = 1; t < threads; ++t) pool.emplace_back(timed_range, now, t);
        timed_range(now, 0);
      }
      rebalance();
    }
    bus.flush(now);
    for (auto& b : inbox) b.clear();
    run.node_ticks += static_cast<std::uint64_t>(s.nodes);
    if (slice && (now >= slice_end || now + s.tick > s.duration)) {
      slice_ticks = run.node_ticks - slice_ticks;
      const auto w = std::chrono::steady_clock::now();
      const double c = cpu_s();
      std::fprintf(stderr, "slice coop %s to %5.0f s: %7.2f us wall, %7.2f us cpu per node-tick\n",
                   o.coop ? "on" : "off", static_cast<double>(now) / kNsPerSec,
                   std::chrono::duration<double>(w - slice_wall).count() * 1e6 / static_cast<double>(slice_ticks),
                   (c - slice_cpu) * 1e6 / static_cast<double>(slice_ticks));
      if (o.slice_counts) print_counts(o.coop, now, nodes);
      slice_wall = w;
      slice_cpu = c;
      slice_ticks = run.node_ticks;
      slice_end += slice;
    }
  }

  run.nodes.reserve(nodes.size());
  for (const auto& n : nodes) run.nodes.push_back(n->result());
  run.bus = bus.stats();
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

}  // namespace reflex::sim::fleet
