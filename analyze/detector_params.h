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

  // "key=value"; false when the key is unknown or the value is bad.
  bool set(std::string_view key, std::string_view value);
  std::string to_string() const;
};

}  // namespace reflex::analyze
