#include "cmd/reflexctl/commands.h"

#include "api/override_request.h"
#include "cmd/reflexctl/prefix_file.h"
#include "cmd/reflexctl/table.h"
#include "plan/policy_loader.h"
#include "plan/units.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <ostream>

namespace reflex::ctl {

namespace json = boost::json;
using boost::beast::http::verb;

namespace {

// Field access that never throws on a document of an older or newer daemon.
const json::value* at(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  return o ? o->if_contains(key) : nullptr;
}
std::string str(const json::value& v, std::string_view key, std::string dflt = "") {
  const auto* f = at(v, key);
  if (!f) return dflt;
  if (f->is_string()) return std::string(f->get_string());
  if (f->is_null()) return dflt;
  if (f->is_bool()) return f->get_bool() ? "yes" : "no";
  return json::serialize(*f);
}
double num(const json::value& v, std::string_view key) {
  const auto* f = at(v, key);
  return f && f->is_number() ? f->to_number<double>() : 0;
}
bool flag(const json::value& v, std::string_view key) {
  const auto* f = at(v, key);
  return f && f->is_bool() && f->get_bool();
}
const json::array& arr(const json::value& v, std::string_view key) {
  static const json::array kEmpty;
  const auto* f = at(v, key);
  return f && f->is_array() ? f->get_array() : kEmpty;
}
std::string ttl(const json::value& v) {
  const auto* f = at(v, "ttl_remaining_s");
  return ttl_text(f && f->is_number() ? f->to_number<long long>() : 0, f && f->is_number());
}
std::string yes_no(bool b) { return b ? "yes" : "no"; }

std::string l4(const json::value& rule) {
  const auto* m = at(rule, "l4");
  if (!m) return "-";
  std::string out;
  if (const auto* p = at(*m, "proto"); p && p->is_number()) {
    const auto n = p->to_number<int>();
    out = n == 6 ? "tcp" : n == 17 ? "udp" : n == 1 ? "icmp" : n == 58 ? "icmpv6" : std::to_string(n);
  }
  if (const auto* p = at(*m, "port"); p && p->is_number()) out += "/" + std::to_string(p->to_number<int>());
  return out.empty() ? "-" : out;
}

void print_json(Context& ctx, const json::value& v) { *ctx.out << json::serialize(v) << "\n"; }

std::string encode(std::string_view s) {
  std::string out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '/' || c == '*' ||
        c == ',')
      out += static_cast<char>(c);
    else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "/v1/flows?iface=eth0&limit=50" from the parameters that are set.
std::string with_query(std::string path, const std::vector<std::pair<std::string, std::string>>& params) {
  char sep = '?';
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    path += sep + k + "=" + encode(v);
    sep = '&';
  }
  return path;
}

Result<json::value> get(Context& ctx, const std::string& target) { return ctx.client->call(verb::get, target); }

int report(Context& ctx, const Result<json::value>& r, const std::function<void(const json::value&)>& table) {
  if (!r) return fail(ctx, r.error());
  if (ctx.json)
    print_json(ctx, *r);
  else
    table(*r);
  return kOk;
}

std::string override_target(const json::value& o) {
  const std::string kind = str(o, "kind");
  if (kind == "pause") return "the whole loop";
  if (kind == "forbid") {
    std::string t = "no " + str(o, "forbids");
    const auto* s = at(o, "subject");
    if (s && !str(*s, "prefix").empty()) t += " on " + str(*s, "prefix");
    if (s && !str(*s, "iface").empty()) t += " at " + str(*s, "iface");
    return t;
  }
  return str(o, "describe");
}

}  // namespace

int fail(Context& ctx, const Error& e) {
  *ctx.err << "reflexctl: " << e.what << "\n";
  if (!e.hint.empty()) *ctx.err << "  " << e.hint << "\n";
  // Errors from the daemon carry the HTTP status; the rest are reaching it.
  return e.code >= 400 && e.code < 600 ? kRefused : kUnreachable;
}

