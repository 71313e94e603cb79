#pragma once
// Exponentially weighted mean and variance with a robust warm-up: until 1/alpha
// samples have been seen the weight is 1/n (a plain running mean), so early
// estimates are not dragged towards the first sample or towards zero.

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace reflex::analyze {

class Ewm {
 public:
  explicit Ewm(double alpha = 0.01) : alpha_(alpha) {}

  void update(double x) {
    ++n_;
    const double a = std::max(alpha_, 1.0 / static_cast<double>(n_));
    const double d = x - mean_;
    mean_ += a * d;
    // West's incremental weighted variance: stays >= 0 and exact for a = 1/n.
    var_ = (1.0 - a) * (var_ + a * d * d);
  }

  double mean() const { return mean_; }
  double variance() const { return var_; }
  double stddev() const { return std::sqrt(var_); }
  std::uint64_t count() const { return n_; }
  double alpha() const { return alpha_; }
  // Standard score of x against the current estimate, with a floor on the scale.
  double z(double x, double min_std) const { return (x - mean_) / std::max(stddev(), min_std); }

 private:
  double alpha_;
  double mean_ = 0;
  double var_ = 0;
  std::uint64_t n_ = 0;
};

// Exponentially weighted mean alone (cheaper when no spread is needed).
class EwMean {
 public:
  explicit EwMean(double alpha = 0.1) : alpha_(alpha) {}
  void update(double x) {
    ++n_;
    const double a = std::max(alpha_, 1.0 / static_cast<double>(n_));
    mean_ += a * (x - mean_);
  }
  double mean() const { return mean_; }
  std::uint64_t count() const { return n_; }

 private:
  double alpha_;
  double mean_ = 0;
  std::uint64_t n_ = 0;
};

}  // namespace reflex::analyze
