#pragma once
// JSON of the desired datapath state (knowledge/desired_state.h), which
// Knowledge saves so a restarted daemon reconciles toward what it wanted.
//   DesiredState     {"version","ifaces":{IFACE:interface}}
//   DesiredInterface {"mode":"native|generic|tc","program","rules":[rule...],"shapes":[shape...]}
//   DesiredRule {"prefix","l4","verb":"drop|allow|rate_limit|shadow","pps","burst","expires_ns","action_id"}
//   DesiredShape     {"prefix","rate_bps","burst_bytes","expires_ns","action_id"}
// Times are on the loop clock of the daemon that saved them (see
// knowledge/store/clock_rebase.h).

#include "knowledge/desired_state.h"
#include "knowledge/json/codec.h"

namespace reflex {

std::string_view to_string(RuleVerb v);
boost::json::value to_json(RuleVerb v);
Status from_json(const boost::json::value& v, RuleVerb& out, std::string_view path = "verb");

boost::json::value to_json(const DesiredRule& r);
Status from_json(const boost::json::value& v, DesiredRule& out, std::string_view path = "rule");
boost::json::value to_json(const DesiredShape& s);
Status from_json(const boost::json::value& v, DesiredShape& out, std::string_view path = "shape");
boost::json::value to_json(const DesiredInterface& i);
Status from_json(const boost::json::value& v, DesiredInterface& out, std::string_view path = "iface");
boost::json::value to_json(const DesiredState& s);
Status from_json(const boost::json::value& v, DesiredState& out, std::string_view path = "desired_state");

}  // namespace reflex
