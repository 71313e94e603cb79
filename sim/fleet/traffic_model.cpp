#include "sim/fleet/traffic_model.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace reflex::sim::fleet {
namespace {

// Benign sources live in 100.64.0.0/10 (shared address space), away from the
// documentation prefixes attacks use and from every never_block range.
constexpr std::uint32_t kBenignBase = (100u << 24) | (64u << 16);

Prefix host_in(const Prefix& p, std::uint32_t index) {
  Prefix h = p;
  if (p.family == 4) {
    h = Prefix::v4(p.v4_host_order() + index, 32);
  } else {
    h.len = 128;
    for (int i = 15; i >= 12; --i) {
      h.addr[static_cast<std::size_t>(i)] |= static_cast<std::uint8_t>(index & 0xff);
      index >>= 8;
    }
  }
  return h;
}

}  // namespace

TrafficModel::TrafficModel(const FleetScenario& s, const Mesh& mesh) : s_(s) {
  benign_pps_.resize(static_cast<std::size_t>(s.nodes));
  for (int n = 0; n < s.nodes; ++n) {
    auto& v = benign_pps_[static_cast<std::size_t>(n)];
    for (int j = 0; j < s.benign.sources; ++j)
      v.push_back(s.benign.pps * std::exp(s.benign.spread * normal(hash_of(s.seed, 1, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(j)))));
  }
  by_node_.resize(static_cast<std::size_t>(s.nodes));
  for (int ai = 0; ai < static_cast<int>(s.attacks.size()); ++ai) {
    const auto& a = s.attacks[static_cast<std::size_t>(ai)];
    const std::uint64_t salt = hash_of(s.seed, 2, static_cast<std::uint64_t>(ai));
    if (a.kind == AttackKind::moving) {
      // A walk along mesh neighbours, never back to a node already hit (a
      // jump to a fresh node when boxed in).
      std::set<int> seen;
      int cur = a.from_node.value_or(static_cast<int>(salt % static_cast<std::uint64_t>(s.nodes)));
      for (int m = 0; m < a.entries; ++m) {
        seen.insert(cur);
        visits_.push_back({ai, cur, a.start + m * a.dwell, a.start + (m + 1) * a.dwell, a.pps});
        std::vector<int> next;
        for (int nb : mesh.neighbours(cur))
          if (!seen.count(nb)) next.push_back(nb);
        if (next.empty())
          for (int n = 0; n < s.nodes; ++n)
            if (!seen.count(n)) next.push_back(n);
        if (next.empty()) break;
        cur = next[hash_of(salt, static_cast<std::uint64_t>(m)) % next.size()];
      }
    } else {
      // Entry nodes drawn without replacement; each sees its own share.
      std::vector<int> order(static_cast<std::size_t>(s.nodes));
      for (int n = 0; n < s.nodes; ++n) order[static_cast<std::size_t>(n)] = n;
      for (int i = s.nodes - 1; i > 0; --i)
        std::swap(order[static_cast<std::size_t>(i)],
                  order[hash_of(salt, static_cast<std::uint64_t>(i)) % static_cast<std::uint64_t>(i + 1)]);
      for (int m = 0; m < a.entries; ++m) {
        const int node = order[static_cast<std::size_t>(m)];
        const double pps = a.pps * std::exp(a.spread * normal(hash_of(salt, 7, static_cast<std::uint64_t>(node))));
        visits_.push_back({ai, node, a.start, a.start + a.duration, pps});
      }
    }
  }
  for (int i = 0; i < static_cast<int>(visits_.size()); ++i)
    by_node_[static_cast<std::size_t>(visits_[static_cast<std::size_t>(i)].node)].push_back(i);
}

Prefix TrafficModel::benign_source(int node, int j) const {
  return Prefix::v4(kBenignBase + static_cast<std::uint32_t>(node * s_.benign.sources + j), 32);
}

std::vector<Prefix> TrafficModel::benign_prefixes() const {
  std::set<Prefix> out;
  for (int n = 0; n < s_.nodes; ++n)
    for (int j = 0; j < s_.benign.sources; ++j) {
      Prefix p = benign_source(n, j);
      p.len = 24;
      mask_prefix(p);
      out.insert(p);
    }
  return {out.begin(), out.end()};
}

int TrafficModel::packet_bytes(bool attack, int attack_index) const {
  return attack ? s_.attacks[static_cast<std::size_t>(attack_index)].packet_bytes : s_.benign.packet_bytes;
}

void TrafficModel::flows(int node, TimeNs now, double dt, std::vector<Flow>& out) const {
  const auto tick = static_cast<std::uint64_t>(now / std::max<TimeNs>(1, s_.tick));
  const auto& base = benign_pps_[static_cast<std::size_t>(node)];
  for (int j = 0; j < static_cast<int>(base.size()); ++j) {
    const double noise = 1.0 + s_.benign.wobble * (2 * unit(hash_of(s_.seed, 3, static_cast<std::uint64_t>(node) << 20 | static_cast<std::uint64_t>(j), tick)) - 1);
    Flow f;
    f.source = benign_source(node, j);
    f.proto = 6;
    f.dport = 443;
    f.packets = base[static_cast<std::size_t>(j)] * noise * dt;
    f.slot = j;
    out.push_back(f);
  }
  const TimeNs tick_start = now - static_cast<TimeNs>(dt * kNsPerSec);
  for (int vi : by_node_[static_cast<std::size_t>(node)]) {
    const Visit& v = visits_[static_cast<std::size_t>(vi)];
    // The share of this tick the visit covers.
    const TimeNs from = std::max(v.from, tick_start), until = std::min(v.until, now);
    if (until <= from) continue;
    const double share = static_cast<double>(until - from) / static_cast<double>(now - tick_start);
    const auto& a = s_.attacks[static_cast<std::size_t>(v.attack)];
    for (int h = 0; h < a.sources; ++h) {
      Flow f;
      f.source = host_in(a.prefix, static_cast<std::uint32_t>(h + 1));
      f.proto = a.proto;
      f.dport = a.port;
      f.packets = v.pps / a.sources * dt * share;
      f.attack = v.attack;
      out.push_back(f);
    }
  }
}

}  // namespace reflex::sim::fleet
