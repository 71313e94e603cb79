#pragma once
// SignalGate: one Analyzer series (an interface's RTT p99, its TCP retransmit
// share, a drop share, a map's growth, rx pps/bps) through the SeriesDetector
// that NAB scores, as the gate of a
// symptom's raise. The symptom's level (a ratio to the baseline, a share) is
// what its hysteresis holds; the detector says whether that level is unusual
// for this series: a path whose p99 often doubles, or that always retransmits
// a little, learns that, while one that was steady and jumps is flagged. The
// raise stays open for `arm` ticks after an unusual row, since the return
// periods the detector scores surprise at an onset and not on the rows after
// it (the hysteresis needs those for its confirmation).
//
// The detector learns the series in log space, only on rows the caller calls
// ordinary (the symptoms' shares: not while the symptom is active, so an
// incident does not become the baseline; map growth and traffic: every row).

#include "analyze/detector_params.h"
#include "analyze/series_detector.h"

#include <algorithm>
#include <cmath>

namespace reflex::analyze {

class SignalGate {
 public:
  explicit SignalGate(const DetectorParams& p = DetectorParams::for_signals())
      : det_(p), warmup_(static_cast<std::uint64_t>(p.warmup)) {}

  // Scores and learns x (> 0; values below `floor` count as `floor`) when
  // `learn`; returns whether the raise is open this tick.
  bool open(double t_s, double x, double floor, bool learn, int arm) {
    if (learn) {
      score_ = det_.update(t_s, std::log(std::max(x, floor)));
      if (score_ >= DetectorParams::kAlarmScore && det_.rows() > warmup_) armed_ = arm;
    }
    const bool is_open = armed_ > 0;
    if (armed_ > 0) --armed_;
    return is_open;
  }

  // Whether the baseline has seen enough rows to judge against.
  bool trusted() const { return det_.rows() > warmup_; }
  // The baseline in the series' units (the geometric mean of ordinary rows).
  double baseline() const { return std::exp(det_.baseline()); }
  double score() const { return score_; }

 private:
  SeriesDetector det_;
  std::uint64_t warmup_;
  double score_ = 0;
  int armed_ = 0;
};

}  // namespace reflex::analyze
