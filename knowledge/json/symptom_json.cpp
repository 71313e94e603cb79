#include "knowledge/json/symptom_json.h"

namespace reflex {

namespace json = boost::json;

namespace {
constexpr Severity kAllSeverities[] = {Severity::info, Severity::warning, Severity::critical};
constexpr SymptomTransition kAllTransitions[] = {SymptomTransition::raised, SymptomTransition::updated,
                                                 SymptomTransition::cleared};
}  // namespace

json::value to_json(const Prefix& p) { return json::value(p.to_string()); }

Status from_json(const json::value& v, Prefix& out, std::string_view path) {
  std::string text;
  if (auto s = from_json(v, text, path); !s) return s;
  auto p = Prefix::parse(text);
  if (!p) return json_error(path, p.error().what);
  out = *p;
  return ok();
}

json::value to_json(SymptomKind k) { return json::value(to_string(k)); }
Status from_json(const json::value& v, SymptomKind& out, std::string_view path) {
  return enum_from_json<SymptomKind>(v, out, path, kAllSymptomKinds);
}
json::value to_json(Severity s) { return json::value(to_string(s)); }
Status from_json(const json::value& v, Severity& out, std::string_view path) {
  return enum_from_json<Severity>(v, out, path, kAllSeverities);
}
json::value to_json(SymptomTransition t) { return json::value(to_string(t)); }
Status from_json(const json::value& v, SymptomTransition& out, std::string_view path) {
  return enum_from_json<SymptomTransition>(v, out, path, kAllTransitions);
}

json::value to_json(const Subject& s) {
  return JsonWriter()("iface", s.iface)("prefix", s.prefix)("map", s.map)("reason", s.reason).done();
}
Status from_json(const json::value& v, Subject& out, std::string_view path) {
  return JsonReader(v, path)("iface", out.iface)("prefix", out.prefix)("map", out.map)("reason", out.reason)
      .status();
}

json::value to_json(const Evidence& e) {
  return JsonWriter()("value", e.value)("baseline", e.baseline)("deviation", e.deviation)("detail", e.detail)
      .done();
}
Status from_json(const json::value& v, Evidence& out, std::string_view path) {
  return JsonReader(v, path)("value", out.value)("baseline", out.baseline)("deviation", out.deviation)(
             "detail", out.detail)
      .status();
}

json::value to_json(const Symptom& s) {
  // kind and severity are always written: a reader should never have to know their defaults.
  return JsonWriter()("id", s.id)
      .always("kind", s.kind)("subject", s.subject)
      .always("severity", s.severity)("score", s.score)("evidence", s.evidence)("since_ns", s.since_ns)(
          "ts_ns", s.ts_ns)
      .done();
}
Status from_json(const json::value& v, Symptom& out, std::string_view path) {
  return JsonReader(v, path)("id", out.id)("kind", out.kind)("subject", out.subject)(
             "severity", out.severity)("score", out.score)("evidence", out.evidence)(
             "since_ns", out.since_ns)("ts_ns", out.ts_ns)
      .status();
}

json::value to_json(const SymptomEvent& e) {
  return JsonWriter().always("transition", e.transition).always("symptom", e.symptom).done();
}
Status from_json(const json::value& v, SymptomEvent& out, std::string_view path) {
  return JsonReader(v, path)("transition", out.transition)("symptom", out.symptom).status();
}

}  // namespace reflex
