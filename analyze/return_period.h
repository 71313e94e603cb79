#pragma once
// ReturnPeriod: how many rows since a deviation at least this large was last
// seen. If |z| values were exchangeable, a row whose |z| tops the last R rows has
// probability 1/R, so R is a distribution-free surprise that means the same on
// every series and needs no Gaussian assumption (heavy-tailed and spiky series
// are judged against their own history). Memory: one slot per level.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace reflex::analyze {

class ReturnPeriod {
 public:
  static constexpr int kLevels = 32;
  static constexpr double kMinLevel = 2.0;
  static constexpr double kRatio = 1.15;  // levels 2.0 .. ~153

  // Rows since a deviation >= |z| was last seen (capped by rows observed since
  // start()); then records this row. Rows before start() are learned but never
  // set records, so a detector's warm-up cannot make everything look familiar.
  // margin: the row also counts as having reached `margin` levels above its own,
  // so a deviation that keeps creeping up does not set a new record every row.
  double update(double z, int margin = 0) {
    ++t_;
    const double a = std::abs(z);
    const int lvl = level_of(a);
    double r = 0;
    if (lvl >= 0) r = static_cast<double>(t_ - last_[static_cast<std::size_t>(lvl)]);
    if (started_)
      for (int k = 0, top = lvl < 0 ? -1 : std::min(lvl + margin, kLevels - 1); k <= top; ++k)
        last_[static_cast<std::size_t>(k)] = t_;
    return r;
  }

  // Begins recording: rows from now on count as history.
  void start() {
    if (started_) return;
    started_ = true;
    last_.fill(t_);
  }

  static int level_of(double a) {
    if (!(a >= kMinLevel)) return -1;
    const int k = static_cast<int>(std::log(a / kMinLevel) / std::log(kRatio));
    return k >= kLevels ? kLevels - 1 : k;
  }

 private:
  std::int64_t t_ = 0;
  bool started_ = false;
  std::array<std::int64_t, kLevels> last_{};
};

}  // namespace reflex::analyze
