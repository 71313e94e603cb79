#pragma once
// TailRate: an empirical, exponentially forgetting estimate of how often a
// deviation at least this large occurs, P(|z| >= level), on a log-spaced grid of
// levels. No distribution is assumed, so a spiky or heavy-tailed series is
// judged against its own tails; a level never reached scores as rare as the
// remembered history is long. Memory: one counter per level.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace reflex::analyze {

class TailRate {
 public:
  static constexpr int kLevels = 32;
  static constexpr double kMinLevel = 2.0;
  static constexpr double kRatio = 1.15;  // levels 2.0 .. ~153

  explicit TailRate(double alpha = 1.0 / 5000.0) : alpha_(alpha) {}

  // -log10 of the estimated probability of a deviation >= |z| (before this row
  // is counted), then counts the row if recording has started.
  double update(double z) {
    const double a = std::abs(z);
    const int lvl = level_of(a);
    double surprise = 0;
    if (lvl >= 0 && started_) {
      const double p = (count_[static_cast<std::size_t>(lvl)] + kPrior) / (weight_ + kPrior);
      surprise = -std::log10(std::min(p, 1.0));
    }
    if (started_) {
      const double keep = 1.0 - alpha_;
      weight_ = weight_ * keep + 1.0;
      for (int k = 0; k < kLevels; ++k) count_[static_cast<std::size_t>(k)] = count_[static_cast<std::size_t>(k)] * keep + (k <= lvl ? 1.0 : 0.0);
    }
    return surprise;
  }

  void start() { started_ = true; }

  static int level_of(double a) {
    if (!(a >= kMinLevel)) return -1;
    const int k = static_cast<int>(std::log(a / kMinLevel) / std::log(kRatio));
    return k >= kLevels ? kLevels - 1 : k;
  }

 private:
  static constexpr double kPrior = 0.5;
  double alpha_;
  bool started_ = false;
  double weight_ = 0;
  std::array<double, kLevels> count_{};
};

}  // namespace reflex::analyze
