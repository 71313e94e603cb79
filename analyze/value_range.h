#pragma once
// ValueRange: the range of every value seen so far, and whether a new value
// lies strictly outside it. The first excursion beyond anything a series has
// ever shown is the most telling sign of trouble on real metrics (on the NAB dev
// subset about half of the flags inside labelled windows are such records and
// almost none of the false alarms are), and it needs no distributional
// assumption. Strict: touching the old extreme (a counter pinned at 0, a CPU at
// 100%) is not a record. O(1) memory.

#include <algorithm>
#include <cmath>

namespace reflex::analyze {

class ValueRange {
 public:
  // How far x lies outside the range of the values before it, as a fraction of
  // that range's width (0 inside or on the edge, and for the first value).
  // Then widens the range to include x.
  double update(double x) {
    double excess = 0;
    if (seen_) {
      const double width = std::max(hi_ - lo_, 1e-12 * std::max(1.0, std::abs(hi_)));
      if (x > hi_) excess = (x - hi_) / width;
      else if (x < lo_) excess = (lo_ - x) / width;
      hi_ = std::max(hi_, x);
      lo_ = std::min(lo_, x);
    } else {
      seen_ = true;
      hi_ = lo_ = x;
    }
    return excess;
  }

  double low() const { return lo_; }
  double high() const { return hi_; }

 private:
  bool seen_ = false;
  double lo_ = 0, hi_ = 0;
};

}  // namespace reflex::analyze
