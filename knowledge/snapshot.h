#pragma once
// Snapshot: the immutable, versioned view of the loop that every stage and the
// REST API read. The loop publishes a new one each tick (after Monitor, before
// Analyze); readers hold a shared_ptr<const Snapshot>, so nothing a reader does
// can block or change the loop, and every Plan names the version it came from.

#include "knowledge/action.h"
#include "knowledge/desired_state.h"
#include "knowledge/observation.h"
#include "knowledge/symptom.h"
#include "knowledge/time.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace reflex {

struct Snapshot {
  std::uint64_t version = 0;  // from 1, one per tick
  TimeNs ts_ns = 0;           // loop clock (the Observation's time)
  Observation observation;
  std::vector<Symptom> symptoms;  // active: one per (kind, subject)
  // Beside symptoms, one each (or empty): equal nonzero stamps are equal
  // symptoms but for their time (see SymptomFill).
  std::vector<std::uint64_t> symptom_stamps;
  std::shared_ptr<const DesiredState> desired;
  std::vector<Override> overrides;  // in force at ts_ns
  std::uint64_t policy_generation = 0;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace reflex
