#pragma once
// JSON of the planner's state (knowledge/history.h), which Knowledge saves so a
// restarted daemon resumes every ladder, cooldown and backoff where it was.
// It round-trips exactly: a planner restored from it makes the decisions an
// uninterrupted one would.
//   PlannerState {"seq","tracks":{KEY:track},"owners":{TARGET:owner},"backoff":{KEY:backoff},
//                 "emitted":{ACTION_ID:emitted},"recent_actions":[ns...],"overrides_done":{ID:ns},
//                 "standing_notes":[...]}
//   TrackState   {"level","pending_since_ns","level_since_ns","clear_since_ns","last_action_ns",
//                 "renew_at_ns","base_mode":"native","target","subject","symptom_kind":"flood",
//                 "last_evidence"}
//   TargetOwner  {"track","specificity","priority","aggressiveness","rule_id","expires_ns"}
//   BackoffState {"failures","last_failure_ns","retry_after_ns"}
//   EmittedAction {"backoff_key","planned_ns","track","step"}

#include "knowledge/history.h"
#include "knowledge/json/codec.h"

namespace reflex {

boost::json::value to_json(const TrackState& t);
Status from_json(const boost::json::value& v, TrackState& out, std::string_view path = "track");
boost::json::value to_json(const TargetOwner& o);
Status from_json(const boost::json::value& v, TargetOwner& out, std::string_view path = "owner");
boost::json::value to_json(const BackoffState& b);
Status from_json(const boost::json::value& v, BackoffState& out, std::string_view path = "backoff");
boost::json::value to_json(const EmittedAction& e);
Status from_json(const boost::json::value& v, EmittedAction& out, std::string_view path = "emitted");
boost::json::value to_json(const PlannerState& s);
Status from_json(const boost::json::value& v, PlannerState& out, std::string_view path = "planner_state");

}  // namespace reflex
