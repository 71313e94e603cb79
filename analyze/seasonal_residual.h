#pragma once
// SeasonalResidual: how far a value lies from what this time of the period
// (day, week) usually shows. The period is cut into bins; each bin keeps an EW
// mean of its values (1/n for its first visits), and the residuals share one
// EW spread, so the deviation is a z-score. A bin is judged only once it has
// been visited twice. Two-step use per row: judge() against the state before the
// row, then learn() (winsorised, so an outlier does not move the profile much).

#include "analyze/ewm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace reflex::analyze {

class SeasonalResidual {
 public:
  // period: seconds; bins: per period; alpha: per-visit adaptation of a bin;
  // alpha_spread: adaptation of the residuals' spread.
  SeasonalResidual(double period, int bins, double alpha, double alpha_spread)
      : period_(period),
        bins_(std::max(1, bins)),
        alpha_(alpha),
        mean_(static_cast<std::size_t>(bins_), 0.0),
        visits_(static_cast<std::size_t>(bins_), 0),
        spread_(alpha_spread) {}

  // Residual z of x at time t (0 while the bin is unseasoned); floor: the
  // smallest spread (scale floor of the series).
  double judge(double t, double x, double floor) {
    const double phase = std::fmod(t, period_);
    bin_ = static_cast<std::size_t>(
        std::clamp(static_cast<int>(phase / period_ * bins_), 0, bins_ - 1));
    res_ = x - mean_[bin_];
    seasoned_ = visits_[bin_] >= 2;
    if (!seasoned_) return z_ = 0.0;
    return z_ = spread_.z(res_, floor);
  }

  // Learns the row last judged; deviations beyond clip_z spreads are clipped.
  void learn(double clip_z, double floor) {
    if (seasoned_) spread_.update(spread_.mean() + std::clamp(z_, -clip_z, clip_z) * std::max(spread_.stddev(), floor));
    else if (visits_[bin_] >= 1) spread_.update(res_);
    const double sd = std::max(spread_.stddev(), floor);
    const double a = std::max(alpha_, 1.0 / (visits_[bin_] + 1.0));
    mean_[bin_] += a * (seasoned_ ? std::clamp(res_, -clip_z * sd, clip_z * sd) : res_);
    ++visits_[bin_];
  }

  double residual() const { return res_; }  // raw residual of the row last judged
  bool seasoned() const { return seasoned_; }

 private:
  double period_;
  int bins_;
  double alpha_;
  std::vector<double> mean_;
  std::vector<std::uint32_t> visits_;
  Ewm spread_;
  std::size_t bin_ = 0;
  double res_ = 0, z_ = 0;
  bool seasoned_ = false;
};

}  // namespace reflex::analyze
