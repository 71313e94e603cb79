#include "knowledge/json/planner_state_json.h"

#include "knowledge/json/action_json.h"
#include "knowledge/json/symptom_json.h"

namespace reflex {

namespace json = boost::json;

namespace {

// TrackState keeps an attach mode and a symptom kind as ints (-1: none).
// They are written by name when they name one, as the int otherwise, and
// either form reads back.
template <class E, std::size_t N>
json::value enum_int_to_json(int v, const E (&all)[N]) {
  if (v >= 0 && static_cast<std::size_t>(v) < N) return to_json(all[v]);
  return v;
}

template <class E, std::size_t N>
Status enum_int_from_json(const json::value& v, int& out, std::string_view path, const E (&all)[N]) {
  if (v.is_string()) {
    E e{};
    if (auto s = from_json(v, e, path); !s) return s;
    for (std::size_t i = 0; i < N; ++i)
      if (all[i] == e) out = static_cast<int>(i);
    return ok();
  }
  return from_json(v, out, path);
}

// AttachMode and SymptomKind in the order of their underlying values.
constexpr AttachMode kModesByValue[] = {AttachMode::none, AttachMode::native, AttachMode::generic,
                                        AttachMode::tc};
static_assert(static_cast<int>(AttachMode::tc) == 3 && static_cast<int>(SymptomKind::latency_high) == 0);

}  // namespace

json::value to_json(const TrackState& t) {
  static const TrackState d;
  JsonWriter w;
  w("level", t.level, d.level)("pending_since_ns", t.pending_since)("level_since_ns", t.level_since)(
      "clear_since_ns", t.clear_since)("last_action_ns", t.last_action_ns)("renew_at_ns", t.renew_at_ns);
  json::value out = w("target", t.target)("subject", t.subject)("last_evidence", t.last_evidence).done();
  auto& o = out.as_object();
  if (t.base_mode != d.base_mode) o["base_mode"] = enum_int_to_json(t.base_mode, kModesByValue);
  if (t.symptom_kind != d.symptom_kind)
    o["symptom_kind"] = enum_int_to_json(t.symptom_kind, kAllSymptomKinds);
  return out;
}

Status from_json(const json::value& v, TrackState& out, std::string_view path) {
  JsonReader r(v, path);
  r("level", out.level)("pending_since_ns", out.pending_since)("level_since_ns", out.level_since)(
      "clear_since_ns", out.clear_since)("last_action_ns", out.last_action_ns)(
      "renew_at_ns", out.renew_at_ns)("target", out.target)("subject", out.subject)("last_evidence",
                                                                                    out.last_evidence);
  if (auto s = r.status(); !s) return s;
  const auto& o = *r.object();
  if (const auto* f = o.if_contains("base_mode"))
    if (auto s = enum_int_from_json(*f, out.base_mode, r.path() + ".base_mode", kModesByValue); !s) return s;
  if (const auto* f = o.if_contains("symptom_kind"))
    if (auto s = enum_int_from_json(*f, out.symptom_kind, r.path() + ".symptom_kind", kAllSymptomKinds); !s)
      return s;
  return ok();
}

json::value to_json(const TargetOwner& o) {
  return JsonWriter()("track", o.track)("specificity", o.specificity)("priority", o.priority)(
             "aggressiveness", o.aggressiveness)("rule_id", o.rule_id)("expires_ns", o.expires_ns)
      .done();
}
Status from_json(const json::value& v, TargetOwner& out, std::string_view path) {
  return JsonReader(v, path)("track", out.track)("specificity", out.specificity)("priority", out.priority)(
             "aggressiveness", out.aggressiveness)("rule_id", out.rule_id)("expires_ns", out.expires_ns)
      .status();
}

json::value to_json(const BackoffState& b) {
  return JsonWriter()("failures", b.failures)("last_failure_ns", b.last_failure_ns)("retry_after_ns",
                                                                                    b.retry_after_ns)
      .done();
}
Status from_json(const json::value& v, BackoffState& out, std::string_view path) {
  return JsonReader(v, path)("failures", out.failures)("last_failure_ns", out.last_failure_ns)(
             "retry_after_ns", out.retry_after_ns)
      .status();
}

json::value to_json(const EmittedAction& e) {
  return JsonWriter()("backoff_key", e.backoff_key)("planned_ns", e.planned_ns)("track", e.track)("step",
                                                                                                  e.step, -1)
      .done();
}
Status from_json(const json::value& v, EmittedAction& out, std::string_view path) {
  return JsonReader(v, path)("backoff_key", out.backoff_key)("planned_ns", out.planned_ns)(
             "track", out.track)("step", out.step)
      .status();
}

json::value to_json(const PlannerState& s) {
  return JsonWriter()("seq", s.seq)("tracks", s.tracks)("owners", s.owners)("backoff", s.backoff)(
             "emitted", s.emitted)("recent_actions", s.recent_actions)("overrides_done", s.overrides_done)(
             "standing_notes", s.standing_notes)
      .done();
}
Status from_json(const json::value& v, PlannerState& out, std::string_view path) {
  return JsonReader(v, path)("seq", out.seq)("tracks", out.tracks)("owners", out.owners)(
             "backoff", out.backoff)("emitted", out.emitted)("recent_actions", out.recent_actions)(
             "overrides_done", out.overrides_done)("standing_notes", out.standing_notes)
      .status();
}

}  // namespace reflex
