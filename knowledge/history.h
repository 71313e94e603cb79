#pragma once
// What the planner remembers between plans, as plain values so a replay from the
// same inputs reproduces every decision (issue 5). Knowledge persists it; the
// planner takes it in and hands back the next one.

#include "knowledge/symptom.h"
#include "knowledge/time.h"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reflex {

// One (rule, subject) episode: the rung of the rule's ladder it is on and the
// timers that gate escalation, de-escalation and cooldown.
// Times are optional because t=0 is a real time in replays and tests.
struct TrackState {
  int level = -1;                        // -1: idle; else index into the rule's ladder
  std::optional<TimeNs> pending_since;   // symptom matching without a gap since (idle tracks)
  TimeNs level_since = 0;                // when the current rung was entered
  std::optional<TimeNs> clear_since;     // symptom absent since
  std::optional<TimeNs> last_action_ns;  // last action of this track (cooldown)
  TimeNs renew_at_ns = 0;                // re-issue the current rung before its TTL runs out
  int base_mode = -1;                    // attach mode before the episode (AttachMode as int), -1 unknown
  std::string target;                    // target key the track holds (for reverts and ownership)
  // The subject (after aggregation) and the last evidence seen, so a revert
  // after the symptom cleared can still say what it was about.
  Subject subject;
  int symptom_kind = -1;
  Evidence last_evidence;
  bool operator==(const TrackState& o) const {
    return level == o.level && pending_since == o.pending_since && level_since == o.level_since &&
           clear_since == o.clear_since && last_action_ns == o.last_action_ns && renew_at_ns == o.renew_at_ns &&
           base_mode == o.base_mode && target == o.target && subject == o.subject &&
           symptom_kind == o.symptom_kind && last_evidence.value == o.last_evidence.value &&
           last_evidence.baseline == o.last_evidence.baseline;
  }
};

// Who holds a datapath target (a prefix rule, an interface's shaping or attach
// mode): the winner of the last conflict resolution.
struct TargetOwner {
  std::string track;        // "rule|subject"
  int specificity = 0;
  int priority = 0;
  int aggressiveness = 0;
  std::string rule_id;
  TimeNs expires_ns = 0;    // 0: no expiry
  auto operator<=>(const TargetOwner&) const = default;
};

// Exponential backoff for one (action kind, target) after failures/rollbacks.
struct BackoffState {
  int failures = 0;
  TimeNs last_failure_ns = 0;
  TimeNs retry_after_ns = 0;
  auto operator<=>(const BackoffState&) const = default;
};

// An action the planner emitted, remembered until its outcome arrives.
struct EmittedAction {
  std::string backoff_key;  // "<kind>@<target>"
  TimeNs planned_ns = 0;
  std::string track;        // "rule|subject" that emitted it (empty: operator)
  int step = -1;            // its rung on that track's ladder
  auto operator<=>(const EmittedAction&) const = default;
};

struct PlannerState {
  std::uint64_t seq = 0;                        // plans made; names plans and actions
  std::map<std::string, TrackState> tracks;     // key "rule|subject"
  std::map<std::string, TargetOwner> owners;    // key: target
  std::map<std::string, BackoffState> backoff;  // key: "<kind>@<target>"
  std::map<std::string, EmittedAction> emitted; // key: action id
  std::deque<TimeNs> recent_actions;            // times of capped actions in the last minute
  std::map<std::string, TimeNs> overrides_done; // manual/pin override id -> when issued
  // "Not acting because ..." notes of the last plan: a standing reason is
  // noted when it starts, not again on every tick while it lasts.
  std::vector<std::string> standing_notes;
  bool operator==(const PlannerState&) const = default;
};

}  // namespace reflex