int cmd_status(Context& ctx) {
  auto state = get(ctx, "/v1/state");
  if (!state) return fail(ctx, state.error());
  auto status = get(ctx, "/v1/status");  // version and uptime; absent from older daemons is fine
  if (ctx.json) {
    json::object both;
    both["state"] = *state;
    both["daemon"] = status ? *status : json::value(nullptr);
    print_json(ctx, both);
    return kOk;
  }
  auto& out = *ctx.out;
  const json::value& s = *state;
  if (status)
    out << "reflexd " << str(*status, "version") << " (pid " << str(*status, "pid") << ", up "
        << plan::format_duration(static_cast<TimeNs>(num(*status, "uptime_seconds")) * kNsPerSec) << ")  ";
  out << "phase " << str(s, "phase") << "  ready " << yes_no(flag(s, "ready")) << "  policy generation "
      << str(s, "policy_generation") << "\n";
  if (const auto* tick = at(s, "tick")) {
    out << "tick every " << plan::format_duration(static_cast<TimeNs>(num(*tick, "interval_ms")) * kNsPerMs) << ": "
        << str(*tick, "count") << " ticks, " << str(*tick, "overruns") << " overrun(s)";
    if (const auto* last = at(*tick, "last"); last && last->is_object()) {
      out << "; last " << num(*last, "duration_us") / 1000 << " ms (";
      bool first = true;
      if (const auto* st = at(*last, "stages_us"); st && st->is_object())
        for (const auto& kv : st->get_object()) {
          out << (first ? "" : " ") << std::string(kv.key()) << " "
              << (kv.value().is_number() ? kv.value().to_number<double>() / 1000 : 0) << "ms";
          first = false;
        }
      out << ")";
    }
    out << "\n";
  }
  out << "\n";
  Table ifaces({"INTERFACE", "MODE", "WANTED", "UP", "HEALTHY", "RULES", "SHAPES", "RX PPS", "DROP PPS", "PROBLEM"});
  for (const auto& i : arr(s, "interfaces"))
    ifaces.add({str(i, "key"), str(i, "mode"), str(i, "wanted"), yes_no(flag(i, "up")), yes_no(flag(i, "healthy")),
                str(i, "rules"), str(i, "shapes"), rate_text(num(i, "rx_pps")), rate_text(num(i, "drop_pps")),
                str(i, "problem")});
  out << ifaces.render("no interfaces guarded");

  if (const auto* rules = at(s, "rules")) {
    const auto& items = arr(*rules, "items");
    out << "\nRULES: " << str(*rules, "total") << " in force";
    if (items.size() < static_cast<std::size_t>(num(*rules, "total")))
      out << " (first " << items.size() << "; reflexctl status --json or GET /v1/rules for all)";
    out << "\n";
    Table t({"IFACE", "PREFIX", "VERB", "L4", "PPS", "TTL", "ACTION"});
    for (const auto& r : items)
      t.add({str(r, "iface"), str(r, "prefix"), str(r, "verb"), l4(r), str(r, "pps", "-"), ttl(r),
             str(r, "action_id")});
    out << t.render();
  }
  const auto& shapes = arr(s, "shapes");
  if (!shapes.empty()) {
    out << "\nSHAPES\n";
    Table t({"IFACE", "PREFIX", "RATE", "TTL", "ACTION"});
    for (const auto& sh : shapes)
      t.add({str(sh, "iface"), str(sh, "prefix", "*"), str(sh, "rate"), ttl(sh), str(sh, "action_id")});
    out << t.render();
  }
  const auto& overrides = arr(s, "overrides");
  if (!overrides.empty()) {
    out << "\nOVERRIDES\n";
    Table t({"ID", "KIND", "WHAT", "WHO", "TTL", "MATCHED", "REASON"});
    for (const auto& o : overrides)
      t.add({str(o, "id"), str(o, "kind"), override_target(o), str(o, "who"), ttl(o), yes_no(flag(o, "matched")),
             str(o, "reason")});
    out << t.render();
  }
  if (const auto* st = at(s, "store")) {
    out << "\nstore: ";
    if (!flag(*st, "kept"))
      out << "none (no history is kept)\n";
    else
      out << (flag(*st, "ok") ? "ok" : "DEGRADED: " + str(*st, "reason")) << ", " << str(*st, "written")
          << " written, " << str(*st, "pending") << " pending, " << bytes_text(num(*st, "bytes")) << " ("
          << str(*st, "path") << ")\n";
  }
  return kOk;
}

