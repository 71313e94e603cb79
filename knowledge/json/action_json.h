#pragma once
// JSON of actions, plans, outcomes, intents and overrides (rules in codec.h).
//   L4Match    {"proto":17,"port":53}
//   ActionSpec {"kind":"block","iface","prefix","l4"}           shadow, unblock: the same
//              {"kind":"rate_limit","iface","prefix","pps","burst","l4"}
//              {"kind":"shape","iface","prefix","rate_bps","burst_bytes"}
//              {"kind":"attach_mode","iface","mode":"native|generic|tc|none"}
//              {"kind":"swap_program","iface","program"}   {"kind":"alert","message"}
//              {"kind":"rule_batch","iface","l4","verb","pps","burst","remove","count","digest",
//               "prefixes":"p1 p2 ..."}  (one string; count and digest are checked on read)
//   Rationale  {"rule_id","symptom","subject","evidence","guardrails","decision","step","note"}
//   Action     {"id","spec","ttl_ns","dry_run","rationale"}
//   Plan       {"id","snapshot_version","ts_ns","actions","notes","overrides_used"}
//   Outcome    {"action_id","status":"applied|...","error","effect","ts_ns","hint","detail"}
//   Intent     {"action","inverse":[spec...]}  an inverse rule_batch over the action's own list
//              writes "prefixes_of":"action" instead of the list (recorded once)
//   Override   {"id","kind":"pause_all|forbid|pin|manual","who","created_ns","expires_ns",
//               "action_kind","subject","action","reason"}
// The spec kinds are the planner's action kind names (plan/action_text.h).

#include <string_view>

#include "knowledge/action.h"
#include "knowledge/json/codec.h"
#include "knowledge/json/symptom_json.h"

namespace reflex {

// block, shadow, rate_limit, unblock, shape, attach_mode, swap_program, alert, aggregate, rule_batch.
std::string_view spec_kind_name(const ActionSpec& spec);
std::string_view to_string(Override::Kind k);

boost::json::value to_json(AttachMode m);
Status from_json(const boost::json::value& v, AttachMode& out, std::string_view path = "mode");
boost::json::value to_json(OutcomeStatus s);
Status from_json(const boost::json::value& v, OutcomeStatus& out, std::string_view path = "status");
boost::json::value to_json(Override::Kind k);
Status from_json(const boost::json::value& v, Override::Kind& out, std::string_view path = "kind");

boost::json::value to_json(const L4Match& m);
Status from_json(const boost::json::value& v, L4Match& out, std::string_view path = "l4");
boost::json::value to_json(const ActionSpec& spec);
Status from_json(const boost::json::value& v, ActionSpec& out, std::string_view path = "spec");
boost::json::value to_json(const Rationale& r);
Status from_json(const boost::json::value& v, Rationale& out, std::string_view path = "rationale");
boost::json::value to_json(const Action& a);
Status from_json(const boost::json::value& v, Action& out, std::string_view path = "action");
boost::json::value to_json(const Plan& p);
Status from_json(const boost::json::value& v, Plan& out, std::string_view path = "plan");
boost::json::value to_json(const Outcome& o);
Status from_json(const boost::json::value& v, Outcome& out, std::string_view path = "outcome");
boost::json::value to_json(const Intent& i);
Status from_json(const boost::json::value& v, Intent& out, std::string_view path = "intent");
boost::json::value to_json(const Override& o);
Status from_json(const boost::json::value& v, Override& out, std::string_view path = "override");

}  // namespace reflex
