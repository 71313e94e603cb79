#pragma once
// ContextNovelty: has this short pattern of quantised values been seen before?
// (In the spirit of CAD-OSE: anomalies in operational metrics are mostly shapes
// the series has never shown.) Values are binned over the range seen so far,
// the last `order` bins form a context, and a fixed-size hash set remembers
// contexts; the score is 1 for a never-seen context, else 0. Fixed memory: when
// the set fills up it is cleared, which costs a burst of novelty once per
// several thousand new contexts.

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace reflex::analyze {

class ContextNovelty {
 public:
  static constexpr int kMaxOrder = 4;

  explicit ContextNovelty(int bins = 16, int order = 3, std::size_t capacity_log2 = 13)
      : bins_(bins), order_(std::clamp(order, 1, kMaxOrder)), slots_(std::size_t{1} << capacity_log2, 0) {}

  double update(double x) {
    if (n_ == 0) { lo_ = hi_ = x; }
    lo_ = std::min(lo_, x);
    hi_ = std::max(hi_, x);
    ++n_;
    const double width = (hi_ - lo_) / bins_;
    const int q = width > 0 ? std::min(static_cast<int>((x - lo_) / width), bins_ - 1) : 0;
    for (int k = kMaxOrder - 1; k > 0; --k) hist_[static_cast<std::size_t>(k)] = hist_[static_cast<std::size_t>(k - 1)];
    hist_[0] = q;
    if (n_ < static_cast<std::uint64_t>(order_)) return 0.0;
    std::uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < order_; ++k) {
      h ^= static_cast<std::uint64_t>(hist_[static_cast<std::size_t>(k)] + 1) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
      h *= 0xBF58476D1CE4E5B9ull;
    }
    const auto fp = static_cast<std::uint32_t>(h >> 32) | 1u;  // never 0 (= empty)
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == fp) return 0.0;
      if (slots_[i] == 0) {
        if (++used_ * 4 > slots_.size() * 3) {  // keep probing short: forget all
          std::fill(slots_.begin(), slots_.end(), 0u);
          used_ = 0;
          return 1.0;
        }
        slots_[i] = fp;
        return 1.0;
      }
    }
  }

 private:
  int bins_;
  int order_;
  std::vector<std::uint32_t> slots_;
  std::size_t used_ = 0;
  std::uint64_t n_ = 0;
  double lo_ = 0, hi_ = 0;
  std::array<int, kMaxOrder> hist_{};
};

}  // namespace reflex::analyze
