#pragma once
// Values for the knowledge tests and benchmarks: random ones that reach every
// field (defaults included, so the codecs' "leave the default out" rule is
// exercised), and synthetic ticks and decisions shaped like the loop's.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "knowledge/action.h"
#include "knowledge/desired_state.h"
#include "knowledge/history.h"
#include "knowledge/observation.h"
#include "knowledge/recorder.h"
#include "knowledge/symptom.h"

namespace reflex::testing {

class RandomValues {
 public:
  explicit RandomValues(std::uint64_t seed) : rng_(seed) {}

  // Finite doubles of every magnitude, whole numbers, -0.0 and 0.
  double real();
  std::int64_t time();  // 0, small, large, negative, INT64_MAX
  std::string text();   // empty, plain, quotes, control characters, UTF-8
  Prefix prefix();      // IPv4 and IPv6, normalised
  Subject subject();
  Evidence evidence();
  Symptom symptom();
  SymptomEvent symptom_event();
  L4Match l4();
  ActionSpec spec();  // every alternative
  Rationale rationale();
  Action action();
  Plan plan();
  Outcome outcome();
  Intent intent();
  Override override_();
  TrackState track();
  PlannerState planner_state();
  DesiredState desired_state(std::size_t rules_per_iface = 8);
  bool coin() { return std::uniform_int_distribution<int>(0, 1)(rng_) == 1; }
  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

// A Monitor tick over `ifaces` interfaces named eth0.., with the Monitor's
// default caps filled (16 talkers and 10 rules per interface, drop samples),
// every counter moving; `busy` false: a quiet tick (no talkers, rules or samples).
Observation synthetic_tick(std::uint64_t seq, TimeNs ts_ns, std::size_t ifaces, bool busy);

// One tick's decisions as the loop makes them under attack: a plan of
// `actions` blocks with rationale and evidence, their intents with inverses,
// and an outcome per action.
struct SyntheticDecisions {
  Plan plan;
  std::vector<Intent> intents;
  std::vector<Outcome> outcomes;
  Decisions decisions() const;  // views into this
};
SyntheticDecisions synthetic_decisions(std::uint64_t seq, TimeNs ts_ns, std::size_t actions);

// A desired state of `rules` drop rules over `ifaces` interfaces, expiring
// from `first_expiry_ns` on, one second apart.
DesiredState synthetic_desired_state(std::size_t rules, std::size_t ifaces, TimeNs first_expiry_ns);

}  // namespace reflex::testing
