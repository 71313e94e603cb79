#include "sim/fleet/fleet_run.h"

#include "sim/fleet/mesh.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

namespace reflex::sim::fleet {

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
  for (TimeNs now = s.tick; now <= s.duration; now += s.tick) {
    bus.begin_tick(now);
    bus.deliver(now, inbox);
    if (threads == 1) {
      tick_range(now, 0, s.nodes);
    } else {
      std::vector<std::jthread> pool;
      const int per = (s.nodes + threads - 1) / threads;
      for (int t = 1; t < threads; ++t)
        pool.emplace_back(tick_range, now, std::min(s.nodes, t * per), std::min(s.nodes, (t + 1) * per));
      tick_range(now, 0, std::min(s.nodes, per));
    }
    bus.flush(now);
    for (auto& b : inbox) b.clear();
    run.node_ticks += static_cast<std::uint64_t>(s.nodes);
  }

  run.nodes.reserve(nodes.size());
  for (const auto& n : nodes) run.nodes.push_back(n->result());
  run.bus = bus.stats();
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

}  // namespace reflex::sim::fleet
