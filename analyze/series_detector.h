#pragma once
// SeriesDetector: the fused streaming detector for one univariate series.
// update() takes one row (time, value) and returns its anomaly score in [0, 1];
// the score of a row depends only on that row and the ones before it. Memory is
// fixed (no history buffer grows with the stream).

#include "analyze/deep_box.h"
#include "analyze/detector_params.h"
#include "analyze/ewm.h"
#include "analyze/return_period.h"
#include "analyze/seasonal_residual.h"
#include "analyze/value_range.h"

#include <array>
#include <cstdint>
#include <vector>

namespace reflex::analyze {

class SeriesDetector {
 public:
  static constexpr std::size_t kComponents = 5;
  enum Component { kPoint = 0, kShort, kVar, kSeason, kMid };

  explicit SeriesDetector(const DetectorParams& p = {});

  // t_seconds: the row's time (wall or monotonic, seconds); value: the sample.
  double update(double t_seconds, double value);

  // The long baseline's mean and spread, after the last row (evidence).
  double baseline() const { return level_.mean(); }
  double spread() const { return level_.stddev(); }
  std::uint64_t rows() const { return n_; }

  // The components' last standardised deviations (for evidence and tests).
  const std::array<double, kComponents>& last_z() const { return z_; }
  // Each component's weighted log10 return period at the last row (evidence).
  const std::array<double, kComponents>& last_surprise() const { return surprise_; }

 private:
  const DetectorParams* p_;  // interned: shared by every detector with these settings
  std::uint64_t n_ = 0;
  Ewm level_;        // long baseline of the value
  EwMean short_;     // short mean of the value
  Ewm short_dev_;    // long baseline of (short mean - level)
  EwMean mid_;       // slower mean of the value
  Ewm mid_dev_;      // long baseline of (slower mean - level)
  EwMean var_short_; // short mean of squared deviation
  Ewm log_var_;      // long baseline of log(short var / long var)
  // Time of day, only where it weighs in (w_seas not 0): the Analyzer's
  // signals have none, and its bins would be a second allocation per row.
  DeepBox<SeasonalResidual> season_;
  std::array<double, kComponents> z_{};
  std::array<double, kComponents> surprise_{};
  ValueRange range_;
  int since_peak_ = 1 << 30;
  // Last: most rows read only its clock, at its start, beside the state
  // above; its per-level records (1.3 KB) are touched only on deviations.
  ReturnPeriods<kComponents> rp_;
};

}  // namespace reflex::analyze
