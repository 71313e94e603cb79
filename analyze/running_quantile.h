#pragma once
// RunningQuantile: the P-square estimate (Jain and Chlamtac, 1985) of one
// quantile of a stream, in five markers: O(1) time and memory per value, no
// buffer. Exact for the first five values; afterwards the markers move by
// piecewise-parabolic interpolation. value() is NaN before the first value.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace reflex::analyze {

class RunningQuantile {
 public:
  explicit RunningQuantile(double p = 0.5) : p_(std::clamp(p, 0.0, 1.0)) {
    dn_ = {0, p_ / 2, p_, (1 + p_) / 2, 1};
    want_ = {1, 1 + 2 * p_, 1 + 4 * p_, 3 + 2 * p_, 5};
  }

  void update(double x) {
    if (n_ < 5) {
      q_[static_cast<std::size_t>(n_)] = x;
      ++n_;
      std::sort(q_.begin(), q_.begin() + n_);
      return;
    }
    ++n_;
    int k;
    if (x < q_[0]) {
      q_[0] = x;
      k = 0;
    } else if (x >= q_[4]) {
      q_[4] = std::max(q_[4], x);
      k = 3;
    } else {
      k = 0;
      while (k < 3 && x >= q_[static_cast<std::size_t>(k) + 1]) ++k;
    }
    for (int i = k + 1; i < 5; ++i) pos_[static_cast<std::size_t>(i)] += 1;
    for (std::size_t i = 0; i < 5; ++i) want_[i] += dn_[i];
    for (std::size_t i = 1; i < 4; ++i) {
      const double d = want_[i] - pos_[i];
      if ((d >= 1 && pos_[i + 1] - pos_[i] > 1) || (d <= -1 && pos_[i - 1] - pos_[i] < -1)) {
        const double s = d >= 0 ? 1.0 : -1.0;
        const double qp = parabolic(i, s);
        q_[i] = q_[i - 1] < qp && qp < q_[i + 1] ? qp : linear(i, s);
        pos_[i] += s;
      }
    }
  }

  double value() const {
    if (n_ == 0) return std::numeric_limits<double>::quiet_NaN();
    if (n_ < 5) {
      // Exact on the few values seen: the nearest rank.
      const auto i = static_cast<std::size_t>(std::lround(p_ * static_cast<double>(n_ - 1)));
      return q_[i];
    }
    return q_[2];
  }
  std::uint64_t count() const { return n_; }

 private:
  double parabolic(std::size_t i, double s) const {
    const double a = pos_[i - 1], b = pos_[i], c = pos_[i + 1];
    return q_[i] + s / (c - a) *
                       ((b - a + s) * (q_[i + 1] - q_[i]) / (c - b) + (c - b - s) * (q_[i] - q_[i - 1]) / (b - a));
  }
  double linear(std::size_t i, double s) const {
    const std::size_t j = s > 0 ? i + 1 : i - 1;
    return q_[i] + s * (q_[j] - q_[i]) / (pos_[j] - pos_[i]);
  }

  double p_;
  std::uint64_t n_ = 0;
  std::array<double, 5> q_{};                   // marker heights
  std::array<double, 5> pos_{1, 2, 3, 4, 5};    // marker positions (1-based ranks)
  std::array<double, 5> want_{};                // desired positions
  std::array<double, 5> dn_{};                  // their increments per value
};

}  // namespace reflex::analyze
