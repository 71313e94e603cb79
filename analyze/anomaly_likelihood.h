#pragma once
// AnomalyLikelihood (after Numenta's): turns a raw anomaly score in [0, 1] into
// how unlikely its recent average is given the long-run distribution of that
// average. A raw score that is often high (noisy series) stops alarming; a burst
// of high raw scores on a usually quiet series alarms. Returns -log10 of the
// Gaussian tail probability (0 = ordinary, 5 = one in 100000).

#include "analyze/ewm.h"

#include <algorithm>
#include <cmath>

namespace reflex::analyze {

class AnomalyLikelihood {
 public:
  AnomalyLikelihood(double alpha_short = 0.1, double alpha_long = 0.0005, double min_std = 0.02)
      : short_(alpha_short), long_(alpha_long), min_std_(min_std) {}

  double update(double raw) {
    short_.update(raw);
    const double avg = short_.mean();
    double surprise = 0;
    if (long_.count() > 0) {
      const double z = (avg - long_.mean()) / std::max(long_.stddev(), min_std_);
      const double tail = 0.5 * std::erfc(z / std::sqrt(2.0));
      surprise = -std::log10(std::max(tail, 1e-300));
    }
    long_.update(avg);
    return surprise;
  }

 private:
  EwMean short_;
  Ewm long_;
  double min_std_;
};

}  // namespace reflex::analyze
