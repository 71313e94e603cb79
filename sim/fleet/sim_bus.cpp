#include "sim/fleet/sim_bus.h"

#include <algorithm>

namespace reflex::sim::fleet {

using reflex::fleet::Inbound;
using reflex::fleet::LinkState;
using reflex::fleet::LinkStatus;

SimBus::SimBus(const FleetScenario& s, const Mesh& mesh, bool enabled)
    : s_(s), mesh_(mesh), enabled_(enabled), endpoints_(static_cast<std::size_t>(s.nodes)),
      down_(static_cast<std::size_t>(s.nodes)) {
  for (int n = 0; n < s.nodes; ++n) {
    endpoints_[static_cast<std::size_t>(n)].bus_ = this;
    endpoints_[static_cast<std::size_t>(n)].node_ = n;
  }
  for (std::size_t fi = 0; fi < s.flaps.size(); ++fi) {
    const auto& f = s.flaps[fi];
    for (int rep = 0; rep < f.repeat; ++rep) {
      std::vector<int> nodes = f.nodes;
      for (int k = 0; k < f.random; ++k)
        nodes.push_back(static_cast<int>(hash_of(s.seed, 5, fi, static_cast<std::uint64_t>(rep) << 32 | static_cast<std::uint64_t>(k)) %
                                         static_cast<std::uint64_t>(s.nodes)));
      const TimeNs from = f.at + rep * f.every;
      for (int n : nodes) down_[static_cast<std::size_t>(n)].push_back({from, from + f.length});
    }
  }
}

bool SimBus::link_up(int node, TimeNs t) const {
  for (const auto& [from, until] : down_[static_cast<std::size_t>(node)])
    if (t >= from && t < until) return false;
  // The server's own node down takes the server away from everyone.
  if (node != s_.bus.server_node)
    for (const auto& [from, until] : down_[static_cast<std::size_t>(s_.bus.server_node)])
      if (t >= from && t < until) return false;
  return true;
}

void SimBus::Endpoint::publish(std::string subject, std::string payload) {
  if (!bus_->enabled_) {
    ++status_.publish_dropped;
    return;
  }
  out_.push_back({now_, Inbound{std::move(subject), std::move(payload)}});
}

LinkStatus SimBus::Endpoint::status() const { return status_; }

void SimBus::begin_tick(TimeNs now) {
  for (auto& e : endpoints_) {
    e.now_ = now;
    const bool up = enabled_ && link_up(e.node_, now);
    const LinkState st = !enabled_ ? LinkState::disabled : up ? LinkState::connected : LinkState::reconnecting;
    if (st != e.status_.state) {
      if (st == LinkState::reconnecting) ++e.status_.disconnects;
      if (st == LinkState::connected && e.status_.state == LinkState::reconnecting) ++e.status_.reconnects;
      e.status_.state = st;
      e.status_.reason = st == LinkState::reconnecting ? "link down" : "";
    }
  }
}

TimeNs SimBus::one_way(int node, std::uint64_t salt) const {
  const auto& b = s_.bus;
  TimeNs jitter = b.jitter > 0 ? static_cast<TimeNs>(hash_of(s_.seed, 6, salt) % static_cast<std::uint64_t>(b.jitter)) : 0;
  return b.latency + b.per_hop * mesh_.hops(node, b.server_node) + jitter;
}

void SimBus::flush(TimeNs now) {
  for (auto& e : endpoints_) {
    if (e.out_.empty()) continue;
    if (!link_up(e.node_, now)) {
      // Held in the client's reconnect buffer until the link is back.
      stats_.buffered += e.out_.size();
      continue;
    }
    for (auto& [sent_at, msg] : e.out_) {
      ++stats_.published;
      ++e.status_.published;
      const auto idx = static_cast<std::uint32_t>(messages_.size());
      messages_.push_back(std::move(msg));
      const TimeNs at_server = std::max(sent_at, now) + one_way(e.node_, idx * 2654435761u);
      for (int n = 0; n < s_.nodes; ++n) {
        ++stats_.deliveries;
        const std::uint64_t salt = (static_cast<std::uint64_t>(idx) << 24) ^ static_cast<std::uint64_t>(n);
        if (s_.bus.loss > 0 && unit(hash_of(s_.seed, 8, salt)) < s_.bus.loss) {
          ++stats_.lost_loss;
          continue;
        }
        queue_.push({at_server + one_way(n, salt), order_++, n, idx});
      }
    }
    e.out_.clear();
  }
}

void SimBus::deliver(TimeNs now, std::vector<std::vector<Inbound>>& inbox) {
  while (!queue_.empty() && queue_.top().at <= now) {
    Delivery d = queue_.top();
    queue_.pop();
    if (!link_up(d.node, d.at)) {
      ++stats_.lost_down;
      continue;
    }
    ++stats_.delivered;
    ++endpoints_[static_cast<std::size_t>(d.node)].status_.received;
    inbox[static_cast<std::size_t>(d.node)].push_back(messages_[d.msg]);
  }
}

}  // namespace reflex::sim::fleet
