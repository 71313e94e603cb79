#include "knowledge/json/recorder_json.h"

namespace reflex {

namespace json = boost::json;

namespace {
constexpr OverrideChange kAllOverrideChanges[] = {OverrideChange::created, OverrideChange::removed,
                                                  OverrideChange::expired};
}  // namespace

std::string_view to_string(OverrideChange c) {
  switch (c) {
    case OverrideChange::created:
      return "created";
    case OverrideChange::removed:
      return "removed";
    case OverrideChange::expired:
      return "expired";
  }
  return "unknown";
}

json::value to_json(RecordKind k) { return json::value(to_string(k)); }
Status from_json(const json::value& v, RecordKind& out, std::string_view path) {
  return enum_from_json<RecordKind>(v, out, path, kAllRecordKinds);
}
json::value to_json(OverrideChange c) { return json::value(to_string(c)); }
Status from_json(const json::value& v, OverrideChange& out, std::string_view path) {
  return enum_from_json<OverrideChange>(v, out, path, kAllOverrideChanges);
}

json::value to_json(const LoopEvent& e) {
  return JsonWriter()
      .always("kind", e.kind)("ts_ns", e.ts_ns)("subject", e.subject)("summary", e.summary)("body", e.body)
      .done();
}
Status from_json(const json::value& v, LoopEvent& out, std::string_view path) {
  return JsonReader(v, path)("kind", out.kind)("ts_ns", out.ts_ns)("subject", out.subject)(
             "summary", out.summary)("body", out.body)
      .status();
}

json::value to_json(const OverrideRecord& r) {
  return JsonWriter()
      .always("override", r.override_)
      .always("change", r.change)("ts_ns", r.ts_ns)("who", r.who)
      .done();
}
Status from_json(const json::value& v, OverrideRecord& out, std::string_view path) {
  return JsonReader(v, path)("override", out.override_)("change", out.change)("ts_ns", out.ts_ns)("who",
                                                                                                  out.who)
      .status();
}

json::value to_json(const Record& r) {
  return JsonWriter()
      .always("id", r.id)("ts_ns", r.ts_ns)("wall_ns", r.wall_ns)
      .always("kind", r.kind)("subject", r.subject)("summary", r.summary)("body", r.body)
      .done();
}
Status from_json(const json::value& v, Record& out, std::string_view path) {
  return JsonReader(v, path)("id", out.id)("ts_ns", out.ts_ns)("wall_ns", out.wall_ns)("kind", out.kind)(
             "subject", out.subject)("summary", out.summary)("body", out.body)
      .status();
}

json::value to_json(const RecordPage& p) {
  return JsonWriter().always("records", p.records)("next", p.next).done();
}
Status from_json(const json::value& v, RecordPage& out, std::string_view path) {
  return JsonReader(v, path)("records", out.records)("next", out.next).status();
}

json::value to_json(const StoreHealth& h) {
  return JsonWriter()
      .always("ok", h.ok)("reason", h.reason)
      .always("pending", h.pending)
      .always("written", h.written)
      .always("bytes", h.bytes)
      .always("dropped", h.dropped)
      .done();
}
Status from_json(const json::value& v, StoreHealth& out, std::string_view path) {
  return JsonReader(v, path)("ok", out.ok)("reason", out.reason)("pending", out.pending)(
             "written", out.written)("bytes", out.bytes)("dropped", out.dropped)
      .status();
}

}  // namespace reflex