int cmd_symptoms(Context& ctx, const std::string& kind, const std::string& iface, unsigned limit) {
  auto r = get(ctx, with_query("/v1/symptoms", {{"kind", kind}, {"iface", iface}, {"limit", std::to_string(limit)}}));
  return report(ctx, r, [&](const json::value& v) {
    Table t({"KIND", "SUBJECT", "SEVERITY", "SCORE", "SINCE", "EVIDENCE"});
    for (const auto& s : arr(v, "active")) {
      const auto* ev = at(s, "evidence");
      t.add({str(s, "kind"), str(s, "describe"), str(s, "severity", "info"), str(s, "score", "0"),
             clock_text(str(s, "since")), ev ? str(*ev, "detail") : ""});
    }
    *ctx.out << t.render("no active symptoms");
    const auto& events = arr(v, "events");
    if (events.empty()) return;
    *ctx.out << "\nRECENT TRANSITIONS\n";
    Table e({"AT", "TRANSITION", "KIND", "SUBJECT", "SEVERITY"});
    for (const auto& ev : events) {
      const auto* s = at(ev, "symptom");
      e.add({clock_text(str(ev, "at")), str(ev, "transition"), s ? str(*s, "kind") : "", s ? str(*s, "describe") : "",
             s ? str(*s, "severity", "info") : ""});
    }
    *ctx.out << e.render();
  });
}

int cmd_actions(Context& ctx, const std::string& kind, const std::string& status, const std::string& iface,
                unsigned limit) {
  auto r = get(ctx, with_query("/v1/actions", {{"kind", kind}, {"status", status}, {"iface", iface},
                                               {"limit", std::to_string(limit)}}));
  return report(ctx, r, [&](const json::value& v) {
    Table t({"ID", "KIND", "TARGET", "STATUS", "PLANNED", "RULE", "DETAIL"});
    for (const auto& a : arr(v, "actions")) {
      const auto* action = at(a, "action");
      const auto* rationale = action ? at(*action, "rationale") : nullptr;
      const auto* outcome = at(a, "outcome");
      std::string detail;
      if (outcome && outcome->is_object())
        detail = !str(*outcome, "error").empty() ? str(*outcome, "error") : str(*outcome, "detail");
      t.add({str(a, "id"), str(a, "kind"), str(a, "target"), str(a, "status"), clock_text(str(a, "planned_at")),
             rationale ? str(*rationale, "rule_id") : "", detail});
    }
    *ctx.out << t.render("no recent actions");
  });
}

int cmd_flows(Context& ctx, const FlowArgs& a) {
  auto r = get(ctx, with_query("/v1/flows", {{"iface", a.iface},
                                             {"src", a.src},
                                             {"proto", a.proto},
                                             {"port", a.port ? std::to_string(a.port) : ""},
                                             {"verdict", a.verdict},
                                             {"limit", std::to_string(a.limit)},
                                             {"raw", a.raw ? "true" : ""}}));
  return report(ctx, r, [&](const json::value& v) {
    if (a.raw) {
      Table t({"AT", "IFACE", "SOURCE", "PROTO", "DPORT", "VERDICT", "BYTES"});
      for (const auto& f : arr(v, "flows"))
        t.add({clock_text(str(f, "at")), str(f, "iface"), str(f, "source"), str(f, "protocol"), str(f, "dport"),
               str(f, "verdict"), str(f, "bytes")});
      *ctx.out << t.render("no sampled packets");
      return;
    }
    Table t({"IFACE", "SOURCE", "PROTO", "DPORT", "VERDICT", "SAMPLES", "PACKETS~", "BYTES~", "LAST SEEN"});
    for (const auto& f : arr(v, "flows"))
      t.add({str(f, "iface"), str(f, "source"), str(f, "protocol"), str(f, "dport"), str(f, "verdict"),
             str(f, "samples"), rate_text(num(f, "packets_est")), bytes_text(num(f, "bytes_est")),
             clock_text(str(f, "last_seen"))});
    *ctx.out << t.render("no sampled flows (the guard samples the packets it drops, limits or shadows)");
  });
}

