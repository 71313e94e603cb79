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
        bin_state_(static_cast<std::size_t>(bins_)),
        spread_(alpha_spread) {}

  // Residual z of x at time t (0 while the bin is unseasoned); floor: the
  // smallest spread (scale floor of the series).
  double judge(double t, double x, double floor) {
    const double phase = std::fmod(t, period_);
    bin_ = static_cast<std::size_t>(
        std::clamp(static_cast<int>(phase / period_ * bins_), 0, bins_ - 1));
    const Bin& b = bin_state_[bin_];
    res_ = x - b.mean;
    seasoned_ = b.visits >= 2;
    if (!seasoned_) return z_ = 0.0;
    return z_ = spread_.z(res_, floor);
  }

  // Learns the row last judged; deviations beyond clip_z spreads are clipped.
  void learn(double clip_z, double floor) {
    Bin& b = bin_state_[bin_];
    if (seasoned_) spread_.update(spread_.mean() + std::clamp(z_, -clip_z, clip_z) * std::max(spread_.stddev(), floor));
    else if (b.visits >= 1) spread_.update(res_);
    const double sd = std::max(spread_.stddev(), floor);
    const double a = std::max(alpha_, 1.0 / (b.visits + 1.0));
    b.mean += a * (seasoned_ ? std::clamp(res_, -clip_z * sd, clip_z * sd) : res_);
    ++b.visits;
  }

  double residual() const { return res_; }  // raw residual of the row last judged
  bool seasoned() const { return seasoned_; }

 private:
  double period_;
  int bins_;
  double alpha_;
  // A bin's mean beside its visits: one cache line per row, not two.
  struct Bin {
    double mean = 0;
    std::uint32_t visits = 0;
  };
  std::vector<Bin> bin_state_;
  Ewm spread_;
  std::size_t bin_ = 0;
  double res_ = 0, z_ = 0;
  bool seasoned_ = false;
};

}  // namespace reflex::analyze
