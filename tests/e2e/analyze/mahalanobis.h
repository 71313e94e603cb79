#pragma once
// Mahalanobis: a multivariate view of one subject (e.g. an interface's feature
// vector: rx pps, bps, packet size, new sources per second, drop share).
// Measured, not shipped: on recorded floods and flash crowds it flags both
// (flood_recording_test.cpp, docs/analyze.md), so the Analyzer does not use
// it; it lives here with the measurement that decided that. Keeps an exponentially
// weighted mean and covariance and reports the Mahalanobis distance of each new
// vector before learning it, so a combination that is unusual together (high
// rate with low drops, say) stands out even when each feature alone looks
// normal. Fixed memory: O(D^2) for D features.

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace reflex::analyze {

template <int D>
class Mahalanobis {
 public:
  using Vec = Eigen::Matrix<double, D, 1>;
  using Mat = Eigen::Matrix<double, D, D>;

  explicit Mahalanobis(double alpha = 0.01, double ridge = 1e-6) : alpha_(alpha), ridge_(ridge) {
    mean_.setZero();
    cov_.setZero();
  }

  // Distance of x from the learned distribution (0 until two vectors were
  // seen), then learns x.
  double update(const Vec& x) {
    double d = 0;
    if (n_ >= 2) d = distance(x);
    ++n_;
    const double a = std::max(alpha_, 1.0 / static_cast<double>(n_));
    const Vec delta = x - mean_;
    mean_ += a * delta;
    cov_ = (1.0 - a) * (cov_ + a * delta * delta.transpose());
    return d;
  }

  double distance(const Vec& x) const {
    // Ridge on the diagonal, scaled to each feature, keeps a constant feature
    // from making the covariance singular.
    Mat c = cov_;
    for (int i = 0; i < D; ++i) c(i, i) += ridge_ * (1.0 + mean_(i) * mean_(i)) + 1e-12;
    const Eigen::LDLT<Mat> ldlt(c);
    const Vec delta = x - mean_;
    return std::sqrt(std::max(0.0, delta.dot(ldlt.solve(delta))));
  }

  const Vec& mean() const { return mean_; }
  const Mat& covariance() const { return cov_; }

 private:
  double alpha_, ridge_;
  std::uint64_t n_ = 0;
  Vec mean_;
  Mat cov_;
};

}  // namespace reflex::analyze
