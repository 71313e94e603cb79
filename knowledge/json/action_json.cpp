#include "knowledge/json/action_json.h"

#include "knowledge/json/desired_state_json.h"

#include <array>
#include <cstdio>

namespace reflex {

namespace json = boost::json;

namespace {

// Indexed by ActionSpec's alternative.
constexpr std::array<std::string_view, std::variant_size_v<ActionSpec>> kSpecKinds = {
    "block", "shadow", "rate_limit", "unblock", "shape", "attach_mode", "swap_program", "alert", "aggregate", "rule_batch"};

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

// A batch's prefixes as one space-separated string (a million of them are
// ~16 MB as text, twice that as a JSON array of strings), beside their count
// and digest so a damaged record is caught when read.
std::string digest_text(const std::vector<Prefix>& prefixes) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(prefixes_digest(prefixes)));
  return buf;
}

JsonWriter batch_fields(std::string_view kind, const RuleBatch& a) {
  JsonWriter w;
  w.always("kind", kind)("iface", a.iface)("l4", a.l4)("verb", a.verb, RuleVerb::drop)("pps", a.pps)("burst", a.burst)(
      "remove", a.remove);
  w.always("count", static_cast<std::uint64_t>(a.prefixes.size())).always("digest", digest_text(a.prefixes));
  return w;
}

json::value batch_to_json(std::string_view kind, const RuleBatch& a) {
  std::string list;
  list.reserve(a.prefixes.size() * 16);
  for (const auto& p : a.prefixes) {
    if (!list.empty()) list += ' ';
    list += p.to_string();
  }
  return batch_fields(kind, a).always("prefixes", list).done();
}

Status check_batch_list(const RuleBatch& a, std::uint64_t count, const std::string& digest, const std::string& path) {
  if (a.prefixes.size() != count || digest_text(a.prefixes) != digest)
    return json_error(path + ".prefixes", "holds " + std::to_string(a.prefixes.size()) + " prefixes (digest " +
                                              digest_text(a.prefixes) + "), the record says " +
                                              std::to_string(count) + " (digest " + digest + "): the record is damaged");
  return ok();
}

Status read_batch(JsonReader& r, RuleBatch& a) {
  std::uint64_t count = 0;
  std::string digest, list, of;
  if (auto s = r("iface", a.iface)("l4", a.l4)("verb", a.verb)("pps", a.pps)("burst", a.burst)("remove", a.remove)
                   .required("count", count)
                   .required("digest", digest)("prefixes", list)("prefixes_of", of)
                   .status();
      !s)
    return s;
  if (!of.empty()) return ok();  // the list is the one of the record holding it (see from_json(Intent))
  std::string_view rest = list;
  a.prefixes.reserve(count);
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    std::string_view one = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    auto p = Prefix::parse(one);
    if (!p) return json_error(r.path() + ".prefixes", "prefix " + std::to_string(a.prefixes.size()) + ": " + p.error().what);
    a.prefixes.push_back(*p);
  }
  return check_batch_list(a, count, digest, r.path());
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
          [&](const RuleBatch& a) { return batch_to_json(kind, a); },
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
                        [&](RuleBatch& a) { return read_batch(r, a); },
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

// An inverse batch over the very prefixes of the action's batch (the undo
// of blocking a million new keys is removing them) names them instead of
// repeating them: the list is recorded once.
json::value to_json(const Intent& i) {
  const auto* batch = std::get_if<RuleBatch>(&i.action.spec);
  json::array inverse;
  inverse.reserve(i.inverse.size());
  for (const auto& spec : i.inverse) {
    const auto* inv = std::get_if<RuleBatch>(&spec);
    if (batch && inv && !inv->prefixes.empty() && inv->prefixes == batch->prefixes)
      inverse.push_back(batch_fields(spec_kind_name(spec), *inv).always("prefixes_of", std::string("action")).done());
    else
      inverse.push_back(to_json(spec));
  }
  json::object out;
  out["action"] = to_json(i.action);
  out["inverse"] = std::move(inverse);
  return out;
}
Status from_json(const json::value& v, Intent& out, std::string_view path) {
  if (auto s = JsonReader(v, path).required("action", out.action)("inverse", out.inverse).status(); !s) return s;
  const auto* inv = v.is_object() ? v.as_object().if_contains("inverse") : nullptr;
  if (!inv || !inv->is_array()) return ok();
  for (std::size_t k = 0; k < out.inverse.size() && k < inv->as_array().size(); ++k) {
    const auto& o = inv->as_array()[k];
    const auto* of = o.is_object() ? o.as_object().if_contains("prefixes_of") : nullptr;
    if (!of) continue;
    const std::string at = std::string(path) + ".inverse[" + std::to_string(k) + "]";
    const auto* batch = std::get_if<RuleBatch>(&out.action.spec);
    auto* mine = std::get_if<RuleBatch>(&out.inverse[k]);
    if (!of->is_string() || of->as_string() != "action" || !batch || !mine)
      return json_error(at + ".prefixes_of", "names no batch of this intent's action (expected \"action\")");
    mine->prefixes = batch->prefixes;
    std::uint64_t count = 0;
    std::string digest;
    if (auto s = JsonReader(o, at)("count", count)("digest", digest).status(); !s) return s;
    if (auto s = check_batch_list(*mine, count, digest, at); !s) return s;
  }
  return ok();
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
