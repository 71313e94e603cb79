#include "common/log2_histogram.h"

#include <algorithm>
#include <cmath>

namespace reflex {

double log2_quantile(std::span<const std::uint64_t> slots, double q) {
  std::uint64_t total = 0;
  for (auto c : slots) total += c;
  if (total == 0) return 0;
  // Rank of the wanted sample, 1-based: the smallest value with at least q of the samples at or below it.
  // (The epsilon keeps 0.9 * 100 = 90.00000000000001 from meaning rank 91.)
  const double rank = std::max(1.0, std::ceil(q * static_cast<double>(total) - 1e-9));
  double seen = 0;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i]) continue;
    const double c = static_cast<double>(slots[i]);
    if (seen + c >= rank) {
      const double lo = i == 0 ? 0.0 : std::ldexp(1.0, static_cast<int>(i));
      const double hi = std::ldexp(1.0, static_cast<int>(i) + 1);
      // Samples spread evenly over the slot: the rank-th is the middle of its 1/c share.
      return lo + (hi - lo) * ((rank - seen - 0.5) / c);
    }
    seen += c;
  }
  return std::ldexp(1.0, static_cast<int>(slots.size()));
}

}  // namespace reflex
