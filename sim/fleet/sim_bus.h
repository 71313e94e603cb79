#pragma once
// The simulated bus: a NATS server somewhere in the mesh, latency to and
// from it by hop count, jitter, loss, and links that flap. A node's publish
// while its link is down waits in its client's reconnect buffer and goes out
// when the link is back (as libnats does); a delivery to a node whose link
// is down is lost (core NATS keeps nothing for absent subscribers).
//
// Thread use: during a tick each node publishes into its own Endpoint (no
// sharing); between ticks the driver calls flush() and deliver() on one
// thread, in node order, so a run is the same whatever the thread count.

#include "fleet/transport.h"
#include "sim/fleet/mesh.h"
#include "sim/fleet/scenario.h"

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <vector>

namespace reflex::sim::fleet {

struct BusStats {
  std::uint64_t published = 0, buffered = 0, deliveries = 0, delivered = 0, lost_loss = 0, lost_down = 0;
};

class SimBus {
 public:
  SimBus(const FleetScenario& s, const Mesh& mesh, bool enabled);

  class Endpoint final : public reflex::fleet::VerdictTransport {
   public:
    void publish(std::string subject, std::string payload) override;
    reflex::fleet::LinkStatus status() const override;

   private:
    friend class SimBus;
    SimBus* bus_ = nullptr;
    int node_ = 0;
    TimeNs now_ = 0;
    std::vector<std::pair<TimeNs, reflex::fleet::Inbound>> out_;  // published this tick (or while down)
    mutable reflex::fleet::LinkStatus status_;
  };

  Endpoint& endpoint(int node) { return endpoints_[static_cast<std::size_t>(node)]; }
  bool link_up(int node, TimeNs t) const;
  // Before a tick: each endpoint learns the time and its link state.
  void begin_tick(TimeNs now);
  // After a tick: what the nodes published goes onto the wire (or waits).
  void flush(TimeNs now);
  // Every delivery due by `now`, appended to inbox[node].
  void deliver(TimeNs now, std::vector<std::vector<reflex::fleet::Inbound>>& inbox);
  const BusStats& stats() const { return stats_; }
  bool enabled() const { return enabled_; }

 private:
  struct Delivery {
    TimeNs at;
    std::uint64_t order;
    int node;
    std::uint32_t msg;
    bool operator>(const Delivery& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  TimeNs one_way(int node, std::uint64_t salt) const;

  const FleetScenario& s_;
  const Mesh& mesh_;
  bool enabled_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::vector<std::pair<TimeNs, TimeNs>>> down_;  // node -> [from, until) link down
  std::vector<reflex::fleet::Inbound> messages_;
  std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> queue_;
  std::uint64_t order_ = 0;
  BusStats stats_;
};

}  // namespace reflex::sim::fleet