int cmd_history(Context& ctx, const HistoryArgs& a) {
  std::string cursor;
  json::array all;
  Table t({"AT", "KIND", "SUBJECT", "SUMMARY"});
  for (;;) {
    auto r = get(ctx, with_query("/v1/history", {{"since", a.since},
                                                 {"until", a.until},
                                                 {"kind", a.kind},
                                                 {"subject", a.subject},
                                                 {"limit", std::to_string(a.limit)},
                                                 {"cursor", cursor}}));
    if (!r) return fail(ctx, r.error());
    for (const auto& rec : arr(*r, "records")) {
      all.push_back(rec);
      t.add({str(rec, "at"), str(rec, "kind"), str(rec, "subject"), str(rec, "summary")});
    }
    const auto* next = at(*r, "next");
    if (!a.all || !next || !next->is_number()) {
      if (ctx.json) {
        json::object doc;
        doc["records"] = std::move(all);
        doc["next"] = next ? *next : json::value(nullptr);
        print_json(ctx, doc);
      } else {
        *ctx.out << t.render("no records");
        if (next && next->is_number())
          *ctx.out << "(more: --all, or --cursor " << json::serialize(*next) << " with the API)\n";
      }
      return kOk;
    }
    cursor = json::serialize(*next);
  }
}

json::object override_body(const OverrideArgs& a, const std::string& default_reason) {
  json::object b;
  b["kind"] = a.kind;
  b["ttl"] = a.ttl;
  b["reason"] = a.reason.empty() ? default_reason : a.reason;
  if (!a.who.empty()) b["who"] = a.who;
  if (!a.id.empty()) b["id"] = a.id;
  json::object action;
  json::object& target = a.kind == "pin" ? action : b;
  if (!a.prefix.empty()) target["prefix"] = a.prefix;
  if (!a.iface.empty()) target["iface"] = a.iface;
  if (!a.proto.empty()) target["proto"] = a.proto;
  if (a.port) target["port"] = a.port;
  if (a.pps) target["pps"] = a.pps;
  if (!a.rate.empty()) target["rate"] = a.rate;
  if (!a.burst.empty()) {
    if (a.burst.find_first_not_of("0123456789") == std::string::npos)
      target["burst"] = std::stoull(a.burst);
    else
      target["burst"] = a.burst;
  }
  if (!a.mode.empty()) target["mode"] = a.mode;
  if (a.kind == "forbid") b["action"] = a.action;
  if (a.kind == "pin") {
    action["kind"] = a.action;
    b["action"] = std::move(action);
  }
  return b;
}

namespace {

int post_override(Context& ctx, const std::string& body) {
  auto r = ctx.client->call(verb::post, "/v1/overrides", body);
  return report(ctx, r, [&](const json::value& o) {
    *ctx.out << "override " << str(o, "id") << " (" << str(o, "kind") << "): " << override_target(o) << ", by "
             << str(o, "who") << ", for " << ttl(o) << " (until " << str(o, "expires_at", "?") << ")\n";
  });
}

}  // namespace

int cmd_add_override(Context& ctx, const OverrideArgs& a) {
  return post_override(ctx, json::serialize(override_body(a, ctx.command_line)));
}

int cmd_list_file(Context& ctx, const OverrideArgs& a) {
  auto list = read_prefix_file(a.file, api::kMaxBatchPrefixes);
  if (!list) return fail(ctx, list.error());
  json::object b = override_body(a, ctx.command_line);
  json::array prefixes;
  prefixes.reserve(list->size());
  for (const auto& p : *list) prefixes.emplace_back(p.to_string());
  b["prefixes"] = std::move(prefixes);
  return post_override(ctx, json::serialize(b));
}

