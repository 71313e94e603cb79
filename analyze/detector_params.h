#pragma once
// Settings of the fused series detector. One set of values serves every series
// (no per-series tuning); the defaults are the ones measured best on the NAB dev
// subset (docs/analyze.md has the table).

#include <string>
#include <string_view>

namespace reflex::analyze {

struct DetectorParams {
  int warmup = 150;            // rows scored 0 while the baselines settle
  double alpha_long = 0.003;   // baseline (mean/spread) adaptation per row
  double alpha_short = 0.1;    // short mean for level shifts
  double alpha_var = 0.05;     // short spread for variance changes
  double clip_z = 4.0;         // baseline updates winsorised at this many sigmas
  double max_decay = 0.9995;   // per-row decay of each component's record
  double min_record = 3.0;     // a component's record never falls below this z
  double w_point = 1.0, w_short = 1.0, w_diff = 1.0, w_var = 1.0, w_seas = 1.0;
  int season_bins = 48;        // time-of-day bins of the seasonal baseline
  double alpha_season = 0.2;   // per-visit adaptation of a bin
  int suppress_rows = 0;       // after an output peak, damp smaller outputs this long
  double suppress_factor = 0.5;
  double suppress_min = 0.5;   // raw level that starts a suppression period
  int rp_margin = 0;           // return-period levels credited above the observed one
  int fuse = 0;                // 0: max return period, 1: sum of log return periods
  double fuse_temp = 1;
  double w_rp = 1;             // weight of the z-components' log10 return period
  double w_ctx = 0;            // weight of the context-novelty likelihood (-log10 p)
  int ctx_bins = 16, ctx_order = 3;
  double al_short = 0.1, al_long = 0.0005, al_min_std = 0.02;
  double out_scale = 3;        // fused surprise that maps to score 0.5
  double len_pow = 0, len_offset = 1000;
  double tail_alpha = 0.0002;
  int novelty = 1;             // 0: record ratio, 1: return period
  double rp_scale = 1000;      // return period (rows) that maps to score 0.5

  // "key=value"; false when the key is unknown or the value is bad.
  bool set(std::string_view key, std::string_view value);
  std::string to_string() const;
};

}  // namespace reflex::analyze
