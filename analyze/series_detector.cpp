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
    : p_(p),
      level_(p.alpha_long),
      short_(p.alpha_short),
      short_dev_(p.alpha_long),
      mid_(p.alpha_mid),
      mid_dev_(p.alpha_long),
      diff_(p.alpha_long),
      var_short_(p.alpha_var),
      log_var_(p.alpha_long),
      season_(p.season_period, p.season_bins, p.alpha_season, p.alpha_long, p.season_jitter),
      season_short_(p.alpha_season_short),
      season_short_dev_(p.alpha_long),
      ctx_(p.ctx_bins, p.ctx_order),
      ctx_like_(p.al_short, p.al_long, p.al_min_std) {
  record_.fill(p.min_record);
  tail_.fill(TailRate(p.tail_alpha));
}

double SeriesDetector::update(double t, double x) {
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

  const double d = first ? 0.0 : x - prev_;
  const double z_diff = n_ < 3 ? 0.0 : diff_.z(d, fl);

  const double e2 = first ? 0.0 : (x - level_.mean()) * (x - level_.mean());
  var_short_.update(e2);
  const double lv = std::log((var_short_.mean() + fl * fl) / (level_.variance() + fl * fl));
  const double z_var = n_ < 3 ? 0.0 : log_var_.z(lv, 0.05);

  const double z_seas = season_.judge(t, x, fl);
  const bool seasoned = season_.seasoned();
  const double res = season_.residual();

  // Seasonal level shift: a run of residuals on one side (a missing peak, a flat day).
  double z_seas_short = 0;
  if (seasoned) {
    season_short_.update(res);
    z_seas_short = season_short_dev_.z(season_short_.mean(), fl);
  }

  z_ = {z_point, z_short, z_diff, z_var, z_seas, z_seas_short, z_mid};
  const std::array<double, kComponents> w{p_.w_point, p_.w_short,      p_.w_diff, p_.w_var,
                                          p_.w_seas,  p_.w_seas_short, p_.w_mid};

  double raw = 0;
  const bool live = n_ > static_cast<std::uint64_t>(p_.warmup);
  if (p_.novelty == 3) {
    // One fused deviation (the largest weighted component), one return period.
    double dmax = 0;
    for (int k = 0; k < kComponents; ++k)
      dmax = std::max(dmax, w[static_cast<std::size_t>(k)] * std::abs(z_[static_cast<std::size_t>(k)]));
    if (live) fused_rp_.start();
    raw = std::log10(1.0 + fused_rp_.update(dmax, p_.rp_margin));
    raw -= p_.len_pow * std::log10(static_cast<double>(n_ - static_cast<std::uint64_t>(p_.warmup)) + p_.len_offset);
    raw *= p_.w_rp;
  } else if (p_.novelty == 2) {
    // Tail rate: -log10 P(deviation this large), the most surprising component.
    for (int k = 0; k < kComponents; ++k) {
      auto& tr = tail_[static_cast<std::size_t>(k)];
      if (live) tr.start();
      const double wk = w[static_cast<std::size_t>(k)];
      const double s = tr.update(z_[static_cast<std::size_t>(k)]);
      if (live && wk > 0) raw = p_.fuse == 0 ? std::max(raw, wk * s) : raw + wk * s;
    }
    raw *= p_.w_rp;
  } else if (p_.novelty == 1) {
    // Return period: rows since each component last deviated this far.
    for (int k = 0; k < kComponents; ++k) {
      auto& rp = rp_[static_cast<std::size_t>(k)];
      if (live) rp.start();
      const double wk = w[static_cast<std::size_t>(k)];
      const double r = rp.update(z_[static_cast<std::size_t>(k)] * wk, p_.rp_margin);
      surprise_[static_cast<std::size_t>(k)] = live && wk > 0 ? wk * std::log10(1.0 + r) : 0.0;
      if (live && wk > 0) raw = p_.fuse == 0 ? std::max(raw, r) : raw + wk * std::log1p(r);
    }
    raw = p_.fuse == 0 ? std::log10(1.0 + raw) : raw / std::log(10.0);
    // Long series see rare deviations more often: discount by history length.
    raw -= p_.len_pow * std::log10(static_cast<double>(n_ - static_cast<std::uint64_t>(p_.warmup)) + p_.len_offset);
    raw *= p_.w_rp;
  } else {
    // Record: how far each component goes past its own (slowly forgotten) record.
    for (int k = 0; k < kComponents; ++k) {
      const double a = std::abs(z_[static_cast<std::size_t>(k)]);
      double& rec = record_[static_cast<std::size_t>(k)];
      if (w[static_cast<std::size_t>(k)] > 0 && live)
        raw = std::max(raw, w[static_cast<std::size_t>(k)] * a / rec);
      rec = std::max({rec * p_.max_decay, a, p_.min_record});
    }
  }

  // A value beyond every value seen before (a new all-time high or low): the
  // component z-scores are judged against forgetting baselines and cannot tell
  // a spike to a level seen fifty times before from a first excursion.
  if (range_.update(x) > 0 && live && n_ > static_cast<std::uint64_t>(p_.range_warmup)) raw += p_.w_range;

  if (p_.w_ctx > 0) {
    const double s_ctx = ctx_like_.update(ctx_.update(x));
    if (live) raw += p_.w_ctx * s_ctx;
  }

  // Learn, winsorised so one outlier does not inflate the spread it is judged by.
  const double c = p_.clip_z;
  level_.update(first ? x : level_.mean() + clip(z_point, c) * sd);
  if (!first) {
    short_dev_.update(short_dev_.mean() + clip(z_short, c) * std::max(short_dev_.stddev(), fl));
    mid_dev_.update(mid_dev_.mean() + clip(z_mid, c) * std::max(mid_dev_.stddev(), fl));
    if (n_ >= 2) diff_.update(n_ < 3 ? d : diff_.mean() + clip(z_diff, c) * std::max(diff_.stddev(), fl));
    log_var_.update(lv);
  }
  if (seasoned)
    season_short_dev_.update(season_short_dev_.mean() +
                             clip(z_seas_short, c) * std::max(season_short_dev_.stddev(), fl));
  season_.learn(c, fl);
  prev_ = x;

  if (n_ <= static_cast<std::uint64_t>(p_.warmup)) return 0.0;

  // Alert suppression: after a peak, smaller outputs are damped for a while, so
  // one event yields one flag rather than a train of them.
  double out = raw;
  if (p_.suppress_rows > 0) {
    ++since_peak_;
    if (since_peak_ <= p_.suppress_rows) {
      out = raw * p_.suppress_factor;
    } else if (raw >= p_.suppress_min) {
      since_peak_ = 0;
    }
  }
  // Monotone squash to [0, 1): only the ordering matters to a threshold.
  out = std::max(out, 0.0);
  return out / (out + p_.out_scale);
}

}  // namespace reflex::analyze
