#pragma once
// A hand-made run whose figures are known, for the metrics and report tests.
#include "sim/run_data.h"

namespace reflex::sim::testing {

constexpr TimeNs kMs = kNsPerMs;

// 10 s at 10 ms: benign UDP 1000 pps (class 1) all served until the attack,
// attack 10 kpps (class 2) from 3 s to 7 s, dropped from drop_at on; benign
// served at half while the attack gets through.
inline RunData synthetic_run(TimeNs drop_at) {
  RunData r;
  r.duration_ns = r.end_ns = 10 * kNsPerSec;
  r.onset_ns = 3 * kNsPerSec;
  r.attack_end_ns = 7 * kNsPerSec;
  r.attack_windows = {{3 * kNsPerSec, 7 * kNsPerSec}};
  r.classes = {{"unclassified", TrafficClass::benign, TrafficKind::udp, {}, 0, 0, 0},
               {"clients", TrafficClass::benign, TrafficKind::udp, {1}, 1000, 0, 10 * kNsPerSec},
               {"flood", TrafficClass::attack, TrafficKind::udp, {2}, 10000, 3 * kNsPerSec, 7 * kNsPerSec}};
  std::uint64_t offered_b = 0, served_b = 0, offered_a = 0, arrived_a = 0;
  for (TimeNs t = 0; t <= r.duration_ns; t += 10 * kMs) {
    Sample s;
    s.t_ns = t;
    s.offered = {0, offered_b, offered_a};
    s.arrived = {0, served_b, arrived_a};
    s.served = {0, served_b, 0};
    s.guard_dropped = offered_a - arrived_a;
    s.rules = t >= drop_at ? 1 : 0;
    r.samples.push_back(s);
    bool attack = t >= 3 * kNsPerSec && t < 7 * kNsPerSec;
    offered_b += 10;
    served_b += attack && t < drop_at ? 5 : 10;
    if (attack) {
      offered_a += 100;
      if (t < drop_at) arrived_a += 100;
    }
  }
  r.events = {{3'200 * kMs, "symptom", "flood", "192.0.2.0/24", ""}, {3'250 * kMs, "action", "block", "192.0.2.0/24", ""},
              {3'300 * kMs, "outcome", "applied", "", ""}};
  return r;
}

}  // namespace reflex::sim::testing
