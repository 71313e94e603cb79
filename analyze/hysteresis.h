#pragma once
// Hysteresis: a symptom is raised when its value reaches `raise` on `raise_after`
// consecutive ticks and cleared only when it falls to `clear` on `clear_after`
// consecutive ticks, so a value hovering near one threshold does not flap.
// Works for "higher is worse" (raise > clear) and "lower is worse" (raise < clear).

#include "knowledge/time.h"

namespace reflex::analyze {

struct HysteresisConfig {
  double raise = 1.0;
  double clear = 0.5;
  int raise_after = 1;
  int clear_after = 2;
};

class Hysteresis {
 public:
  // Returns whether the condition is active after this tick.
  bool update(double value, const HysteresisConfig& c, TimeNs now) {
    const bool up = c.raise >= c.clear;
    const bool over = up ? value >= c.raise : value <= c.raise;
    const bool under = up ? value <= c.clear : value >= c.clear;
    if (!active_) {
      above_ = over ? above_ + 1 : 0;
      if (above_ >= c.raise_after) {
        active_ = true;
        since_ = now;
        below_ = 0;
      }
    } else {
      below_ = under ? below_ + 1 : 0;
      if (below_ >= c.clear_after) {
        active_ = false;
        above_ = 0;
      }
    }
    return active_;
  }

  bool active() const { return active_; }
  TimeNs since() const { return since_; }

 private:
  bool active_ = false;
  int above_ = 0, below_ = 0;
  TimeNs since_ = 0;
};

}  // namespace reflex::analyze
