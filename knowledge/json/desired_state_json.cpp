#include "knowledge/json/desired_state_json.h"

#include "knowledge/json/action_json.h"
#include "knowledge/json/symptom_json.h"

namespace reflex {

namespace json = boost::json;

namespace {
constexpr RuleVerb kAllVerbs[] = {RuleVerb::drop, RuleVerb::allow, RuleVerb::rate_limit, RuleVerb::shadow};
}  // namespace

std::string_view to_string(RuleVerb v) {
  switch (v) {
    case RuleVerb::drop:
      return "drop";
    case RuleVerb::allow:
      return "allow";
    case RuleVerb::rate_limit:
      return "rate_limit";
    case RuleVerb::shadow:
      return "shadow";
  }
  return "unknown";
}

json::value to_json(RuleVerb v) { return json::value(to_string(v)); }
Status from_json(const json::value& v, RuleVerb& out, std::string_view path) {
  return enum_from_json<RuleVerb>(v, out, path, kAllVerbs);
}

json::value to_json(const DesiredRule& r) {
  return JsonWriter()
      .always("prefix", r.prefix)("l4", r.l4)
      .always("verb", r.verb)("pps", r.pps)("burst", r.burst)("expires_ns", r.expires_ns)("action_id",
                                                                                          r.action_id)
      .done();
}
Status from_json(const json::value& v, DesiredRule& out, std::string_view path) {
  return JsonReader(v, path)
      .required("prefix", out.prefix)("l4", out.l4)("verb", out.verb)("pps", out.pps)("burst", out.burst)(
          "expires_ns", out.expires_ns)("action_id", out.action_id)
      .status();
}

json::value to_json(const DesiredShape& s) {
  return JsonWriter()("prefix", s.prefix)("rate_bps", s.rate_bps)("burst_bytes", s.burst_bytes)(
             "expires_ns", s.expires_ns)("action_id", s.action_id)
      .done();
}
Status from_json(const json::value& v, DesiredShape& out, std::string_view path) {
  return JsonReader(v, path)("prefix", out.prefix)("rate_bps", out.rate_bps)("burst_bytes", out.burst_bytes)(
             "expires_ns", out.expires_ns)("action_id", out.action_id)
      .status();
}

json::value to_json(const DesiredInterface& i) {
  return JsonWriter()("mode", i.mode)("program", i.program)("rules", i.rules)("shapes", i.shapes).done();
}
Status from_json(const json::value& v, DesiredInterface& out, std::string_view path) {
  return JsonReader(v, path)("mode", out.mode)("program", out.program)("rules", out.rules)("shapes",
                                                                                           out.shapes)
      .status();
}

json::value to_json(const DesiredState& s) {
  return JsonWriter()("version", s.version)("ifaces", s.ifaces).done();
}
Status from_json(const json::value& v, DesiredState& out, std::string_view path) {
  return JsonReader(v, path)("version", out.version)("ifaces", out.ifaces).status();
}

}  // namespace reflex