int cmd_add_override_json(Context& ctx, const std::string& json_text) {
  boost::system::error_code ec;
  auto v = json::parse(json_text, ec);
  if (ec || !v.is_object())
    return fail(ctx, make_error("--json-body is not a JSON object", "e.g. '{\"kind\":\"pause\",\"ttl\":\"10m\",\"reason\":\"...\"}'", 400));
  if (!v.get_object().contains("reason")) v.get_object()["reason"] = ctx.command_line;
  return post_override(ctx, json::serialize(v));
}

int cmd_override_list(Context& ctx) {
  auto r = get(ctx, "/v1/overrides");
  return report(ctx, r, [&](const json::value& v) {
    Table t({"ID", "KIND", "WHAT", "WHO", "TTL", "MATCHED", "REASON"});
    for (const auto& o : arr(v, "overrides"))
      t.add({str(o, "id"), str(o, "kind"), override_target(o), str(o, "who"), ttl(o),
             flag(o, "matched") ? "yes" : "no (nothing yet)", str(o, "reason")});
    *ctx.out << t.render("no overrides in force");
  });
}

int cmd_override_rm(Context& ctx, const std::vector<std::string>& ids, const std::string& who) {
  int rc = kOk;
  for (const auto& id : ids) {
    auto r = ctx.client->call(verb::delete_, with_query("/v1/overrides/" + encode(id), {{"who", who}}));
    if (!r) {
      rc = fail(ctx, r.error());
      continue;
    }
    if (ctx.json)
      print_json(ctx, *r);
    else
      *ctx.out << "override " << id << " removed\n";
  }
  return rc;
}

int cmd_resume(Context& ctx, const std::string& who) {
  auto r = get(ctx, "/v1/overrides");
  if (!r) return fail(ctx, r.error());
  std::vector<std::string> pauses;
  for (const auto& o : arr(*r, "overrides"))
    if (str(o, "kind") == "pause") pauses.push_back(str(o, "id"));
  if (pauses.empty()) {
    *ctx.err << "reflexctl: the loop is not paused\n";
    return kOk;
  }
  return cmd_override_rm(ctx, pauses, who);
}

int cmd_unblock(Context& ctx, const OverrideArgs& a) {
  auto p = Prefix::parse(a.prefix);
  if (!p) return fail(ctx, make_error("\"" + a.prefix + "\" is not an IP prefix", "e.g. 203.0.113.0/24", 400));
  const std::string prefix = p->to_string();
  auto r = get(ctx, "/v1/overrides");
  if (!r) return fail(ctx, r.error());
  // 1. The manual overrides that put a rule on this prefix go.
  std::vector<std::string> ids;
  for (const auto& o : arr(*r, "overrides")) {
    if (str(o, "kind") != "manual" && str(o, "kind") != "pin") continue;
    const auto* ov = at(o, "override");
    const auto* action = ov ? at(*ov, "action") : nullptr;
    const auto* spec = action ? at(*action, "spec") : nullptr;
    if (!spec || str(*spec, "prefix") != prefix) continue;
    const std::string k = str(*spec, "kind");
    if (k != "block" && k != "rate_limit" && k != "shadow") continue;
    if (!a.iface.empty() && str(*spec, "iface") != a.iface) continue;
    ids.push_back(str(o, "id"));
  }
  // (Their rules leave the datapath on the loop's next tick.)
  if (!ids.empty()) return cmd_override_rm(ctx, ids, a.who);
  // 2. Else a rule the planner put there: lift it with a manual unblock for the TTL.
  auto rules = get(ctx, with_query("/v1/rules", {{"prefix", prefix}, {"iface", a.iface}, {"limit", "1000"}}));
  if (!rules) return fail(ctx, rules.error());
  bool planner_rule = false;
  for (const auto& rule : arr(*rules, "rules"))
    if (str(rule, "prefix") == prefix && str(rule, "verb") != "allow") planner_rule = true;
  if (!planner_rule) {
    *ctx.err << "reflexctl: no rule or override blocks " << prefix << "\n";
    return kOk;
  }
  OverrideArgs u = a;
  u.kind = "unblock";
  if (u.ttl.empty()) u.ttl = "1h";
  return cmd_add_override(ctx, u);
}

