#pragma once
// The cross-validated procedure the detector's defaults come from: where the
// descent starts, which settings it may change and to what, and what it
// maximises. The defaults in analyze/detector_params.h are what it chooses on
// all dev files; the cross-validated test runs it with each category held out.

#include "nab_cv.h"

namespace reflex::nab {

struct Procedure {
  Setting start;
  std::vector<FreeSetting> free;
  int rounds = 2;
  Objective objective;
};

inline Procedure shipped_procedure() {
  Procedure p;
  // Fixed, each for a reason independent of the scores (docs/analyze.md):
  // warm-up and record warm-up of 300 rows (a day of 5-minute rows), a short
  // mean of ~20 rows, a short spread of ~50, a slower mean of ~200, variance
  // and slower-mean weights 1 (neutral), suppression x0.3 after a raw 0.4.
  p.start = {{"warmup", "300"},        {"range_warmup", "300"},  {"alpha_short", "0.05"},
             {"alpha_var", "0.02"},    {"alpha_mid", "0.005"},   {"w_var", "1"},
             {"w_mid", "1"},           {"suppress_factor", "0.3"}, {"suppress_min", "0.4"}};
  // Free, a few coarse candidates each (the first is where the descent starts).
  p.free = {{"alpha_long", {"0.001", "0.0002", "0.0005"}}, {"w_seas", {"1", "1.5", "2"}},
            {"w_point", {"1", "0.25", "0.5"}},             {"w_short", {"1", "0.5"}},
            {"w_range", {"3", "1", "2", "4"}},             {"suppress_rows", {"80", "40", "160"}}};
  for (const auto& f : p.free) p.start[f.key] = f.values.front();
  p.rounds = 2;
  p.objective.catmean = true;
  p.objective.smooth = 2;  // the threshold (and the objective) over +-0.01 of the grid
  return p;
}

}  // namespace reflex::nab
