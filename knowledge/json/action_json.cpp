#include "knowledge/json/action_json.h"

#include "knowledge/json/desired_state_json.h"

#include <array>

namespace reflex {

namespace json = boost::json;

namespace {

// Indexed by ActionSpec's alternative.
constexpr std::array<std::string_view, std::variant_size_v<ActionSpec>> kSpecKinds = {
    "block", "shadow", "rate_limit", "unblock", "shape", "attach_mode", "swap_program", "alert", "aggregate"};

constexpr AttachMode kAllAttachModes[] = {AttachMode::none, AttachMode::native, AttachMode::generic,
                                          AttachMode::tc};
constexpr OutcomeStatus kAllOutcomeStatuses[] = {
    OutcomeStatus::applied, OutcomeStatus::failed,  OutcomeStatus::rolled_back, OutcomeStatus::expired,
    OutcomeStatus::dry_run, OutcomeStatus::skipped, OutcomeStatus::verified};
constexpr Override::Kind kAllOverrideKinds[] = {Override::Kind::pause_all, Override::Kind::forbid,
                                                Override::Kind::pin, Override::Kind::manual};

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// The fields of a prefix rule (block, shadow, unblock; rate_limit adds its own).
template <class Rule>
JsonWriter prefix_rule(std::string_view kind, const Rule& a) {
  JsonWriter w;
  w.always("kind", kind)("iface", a.iface).always("prefix", a.prefix)("l4", a.l4);
  return w;
}

template <class Rule>
Status read_prefix_rule(JsonReader& r, Rule& a) {
  return r("iface", a.iface).required("prefix", a.prefix)("l4", a.l4).status();
}

// Builds the alternative with index I when its kind name matches.
template <std::size_t I = 0>
bool make_spec(std::string_view kind, ActionSpec& out) {
  if constexpr (I < std::variant_size_v<ActionSpec>) {
    if (kSpecKinds[I] == kind) {
      out.emplace<I>();
      return true;
    }
    return make_spec<I + 1>(kind, out);
  }
  return false;
}

}  // namespace

std::string_view spec_kind_name(const ActionSpec& spec) { return kSpecKinds[spec.index()]; }

std::string_view to_string(Override::Kind k) {
  switch (k) {
    case Override::Kind::pause_all:
      return "pause_all";
    case Override::Kind::forbid:
      return "forbid";
    case Override::Kind::pin:
      return "pin";
    case Override::Kind::manual:
      return "manual";
  }
  return "unknown";
}

json::value to_json(AttachMode m) { return json::value(to_string(m)); }
Status from_json(const json::value& v, AttachMode& out, std::string_view path) {
  return enum_from_json<AttachMode>(v, out, path, kAllAttachModes);
}
json::value to_json(OutcomeStatus s) { return json::value(to_string(s)); }
Status from_json(const json::value& v, OutcomeStatus& out, std::string_view path) {
  return enum_from_json<OutcomeStatus>(v, out, path, kAllOutcomeStatuses);
}
json::value to_json(Override::Kind k) { return json::value(to_string(k)); }
Status from_json(const json::value& v, Override::Kind& out, std::string_view path) {
  return enum_from_json<Override::Kind>(v, out, path, kAllOverrideKinds);
}

json::value to_json(const L4Match& m) { return JsonWriter()("proto", m.proto)("port", m.port).done(); }
Status from_json(const json::value& v, L4Match& out, std::string_view path) {
  return JsonReader(v, path)("proto", out.proto)("port", out.port).status();
}

json::value to_json(const ActionSpec& spec) {
  std::string_view kind = spec_kind_name(spec);
  return std::visit(
      Overloaded{
          [&](const BlockPrefix& a) { return prefix_rule(kind, a).done(); },
          [&](const ShadowPrefix& a) { return prefix_rule(kind, a).done(); },
          [&](const Unblock& a) { return prefix_rule(kind, a).done(); },
          [&](const RateLimitPrefix& a) {
            return prefix_rule(kind, a)("pps", a.pps)("burst", a.burst).done();
          },
          [&](const ShapeInterface& a) {
            return JsonWriter()
                .always("kind", kind)("iface", a.iface)("prefix", a.prefix)("rate_bps", a.rate_bps)(
                    "burst_bytes", a.burst_bytes)
                .done();
          },
          [&](const SetAttachMode& a) {
            return JsonWriter().always("kind", kind)("iface", a.iface).always("mode", a.mode).done();
          },
          [&](const SwapProgram& a) {
            return JsonWriter().always("kind", kind)("iface", a.iface)("program", a.program).done();
          },
          [&](const Alert& a) { return JsonWriter().always("kind", kind)("message", a.message).done(); },
          [&](const AggregateRules& a) {
            const AggregateRules d;
            return JsonWriter()
                .always("kind", kind)("iface", a.iface)
                .always("verb", a.verb)("len_v4", a.len_v4, d.len_v4)("len_v6", a.len_v6, d.len_v6)(
                    "min_hosts", a.min_hosts, d.min_hosts)("keep_out", a.keep_out)
                .done();
          },
      },
      spec);
}

Status from_json(const json::value& v, ActionSpec& out, std::string_view path) {
  JsonReader r(v, path);
  std::string kind;
  if (auto s = r.required("kind", kind).status(); !s) return s;
  if (!make_spec(kind, out)) {
    std::string names;
    for (auto k : kSpecKinds) names += (names.empty() ? "" : ", ") + std::string(k);
    return json_error(r.path() + ".kind",
                      "unknown action kind \"" + kind + "\" (expected one of " + names + ")");
  }
  return std::visit(Overloaded{
                        [&](BlockPrefix& a) { return read_prefix_rule(r, a); },
                        [&](ShadowPrefix& a) { return read_prefix_rule(r, a); },
                        [&](Unblock& a) { return read_prefix_rule(r, a); },
                        [&](RateLimitPrefix& a) {
                          if (auto s = read_prefix_rule(r, a); !s) return s;
                          return r("pps", a.pps)("burst", a.burst).status();
                        },
                        [&](ShapeInterface& a) {
                          return r("iface", a.iface)("prefix", a.prefix)("rate_bps", a.rate_bps)(
                                     "burst_bytes", a.burst_bytes)
                              .status();
                        },
                        [&](SetAttachMode& a) { return r("iface", a.iface)("mode", a.mode).status(); },
                        [&](SwapProgram& a) { return r("iface", a.iface)("program", a.program).status(); },
                        [&](Alert& a) { return r("message", a.message).status(); },
                        [&](AggregateRules& a) {
                          return r("iface", a.iface)("verb", a.verb)("len_v4", a.len_v4)("len_v6", a.len_v6)(
                                     "min_hosts", a.min_hosts)("keep_out", a.keep_out)
                              .status();
                        },
                    },
                    out);
}

json::value to_json(const Rationale& r) {
  return JsonWriter()("rule_id", r.rule_id)("symptom", r.symptom)("subject", r.subject)(
             "evidence", r.evidence)("guardrails", r.guardrails)("decision", r.decision)("step", r.step, -1)(
             "note", r.note)
      .done();
}
Status from_json(const json::value& v, Rationale& out, std::string_view path) {
  return JsonReader(v, path)("rule_id", out.rule_id)("symptom", out.symptom)("subject", out.subject)(
             "evidence", out.evidence)("guardrails", out.guardrails)("decision", out.decision)(
             "step", out.step)("note", out.note)
      .status();
}

json::value to_json(const Action& a) {
  return JsonWriter()("id", a.id)
      .always("spec", a.spec)("ttl_ns", a.ttl_ns)("dry_run", a.dry_run)("rationale", a.rationale)
      .done();
}
Status from_json(const json::value& v, Action& out, std::string_view path) {
  return JsonReader(v, path)("id", out.id)
      .required("spec", out.spec)("ttl_ns", out.ttl_ns)("dry_run", out.dry_run)("rationale", out.rationale)
      .status();
}

json::value to_json(const Plan& p) {
  return JsonWriter()("id", p.id)("snapshot_version", p.snapshot_version)("ts_ns", p.ts_ns)(
             "actions", p.actions)("notes", p.notes)("overrides_used", p.overrides_used)
      .done();
}
Status from_json(const json::value& v, Plan& out, std::string_view path) {
  return JsonReader(v, path)("id", out.id)("snapshot_version", out.snapshot_version)("ts_ns", out.ts_ns)(
             "actions", out.actions)("notes", out.notes)("overrides_used", out.overrides_used)
      .status();
}

json::value to_json(const Outcome& o) {
  return JsonWriter()("action_id", o.action_id)
      .always("status", o.status)("error", o.error)("effect", o.effect)("ts_ns", o.ts_ns)("hint", o.hint)(
          "detail", o.detail)
      .done();
}
Status from_json(const json::value& v, Outcome& out, std::string_view path) {
  return JsonReader(v, path)("action_id", out.action_id)("status", out.status)("error", out.error)(
             "effect", out.effect)("ts_ns", out.ts_ns)("hint", out.hint)("detail", out.detail)
      .status();
}

json::value to_json(const Intent& i) {
  return JsonWriter().always("action", i.action).always("inverse", i.inverse).done();
}
Status from_json(const json::value& v, Intent& out, std::string_view path) {
  return JsonReader(v, path).required("action", out.action)("inverse", out.inverse).status();
}

json::value to_json(const Override& o) {
  return JsonWriter()("id", o.id)
      .always("kind", o.kind)("who", o.who)("created_ns", o.created_ns)("expires_ns", o.expires_ns)(
          "action_kind", o.action_kind)("subject", o.subject)("action", o.action)("reason", o.reason)
      .done();
}
Status from_json(const json::value& v, Override& out, std::string_view path) {
  return JsonReader(v, path)("id", out.id)("kind", out.kind)("who", out.who)("created_ns", out.created_ns)(
             "expires_ns", out.expires_ns)("action_kind", out.action_kind)("subject", out.subject)(
             "action", out.action)("reason", out.reason)
      .status();
}

}  // namespace reflex
