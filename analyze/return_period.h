#pragma once
// ReturnPeriod: how many rows since a deviation at least this large was last
// seen. If |z| values were exchangeable, a row whose |z| tops the last R rows has
// probability 1/R, so R is a distribution-free surprise that means the same on
// every series and needs no Gaussian assumption (heavy-tailed and spiky series
// are judged against their own history). Memory: one slot per level.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace reflex::analyze {

// ReturnPeriods<N>: N series' return periods on one row clock (a detector's
// components all see every row). The shared clock and the start flag sit in
// one cache line, and a row below every level reads nothing else: a fleet of
// thousands of detectors is bound by the lines each row touches.
template <std::size_t N>
class ReturnPeriods {
 public:
  static constexpr int kLevels = 32;
  static constexpr double kMinLevel = 2.0;
  static constexpr double kRatio = 1.15;  // levels 2.0 .. ~153

  // A new row: once, before the series' update()s for it.
  void next() { ++t_; }
  // Rows since series k's deviation >= |z| was last seen (capped by rows
  // observed since start()); then records this row. Rows before start() are
  // learned but never set records, so a detector's warm-up cannot make
  // everything look familiar. margin: the row also counts as having reached
  // `margin` levels above its own, so a deviation that keeps creeping up does
  // not set a new record every row.
  double update(std::size_t k, double z, int margin = 0) {
    const int lvl = level_of(std::abs(z));
    auto& last = last_[k];
    double r = 0;
    if (lvl >= 0) r = static_cast<double>(t_ - last[static_cast<std::size_t>(lvl)]);
    if (started_)
      for (int j = 0, top = lvl < 0 ? -1 : std::min(lvl + margin, kLevels - 1); j <= top; ++j)
        last[static_cast<std::size_t>(j)] = t_;
    return r;
  }

  // Begins recording: rows from now on count as history.
  void start() {
    if (started_) return;
    started_ = true;
    for (auto& l : last_) l.fill(t_);
  }
  bool started() const { return started_; }

  static int level_of(double a) {
    if (!(a >= kMinLevel)) return -1;
    const int k = static_cast<int>(std::log(a / kMinLevel) / std::log(kRatio));
    return k >= kLevels ? kLevels - 1 : k;
  }

 private:
  std::int64_t t_ = 0;
  bool started_ = false;
  std::array<std::array<std::int64_t, kLevels>, N> last_{};
};

// One series on its own clock.
class ReturnPeriod {
 public:
  static constexpr int kLevels = ReturnPeriods<1>::kLevels;

  double update(double z, int margin = 0) {
    p_.next();
    return p_.update(0, z, margin);
  }
  void start() { p_.start(); }
  static int level_of(double a) { return ReturnPeriods<1>::level_of(a); }

 private:
  ReturnPeriods<1> p_;
};

}  // namespace reflex::analyze