int cmd_policy_reload(Context& ctx, const std::string& reason) {
  json::object body;
  if (!reason.empty()) body["reason"] = reason;
  auto reply = ctx.client->request(verb::post, "/v1/policies/reload", body.empty() ? "" : json::serialize(body));
  if (!reply) return fail(ctx, reply.error());
  auto v = reply->json();
  if (reply->status == 422 && v) {
    if (ctx.json) {
      print_json(ctx, *v);
    } else {
      *ctx.err << "reflexctl: " << str(*v, "error") << "\n";
      if (const auto* rej = at(*v, "rejection"))
        for (const auto& f : arr(*rej, "findings")) *ctx.err << "  " << str(f, "text") << "\n";
      *ctx.err << "  " << str(*v, "hint") << "\n";
    }
    return kRefused;
  }
  if (reply->status != 200 || !v) return fail(ctx, reply_error(*reply));
  if (ctx.json)
    print_json(ctx, *v);
  else
    *ctx.out << "policy set reloaded: generation " << str(*v, "generation") << ", "
             << (at(*v, "in_force") ? str(*at(*v, "in_force"), "rule_count") : "0") << " rule(s)\n";
  return kOk;
}

int cmd_policy_show(Context& ctx) {
  auto r = get(ctx, "/v1/policies");
  return report(ctx, r, [&](const json::value& v) {
    const auto* in_force = at(v, "in_force");
    *ctx.out << "policy folder " << str(v, "dir") << ": generation " << str(v, "generation");
    if (in_force && in_force->is_object())
      *ctx.out << ", loaded " << str(*in_force, "loaded_at") << " (" << str(*in_force, "trigger") << "), mode "
               << str(*in_force, "mode");
    *ctx.out << "\n";
    if (in_force && in_force->is_object()) {
      Table t({"RULE", "ENABLED", "MODE", "PRIORITY", "SOURCE"});
      for (const auto& rule : arr(*in_force, "rules"))
        t.add({str(rule, "id"), str(rule, "enabled"), str(rule, "mode"), str(rule, "priority"), str(rule, "source")});
      *ctx.out << t.render("no rules");
    }
    if (const auto* rej = at(v, "last_rejection"); rej && rej->is_object()) {
      *ctx.out << "\nlast rejection " << str(*rej, "at") << " (" << str(*rej, "trigger") << "):\n";
      for (const auto& f : arr(*rej, "findings")) *ctx.out << "  " << str(f, "text") << "\n";
    }
  });
}

int cmd_policy_check(Context& ctx, const std::string& dir) {
  auto report = plan::load_policy_path(dir);
  if (ctx.json) {
    json::object doc;
    doc["path"] = dir;
    doc["ok"] = report.ok();
    doc["errors"] = report.errors();
    doc["warnings"] = report.warnings();
    doc["rules"] = report.policy ? report.policy->rules.size() : 0;
    json::array findings;
    for (const auto& d : report.diagnostics) findings.emplace_back(d.to_string());
    doc["findings"] = std::move(findings);
    print_json(ctx, doc);
  } else {
    for (const auto& d : report.diagnostics) *ctx.err << d.to_string() << "\n";
    if (report.ok())
      *ctx.out << dir << ": OK: " << report.policy->rules.size() << " rule(s) in " << report.policy->files.size()
               << " file(s), " << report.warnings() << " warning(s)\n";
    else
      *ctx.out << dir << ": FAILED: " << report.errors() << " error(s); the daemon would reject this set and keep "
               << "the one in force\n";
  }
  return report.ok() ? kOk : kRefused;
}

}  // namespace reflex::ctl
