#include "analyze/series_detector.h"

#include <algorithm>
#include <cmath>

namespace reflex::analyze {
namespace {

// Scale floor so a flat series does not divide by zero, relative to its level.
double floor_for(double level) { return 1e-6 + 1e-4 * std::abs(level); }

double clip(double z, double c) { return std::clamp(z, -c, c); }

}  // namespace

SeriesDetector::SeriesDetector(const DetectorParams& p)
    : p_(&DetectorParams::interned(p)),
      level_(p.alpha_long),
      short_(p.alpha_short),
      short_dev_(p.alpha_long),
      mid_(p.alpha_mid),
      mid_dev_(p.alpha_long),
      var_short_(p.alpha_var),
      log_var_(p.alpha_long) {
  if (p.w_seas != 0) season_.emplace(p.season_period, p.season_bins, p.alpha_season, p.alpha_long);
}

double SeriesDetector::update(double t, double x) {
  const DetectorParams& p = *p_;
  ++n_;
  const bool first = n_ == 1;
  const double fl = floor_for(level_.mean());

  // Standardised deviations against the state before this row (no self-influence).
  const double sd = std::max(level_.stddev(), fl);
  const double z_point = first ? 0.0 : (x - level_.mean()) / sd;

  short_.update(x);
  const double dev = short_.mean() - level_.mean();
  const double z_short = first ? 0.0 : short_dev_.z(dev, fl);

  // A slower mean: a shift sustained over hundreds of rows, whose smoothed
  // level stands out although no single row or short run does.
  mid_.update(x);
  const double dev_mid = mid_.mean() - level_.mean();
  const double z_mid = first ? 0.0 : mid_dev_.z(dev_mid, fl);

  const double e2 = first ? 0.0 : (x - level_.mean()) * (x - level_.mean());
  var_short_.update(e2);
  const double lv = std::log((var_short_.mean() + fl * fl) / (level_.variance() + fl * fl));
  const double z_var = n_ < 3 ? 0.0 : log_var_.z(lv, 0.05);

  // Without a weight the residual would count for nothing: it is not kept.
  const double z_seas = season_ ? season_->judge(t, x, fl) : 0.0;

  z_ = {z_point, z_short, z_var, z_seas, z_mid};
  const std::array<double, kComponents> w{p.w_point, p.w_short, p.w_var, p.w_seas, p.w_mid};

  // Return period: rows since each component last deviated this far; the
  // surprise is the weighted sum of their log10, less log10 of the rows seen
  // (a long series sees rare deviations more often).
  double raw = 0;
  const bool live = n_ > static_cast<std::uint64_t>(p.warmup);
  if (live) rp_.start();
  rp_.next();
  for (std::size_t k = 0; k < kComponents; ++k) {
    const double r = rp_.update(k, z_[k] * w[k], p.rp_margin);
    // r is 0 on most rows (no component deviates past the lowest level),
    // whose logs are exactly 0: not worth two library calls a component.
    surprise_[k] = live && w[k] > 0 && r != 0 ? w[k] * std::log10(1.0 + r) : 0.0;
    if (live && w[k] > 0 && r != 0) raw += w[k] * std::log1p(r);
  }
  raw /= std::log(10.0);
  raw -= std::log10(static_cast<double>(n_ - static_cast<std::uint64_t>(p.warmup)) + p.len_offset);

  // A value beyond every value seen before (a new all-time high or low): the
  // component z-scores are judged against forgetting baselines and cannot tell
  // a spike to a level seen fifty times before from a first excursion.
  if (range_.update(x) > 0 && live && n_ > static_cast<std::uint64_t>(p.range_warmup)) raw += p.w_range;

  // Learn, winsorised so one outlier does not inflate the spread it is judged by.
  const double c = p.clip_z;
  level_.update(first ? x : level_.mean() + clip(z_point, c) * sd);
  if (!first) {
    short_dev_.update(short_dev_.mean() + clip(z_short, c) * std::max(short_dev_.stddev(), fl));
    mid_dev_.update(mid_dev_.mean() + clip(z_mid, c) * std::max(mid_dev_.stddev(), fl));
    log_var_.update(lv);
  }
  if (season_) season_->learn(c, fl);

  if (n_ <= static_cast<std::uint64_t>(p.warmup)) return 0.0;

  // Alert suppression: after a peak, smaller outputs are damped for a while, so
  // one event yields one flag rather than a train of them.
  double out = raw;
  if (p.suppress_rows > 0) {
    ++since_peak_;
    if (since_peak_ <= p.suppress_rows) {
      out = raw * p.suppress_factor;
    } else if (raw >= p.suppress_min) {
      since_peak_ = 0;
    }
  }
  // Monotone squash to [0, 1): only the ordering matters to a threshold.
  out = std::max(out, 0.0);
  return out / (out + p.out_scale);
}

}  // namespace reflex::analyze
