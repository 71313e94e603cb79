#pragma once
// What the report draws: per node, per time bin, the attack packets that got
// through and that were dropped, benign packets dropped, and whether the
// node was holding a rule against an attack it had not seen yet.

#include "knowledge/time.h"

#include <cstdint>
#include <vector>

namespace reflex::sim::fleet {

struct Bin {
  float attack_delivered = 0, attack_dropped = 0, benign_dropped = 0;
  bool warned = false;  // a shadow or a rule from the fleet was in place
};

class Timeline {
 public:
  Timeline() = default;
  Timeline(int nodes, TimeNs duration, int bins)
      : nodes_(nodes), bins_(bins), bin_ns_(std::max<TimeNs>(1, (duration + bins - 1) / bins)),
        cells_(static_cast<std::size_t>(nodes) * static_cast<std::size_t>(bins)) {}
  Bin& at(int node, TimeNs t) {
    auto b = std::min<TimeNs>(bins_ - 1, std::max<TimeNs>(0, (t - 1) / bin_ns_));
    return cells_[static_cast<std::size_t>(node) * static_cast<std::size_t>(bins_) + static_cast<std::size_t>(b)];
  }
  const Bin& cell(int node, int bin) const {
    return cells_[static_cast<std::size_t>(node) * static_cast<std::size_t>(bins_) + static_cast<std::size_t>(bin)];
  }
  int nodes() const { return nodes_; }
  int bins() const { return bins_; }
  TimeNs bin_ns() const { return bin_ns_; }

 private:
  int nodes_ = 0, bins_ = 0;
  TimeNs bin_ns_ = 1;
  std::vector<Bin> cells_;
};

}  // namespace reflex::sim::fleet
