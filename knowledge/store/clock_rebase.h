#pragma once
// Times in the desired and planner state are on the loop clock
// (CLOCK_MONOTONIC in the daemon), which restarts at a reboot. The store saves
// each state with the (loop, wall) clock pair of the moment it was saved; a
// loader maps a saved time onto its own loop clock by assuming the wall clock
// ran true meanwhile: t' = t + (now.loop - saved.loop) - (now.wall - saved.wall).
// Within one boot and with a steady wall clock the shift is ~0.
//
// The values 0 (unset), INT64_MAX ("never", as the planner writes it) and
// INT64_MIN are markers, not times, and are kept as they are.

#include <cstdint>

#include "knowledge/desired_state.h"
#include "knowledge/history.h"
#include "knowledge/time.h"

namespace reflex::store {

struct ClockPair {
  TimeNs loop_ns = 0;
  TimeNs wall_ns = 0;  // Unix time
};

// The shift a saved time needs: now.loop - saved.loop - (now.wall - saved.wall).
TimeNs rebase_offset(const ClockPair& saved, const ClockPair& now);
// Shifts t (saturating), leaving the markers alone.
TimeNs rebase_time(TimeNs t, TimeNs offset);

// Shifted into the loader's clock; rules and shapes whose expiry has passed
// by `now.loop_ns` are gone (they ran out while the daemon was down).
DesiredState rebase(DesiredState d, const ClockPair& saved, const ClockPair& now);
// Every time the planner keeps, shifted.
PlannerState rebase(PlannerState s, const ClockPair& saved, const ClockPair& now);

}  // namespace reflex::store
