#include "plan/policy_test.h"

#include "plan/action_text.h"
#include "plan/policy_loader.h"
#include "plan/units.h"
#include "plan/yaml_reader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace reflex::plan {
namespace {

namespace fs = std::filesystem;

std::optional<OutcomeStatus> parse_status(const std::string& s) {
  for (auto st : {OutcomeStatus::applied, OutcomeStatus::failed, OutcomeStatus::rolled_back, OutcomeStatus::expired,
                  OutcomeStatus::verified})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

std::optional<Override::Kind> parse_override_kind(const std::string& s) {
  if (s == "pause_all") return Override::Kind::pause_all;
  if (s == "forbid") return Override::Kind::forbid;
  if (s == "pin") return Override::Kind::pin;
  if (s == "manual") return Override::Kind::manual;
  return std::nullopt;
}

class TestParser {
 public:
  TestParser(std::string file, fs::path base, std::vector<Diagnostic>& d) : r_(std::move(file), d), base_(std::move(base)) {}

  std::optional<PolicyTestFile> parse(const std::string& text, std::vector<Diagnostic>& diags) {
    auto docs = parse_yaml_documents(text, r_.file(), diags);
    if (docs.empty()) return std::nullopt;
    const YAML::Node& doc = docs.front();
    if (!r_.expect_map(doc, "")) return std::nullopt;
    r_.check_keys(doc, "", {"policies", "tests"});
    PolicyTestFile f;
    f.file = r_.file();
    if (auto p = doc["policies"]) {
      if (auto list = r_.string_list(p, "policies"))
        for (const auto& s : *list) f.policy_paths.push_back(base_ / s);
    } else {
      f.policy_paths.push_back(base_ / "..");  // policies/tests/x.yaml tests policies/
    }
    auto tests = doc["tests"];
    if (!tests || !tests.IsSequence()) {
      r_.error(tests ? tests : doc, "tests", "expected a list of test cases (`- name: ...`)");
      return std::nullopt;
    }
    std::size_t i = 0;
    for (const auto& t : tests) f.tests.push_back(parse_case(t, "tests[" + std::to_string(i++) + "]"));
    return f;
  }

 private:
  TimeNs dur(const YAML::Node& n, const std::string& field, TimeNs dflt = 0) {
    if (!n) return dflt;
    return r_.duration(n, field).value_or(dflt);
  }

  PolicyTestCase parse_case(const YAML::Node& n, std::string field) {
    PolicyTestCase tc;
    tc.loc = r_.loc(n);
    if (!r_.expect_map(n, field)) return tc;
    r_.check_keys(n, field,
                  {"name", "interval", "duration", "strict", "traffic", "symptoms", "overrides", "outcomes", "expect"});
    if (auto v = n["name"]) tc.name = r_.string(v, field + ".name").value_or("");
    if (tc.name.empty()) r_.error(n, field + ".name", "every test needs a `name:`");
    else field = "tests[" + tc.name + "]";
    tc.interval = dur(n["interval"], field + ".interval", tc.interval);
    if (tc.interval <= 0) {
      r_.error(n["interval"], field + ".interval", "must be longer than 0s");
      tc.interval = 5 * kNsPerSec;
    }
    if (auto v = n["duration"]) tc.duration = dur(v, field + ".duration");
    if (auto v = n["strict"]) tc.strict = r_.boolean(v, field + ".strict").value_or(true);
    if (auto tr = n["traffic"]; tr && r_.expect_map(tr, field + ".traffic")) parse_traffic(tr, field + ".traffic", tc.traffic);
    each(n["symptoms"], field + ".symptoms", [&](const YAML::Node& s, const std::string& f) { parse_symptom(s, f, tc); });
    each(n["overrides"], field + ".overrides", [&](const YAML::Node& s, const std::string& f) { parse_override(s, f, tc); });
    each(n["outcomes"], field + ".outcomes", [&](const YAML::Node& s, const std::string& f) { parse_outcome(s, f, tc); });
    each(n["expect"], field + ".expect", [&](const YAML::Node& s, const std::string& f) { parse_expect(s, f, tc); });
    // A test that checks nothing passes vacuously: say so.
    if (tc.expect.empty() && !tc.strict)
      r_.error(n, field + ".expect", "a non-strict test without `expect:` checks nothing");
    std::sort(tc.expect.begin(), tc.expect.end(), [](const Expectation& a, const Expectation& b) { return a.at < b.at; });
    return tc;
  }

  template <class F>
  void each(const YAML::Node& n, const std::string& field, F f) {
    if (!n) return;
    if (!n.IsSequence()) {
      r_.error(n, field, "expected a list, got " + YamlReader::describe(n));
      return;
    }
    std::size_t i = 0;
    for (const auto& item : n) {
      std::string sub = field + "[" + std::to_string(i++) + "]";
      if (r_.expect_map(item, sub)) f(item, sub);
    }
  }

  void parse_traffic(const YAML::Node& n, const std::string& field, TrafficView& tv) {
    r_.check_keys(n, field, {"interfaces", "talkers"});
    if (auto ifs = n["interfaces"]; ifs && r_.expect_map(ifs, field + ".interfaces")) {
      for (auto it = ifs.begin(); it != ifs.end(); ++it) {
        const YAML::Node key = it->first, v = it->second;  // copies: the iterator's pair is a temporary
        std::string name = key.IsScalar() ? key.Scalar() : "";
        std::string f = field + ".interfaces." + name;
        if (!r_.expect_map(v, f)) continue;
        r_.check_keys(v, f, {"rx_pps", "rx_bps", "tx_bps", "shaped_bps", "mode"});
        IfaceTraffic t;
        if (auto x = v["rx_pps"]) t.rx_pps = r_.number(x, f + ".rx_pps", 0, 1e12, "packets per second").value_or(0);
        if (auto x = v["rx_bps"]) t.rx_bps = static_cast<double>(r_.bit_rate(x, f + ".rx_bps").value_or(0));
        if (auto x = v["tx_bps"]) t.tx_bps = static_cast<double>(r_.bit_rate(x, f + ".tx_bps").value_or(0));
        if (auto x = v["shaped_bps"]) t.shaped_bps = r_.bit_rate(x, f + ".shaped_bps").value_or(0);
        if (auto x = v["mode"]) {
          auto m = x.IsScalar() ? parse_attach_mode(x.Scalar()) : std::nullopt;
          if (m) t.mode = *m;
          else r_.error(x, f + ".mode", "expected native, generic or tc");
        }
        tv.ifaces[name] = t;
      }
    }
    each(n["talkers"], field + ".talkers", [&](const YAML::Node& v, const std::string& f) {
      r_.check_keys(v, f, {"iface", "source", "pps"});
      TalkerTraffic t;
      if (auto x = v["iface"]) t.iface = r_.string(x, f + ".iface").value_or("");
      if (auto x = v["source"]) t.source = r_.prefix(x, f + ".source").value_or(Prefix{});
      else r_.error(v, f + ".source", "a talker needs `source:` (its address)");
      if (auto x = v["pps"]) t.pps = r_.number(x, f + ".pps", 0, 1e12, "packets per second").value_or(0);
      tv.talkers.push_back(t);
    });
  }

  void parse_subject(const YAML::Node& v, const std::string& f, Subject& s) {
    if (auto x = v["iface"]) s.iface = r_.string(x, f + ".iface").value_or("");
    if (auto x = v["prefix"]) s.prefix = r_.prefix(x, f + ".prefix");
    if (auto x = v["map"]) s.map = r_.string(x, f + ".map").value_or("");
    if (auto x = v["reason"]) s.reason = r_.string(x, f + ".reason").value_or("");
  }

  void parse_window(const YAML::Node& v, const std::string& f, TimedSymptom& ts) {
    if (auto x = v["at"]) {
      if (x.IsSequence()) {
        std::size_t i = 0;
        for (const auto& e : x)
          if (auto d = r_.duration(e, f + ".at[" + std::to_string(i++) + "]")) ts.at.push_back(*d);
      } else if (auto d = r_.duration(x, f + ".at")) {
        ts.at.push_back(*d);
      }
      if (v["from"] || v["until"]) r_.error(x, f + ".at", "give either `at:` or `from:`/`until:`, not both");
    } else {
      ts.from = dur(v["from"], f + ".from");
      if (auto x = v["until"]) ts.until = dur(x, f + ".until");
    }
    if (auto fl = v["flap"]; fl && r_.expect_map(fl, f + ".flap")) {
      r_.check_keys(fl, f + ".flap", {"on", "off"});
      ts.flap_on = dur(fl["on"], f + ".flap.on");
      ts.flap_off = dur(fl["off"], f + ".flap.off");
      if (ts.flap_on <= 0 || ts.flap_off <= 0) r_.error(fl, f + ".flap", "needs `on:` and `off:` durations above 0s");
    }
  }

  void parse_symptom(const YAML::Node& v, const std::string& f, PolicyTestCase& tc) {
    r_.check_keys(v, f, {"kind", "iface", "prefix", "map", "reason", "severity", "score", "value", "baseline",
                         "deviation", "detail", "since", "at", "from", "until", "flap"});
    TimedSymptom ts;
    auto& s = ts.symptom;
    if (auto x = v["kind"]) {
      auto k = x.IsScalar() ? parse_symptom_kind(x.Scalar()) : std::nullopt;
      if (k) s.kind = *k;
      else r_.error(x, f + ".kind", "expected latency_high, drop_rate_high, map_pressure, flood or attach_degraded, got " +
                                        YamlReader::describe(x));
    } else {
      r_.error(v, f + ".kind", "a symptom needs `kind:`");
    }
    parse_subject(v, f, s.subject);
    if (auto x = v["severity"]) {
      auto sv = x.IsScalar() ? parse_severity(x.Scalar()) : std::nullopt;
      if (sv) s.severity = *sv;
      else r_.error(x, f + ".severity", "expected info, warning or critical");
    }
    s.score = v["score"] ? r_.number(v["score"], f + ".score", 0, 1, "an anomaly score").value_or(0) : 1.0;
    if (auto x = v["value"]) s.evidence.value = r_.number(x, f + ".value", -1e18, 1e18, "the observed value").value_or(0);
    if (auto x = v["baseline"]) s.evidence.baseline = r_.number(x, f + ".baseline", -1e18, 1e18, "the baseline").value_or(0);
    if (auto x = v["deviation"]) s.evidence.deviation = r_.number(x, f + ".deviation", -1e18, 1e18, "a deviation").value_or(0);
    if (auto x = v["detail"]) s.evidence.detail = r_.string(x, f + ".detail").value_or("");
    if (auto x = v["since"]) ts.since = dur(x, f + ".since");
    parse_window(v, f, ts);
    tc.symptoms.push_back(std::move(ts));
  }

  std::optional<Action> parse_manual_action(const YAML::Node& v, const std::string& f) {
    r_.check_keys(v, f, {"action", "iface", "prefix", "pps", "rate", "mode", "program", "message", "ttl"});
    Action a;
    std::string kind = v["action"] ? r_.string(v["action"], f + ".action").value_or("") : "";
    std::string iface = v["iface"] ? r_.string(v["iface"], f + ".iface").value_or("") : "";
    std::optional<Prefix> prefix = v["prefix"] ? r_.prefix(v["prefix"], f + ".prefix") : std::nullopt;
    a.ttl_ns = dur(v["ttl"], f + ".ttl");
    auto need_prefix = [&]() {
      if (!prefix) r_.error(v, f + ".prefix", kind + " needs `prefix:`");
      return prefix.value_or(Prefix{});
    };
    if (kind == "block") a.spec = BlockPrefix{iface, need_prefix(), {}};
    else if (kind == "shadow") a.spec = ShadowPrefix{iface, need_prefix(), {}};
    else if (kind == "unblock") a.spec = Unblock{iface, need_prefix(), {}};
    else if (kind == "rate_limit")
      a.spec = RateLimitPrefix{iface, need_prefix(),
                               static_cast<std::uint64_t>(v["pps"] ? r_.integer(v["pps"], f + ".pps", 1, 1'000'000'000, "pps").value_or(1) : 1), 0, {}};
    else if (kind == "shape")
      a.spec = ShapeInterface{iface, prefix, v["rate"] ? r_.bit_rate(v["rate"], f + ".rate").value_or(0) : 0, 0};
    else if (kind == "attach_mode") {
      auto m = v["mode"] && v["mode"].IsScalar() ? parse_attach_mode(v["mode"].Scalar()) : std::nullopt;
      if (!m) r_.error(v, f + ".mode", "attach_mode needs `mode: native|generic|tc`");
      a.spec = SetAttachMode{iface, m.value_or(AttachMode::native)};
    } else if (kind == "swap_program") a.spec = SwapProgram{iface, v["program"] ? r_.string(v["program"], f + ".program").value_or("") : ""};
    else if (kind == "alert") a.spec = Alert{v["message"] ? r_.string(v["message"], f + ".message").value_or("") : ""};
    else {
      r_.error(v, f + ".action", "expected block, shadow, unblock, rate_limit, shape, attach_mode, swap_program or alert");
      return std::nullopt;
    }
    return a;
  }

  void parse_override(const YAML::Node& v, const std::string& f, PolicyTestCase& tc) {
    r_.check_keys(v, f, {"id", "kind", "who", "from", "until", "action_kind", "iface", "prefix", "action"});
    TimedOverride to;
    auto& o = to.ov;
    o.id = v["id"] ? r_.string(v["id"], f + ".id").value_or("") : f;
    auto k = v["kind"] && v["kind"].IsScalar() ? parse_override_kind(v["kind"].Scalar()) : std::nullopt;
    if (!k) r_.error(v, f + ".kind", "expected pause_all, forbid, pin or manual");
    o.kind = k.value_or(Override::Kind::pause_all);
    if (auto x = v["who"]) o.who = r_.string(x, f + ".who").value_or("");
    o.created_ns = dur(v["from"], f + ".from");
    o.expires_ns = dur(v["until"], f + ".until");
    if (auto x = v["action_kind"]) o.action_kind = r_.string(x, f + ".action_kind").value_or("");
    parse_subject(v, f, o.subject);
    if (auto x = v["action"]; x && r_.expect_map(x, f + ".action")) o.action = parse_manual_action(x, f + ".action");
    if ((o.kind == Override::Kind::pin || o.kind == Override::Kind::manual) && !o.action)
      r_.error(v, f + ".action", "pin and manual overrides need an `action:`");
    if (o.kind == Override::Kind::forbid && o.action_kind.empty())
      r_.error(v, f + ".action_kind", "forbid needs `action_kind:` (e.g. block, or * for all)");
    tc.overrides.push_back(std::move(to));
  }

  void parse_outcome(const YAML::Node& v, const std::string& f, PolicyTestCase& tc) {
    r_.check_keys(v, f, {"at", "action", "iface", "prefix", "status"});
    TimedOutcome o;
    o.at = dur(v["at"], f + ".at");
    if (auto x = v["action"]) o.kind = r_.string(x, f + ".action").value_or("");
    else r_.error(v, f + ".action", "which action kind the outcome is for (block, rate_limit, ...)");
    if (auto x = v["iface"]) o.iface = r_.string(x, f + ".iface").value_or("");
    if (auto x = v["prefix"]) o.prefix = r_.prefix(x, f + ".prefix");
    auto st = v["status"] && v["status"].IsScalar() ? parse_status(v["status"].Scalar()) : std::nullopt;
    if (!st) r_.error(v, f + ".status", "expected applied, failed, rolled_back or expired");
    o.status = st.value_or(OutcomeStatus::failed);
    tc.outcomes.push_back(o);
  }

  void parse_expect(const YAML::Node& v, const std::string& f, PolicyTestCase& tc) {
    r_.check_keys(v, f, {"at", "actions", "notes"});
    Expectation e;
    e.loc = r_.loc(v);
    if (auto x = v["at"]) e.at = dur(x, f + ".at");
    else r_.error(v, f + ".at", "an expectation needs `at:` (the tick it is about)");
    if (auto x = v["notes"])
      if (auto list = r_.string_list(x, f + ".notes")) e.notes_contain = *list;
    each(v["actions"], f + ".actions", [&](const YAML::Node& a, const std::string& af) {
      r_.check_keys(a, af, {"action", "iface", "prefix", "pps", "burst", "rate", "mode", "program", "message", "rule",
                            "decision", "dry_run", "ttl", "guardrail", "proto", "port"});
      ExpectedAction ea;
      if (auto y = a["action"]) ea.kind = r_.string(y, af + ".action").value_or("");
      else r_.error(a, af + ".action", "which action is expected (block, rate_limit, alert, ...)");
      auto str = [&](const char* key, std::optional<std::string>& out) {
        if (auto y = a[key]) out = r_.string(y, af + "." + key);
      };
      str("iface", ea.iface);
      str("rule", ea.rule);
      str("decision", ea.decision);
      str("mode", ea.mode);
      str("program", ea.program);
      str("message", ea.message_contains);
      str("guardrail", ea.guardrail_contains);
      if (auto y = a["prefix"]) ea.prefix = r_.prefix(y, af + ".prefix");
      if (auto y = a["pps"]) ea.pps = r_.integer(y, af + ".pps", 0, 1'000'000'000'000, "pps");
      if (auto y = a["burst"]) ea.burst = r_.integer(y, af + ".burst", 0, 1'000'000'000'000, "burst");
      if (auto y = a["rate"]) ea.rate_bps = r_.bit_rate(y, af + ".rate");
      if (auto y = a["dry_run"]) ea.dry_run = r_.boolean(y, af + ".dry_run");
      if (auto y = a["ttl"]) ea.ttl = r_.duration(y, af + ".ttl");
      if (auto y = a["proto"]) {
        if (y.IsScalar() && (y.Scalar() == "tcp" || y.Scalar() == "udp")) ea.proto = y.Scalar() == "tcp" ? 6 : 17;
        else if (auto p = r_.integer(y, af + ".proto", 0, 255, "tcp, udp or a protocol number")) ea.proto = static_cast<std::uint8_t>(*p);
      }
      if (auto y = a["port"])
        if (auto p = r_.integer(y, af + ".port", 1, 65535, "a port")) ea.port = static_cast<std::uint16_t>(*p);
      e.actions.push_back(std::move(ea));
    });
    tc.expect.push_back(std::move(e));
  }

  YamlReader r_;
  fs::path base_;
};

std::string l4_of(const ActionSpec& s, std::optional<std::uint8_t>& proto, std::optional<std::uint16_t>& port) {
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, BlockPrefix> || std::is_same_v<T, ShadowPrefix> ||
                      std::is_same_v<T, RateLimitPrefix> || std::is_same_v<T, Unblock>) {
          proto = a.l4.proto;
          port = a.l4.port;
        }
      },
      s);
  return {};
}

}  // namespace

bool TimedSymptom::active_at(TimeNs t) const {
  bool in_window = false;
  if (!at.empty()) in_window = std::find(at.begin(), at.end(), t) != at.end();
  else in_window = t >= from && (!until || t < *until);
  if (!in_window) return false;
  if (flap_on > 0 && flap_off > 0) return (t - from) % (flap_on + flap_off) < flap_on;
  return true;
}

TimeNs PolicyTestCase::end() const {
  if (duration) return *duration;
  TimeNs e = 0;
  for (const auto& s : symptoms) {
    for (auto t : s.at) e = std::max(e, t);
    e = std::max(e, s.until.value_or(s.from));
  }
  for (const auto& x : expect) e = std::max(e, x.at);
  for (const auto& o : outcomes) e = std::max(e, o.at);
  for (const auto& o : overrides) e = std::max({e, o.ov.created_ns, o.ov.expires_ns});
  return e;
}

bool ExpectedAction::matches(const Action& a) const {
  if (action_kind_name(a.spec) != kind) return false;
  if (iface && target_iface(a.spec) != *iface) return false;
  if (prefix && target_prefix(a.spec) != prefix) return false;
  if (rule && a.rationale.rule_id != *rule) return false;
  if (decision && a.rationale.decision != *decision) return false;
  if (dry_run && a.dry_run != *dry_run) return false;
  if (ttl && a.ttl_ns != *ttl) return false;
  if (pps || burst) {
    auto* r = std::get_if<RateLimitPrefix>(&a.spec);
    if (!r || (pps && r->pps != *pps) || (burst && r->burst != *burst)) return false;
  }
  if (rate_bps) {
    auto* s = std::get_if<ShapeInterface>(&a.spec);
    if (!s || s->rate_bps != *rate_bps) return false;
  }
  if (mode) {
    auto* m = std::get_if<SetAttachMode>(&a.spec);
    if (!m || to_string(m->mode) != *mode) return false;
  }
  if (program) {
    auto* p = std::get_if<SwapProgram>(&a.spec);
    if (!p || p->program != *program) return false;
  }
  if (message_contains) {
    auto* al = std::get_if<Alert>(&a.spec);
    if (!al || al->message.find(*message_contains) == std::string::npos) return false;
  }
  if (guardrail_contains) {
    const auto& g = a.rationale.guardrails;
    if (std::none_of(g.begin(), g.end(), [&](const std::string& s) { return s.find(*guardrail_contains) != std::string::npos; }))
      return false;
  }
  if (proto || port) {
    std::optional<std::uint8_t> p;
    std::optional<std::uint16_t> po;
    l4_of(a.spec, p, po);
    if ((proto && p != proto) || (port && po != port)) return false;
  }
  return true;
}

std::string ExpectedAction::describe() const {
  std::string out = kind;
  if (iface) out += " iface=" + (iface->empty() ? std::string("*") : *iface);
  if (prefix) out += " prefix=" + prefix->to_string();
  if (proto) out += " proto=" + std::to_string(*proto);
  if (port) out += " port=" + std::to_string(*port);
  if (pps) out += " pps=" + std::to_string(*pps);
  if (burst) out += " burst=" + std::to_string(*burst);
  if (rate_bps) out += " rate=" + format_bit_rate(*rate_bps);
  if (mode) out += " mode=" + *mode;
  if (program) out += " program=" + *program;
  if (message_contains) out += " message~\"" + *message_contains + "\"";
  if (ttl) out += " ttl=" + format_duration(*ttl);
  if (dry_run) out += *dry_run ? " dry_run" : " enforce";
  if (rule) out += " rule=" + *rule;
  if (decision) out += " decision=" + *decision;
  if (guardrail_contains) out += " guardrail~\"" + *guardrail_contains + "\"";
  return out;
}

ParsedTestFile parse_policy_test(const std::string& text, const std::string& file_name, const fs::path& base_dir) {
  ParsedTestFile out;
  try {
    TestParser p(file_name, base_dir, out.diagnostics);
    out.file = p.parse(text, out.diagnostics);
  } catch (const std::exception& e) {
    out.diagnostics.push_back({Diagnostic::Level::error, SourceLoc{file_name}, "", std::string("cannot read: ") + e.what()});
  }
  bool errors = std::any_of(out.diagnostics.begin(), out.diagnostics.end(),
                            [](const Diagnostic& d) { return d.level == Diagnostic::Level::error; });
  if (errors) out.file.reset();
  return out;
}

ParsedTestFile read_policy_test(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ParsedTestFile out;
    out.diagnostics.push_back({Diagnostic::Level::error, SourceLoc{path.string()}, "", "cannot open for reading"});
    return out;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_policy_test(ss.str(), path.string(), path.parent_path());
}

std::vector<TickResult> simulate(const PolicySet& policy, const PolicyTestCase& tc,
                                 const std::function<void(Planner&)>& between_ticks) {
  std::vector<TickResult> ticks;
  Planner planner;
  std::vector<Action> emitted;  // for resolving outcomes to action ids
  std::vector<bool> outcome_done(tc.outcomes.size(), false);
  const TimeNs end = tc.end();
  std::uint64_t version = 0;
  for (TimeNs t = 0; t <= end; t += tc.interval) {
    PlanInput in;
    in.now_ns = t;
    in.snapshot_version = ++version;
    in.traffic = tc.traffic;
    for (const auto& ts : tc.symptoms) {
      if (!ts.active_at(t)) continue;
      Symptom s = ts.symptom;
      s.ts_ns = t;
      s.since_ns = ts.since.value_or(0);
      in.symptoms.push_back(std::move(s));
    }
    for (const auto& o : tc.overrides) in.overrides.push_back(o.ov);
    for (std::size_t i = 0; i < tc.outcomes.size(); ++i) {
      const auto& o = tc.outcomes[i];
      if (outcome_done[i] || o.at > t) continue;
      outcome_done[i] = true;
      // Charge the most recent action of that kind (and target, if given).
      for (auto it = emitted.rbegin(); it != emitted.rend(); ++it) {
        if (action_kind_name(it->spec) != o.kind) continue;
        if (o.prefix && target_prefix(it->spec) != o.prefix) continue;
        if (!o.iface.empty() && target_iface(it->spec) != o.iface) continue;
        in.outcomes.push_back(Outcome{it->id, o.status, "simulated", 0, t});
        break;
      }
    }
    Plan plan = planner.plan(policy, in);
    for (const auto& a : plan.actions) emitted.push_back(a);
    ticks.push_back({t, std::move(plan)});
    if (between_ticks) between_ticks(planner);
  }
  return ticks;
}

CaseResult check_case(const PolicySet& policy, const PolicyTestCase& tc) {
  CaseResult res;
  res.name = tc.name;
  res.loc = tc.loc;
  auto ticks = simulate(policy, tc);
  std::size_t next_expect = 0;
  for (const auto& tick : ticks) {
    const Expectation* exp = nullptr;
    while (next_expect < tc.expect.size() && tc.expect[next_expect].at < tick.t) {
      res.passed = false;
      res.report.push_back("  at " + format_duration(tc.expect[next_expect].at) +
                           ": no planner tick at this time (ticks are every " + format_duration(tc.interval) + ")");
      ++next_expect;
    }
    if (next_expect < tc.expect.size() && tc.expect[next_expect].at == tick.t) exp = &tc.expect[next_expect++];
    const auto& acts = tick.plan.actions;
    if (!exp) {
      if (tc.strict && !acts.empty()) {
        res.passed = false;
        res.report.push_back("  at " + format_duration(tick.t) + ": unexpected actions (strict: every tick with actions needs an `expect`)");
        for (const auto& a : acts) res.report.push_back("    + " + describe(a));
      }
      continue;
    }
    // Match as a multiset: each expectation takes the first unmatched action it fits.
    std::vector<bool> used(acts.size(), false);
    std::vector<const ExpectedAction*> missing;
    for (const auto& e : exp->actions) {
      bool found = false;
      for (std::size_t i = 0; i < acts.size() && !found; ++i)
        if (!used[i] && e.matches(acts[i])) used[i] = found = true;
      if (!found) missing.push_back(&e);
    }
    std::vector<std::string> lines;
    for (const auto* e : missing) lines.push_back("    - " + e->describe());
    for (std::size_t i = 0; i < acts.size(); ++i)
      if (!used[i]) lines.push_back("    + " + describe(acts[i]));
    for (const auto& n : exp->notes_contain) {
      const auto& notes = tick.plan.notes;
      if (std::none_of(notes.begin(), notes.end(), [&](const std::string& s) { return s.find(n) != std::string::npos; }))
        lines.push_back("    - note containing \"" + n + "\"");
    }
    if (!lines.empty()) {
      res.passed = false;
      res.report.push_back("  at " + format_duration(tick.t) + " (" + exp->loc.to_string() + "): - expected, + got");
      for (const auto& a : acts)
        if (std::find(lines.begin(), lines.end(), "    + " + describe(a)) == lines.end())
          res.report.push_back("      " + describe(a));
      res.report.insert(res.report.end(), lines.begin(), lines.end());
      for (const auto& n : tick.plan.notes) res.report.push_back("    note: " + n);
    }
  }
  for (; next_expect < tc.expect.size(); ++next_expect) {
    res.passed = false;
    res.report.push_back("  at " + format_duration(tc.expect[next_expect].at) + ": after the end of the test (" +
                         format_duration(tc.end()) + ")");
  }
  return res;
}

std::string render_timeline(const std::vector<TickResult>& ticks, bool with_notes) {
  std::string out;
  for (const auto& t : ticks) {
    if (t.plan.actions.empty() && (!with_notes || t.plan.notes.empty())) continue;
    out += "t=" + format_duration(t.t) + " " + t.plan.id + "\n";
    for (const auto& a : t.plan.actions) {
      out += "  " + describe(a) + "\n";
      out += "    why: " + a.rationale.note + "\n";
      for (const auto& g : a.rationale.guardrails) out += "    guardrail: " + g + "\n";
    }
    if (with_notes)
      for (const auto& n : t.plan.notes) out += "  note: " + n + "\n";
  }
  return out;
}

bool TestFileRun::passed() const {
  if (std::any_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) { return d.level == Diagnostic::Level::error; }))
    return false;
  return std::all_of(cases.begin(), cases.end(), [](const CaseResult& c) { return c.passed; });
}

TestFileRun run_policy_test_file(const fs::path& path) {
  TestFileRun run;
  run.file = path.string();
  auto parsed = read_policy_test(path);
  run.diagnostics = parsed.diagnostics;
  if (!parsed.file) return run;
  std::vector<PolicySource> sources;
  for (const auto& p : parsed.file->policy_paths) {
    std::error_code ec;
    std::vector<fs::path> files = fs::is_directory(p, ec) ? policy_files_in(p) : std::vector<fs::path>{p};
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        run.diagnostics.push_back({Diagnostic::Level::error, SourceLoc{f.string()}, "", "cannot open policy file"});
        return run;
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      sources.push_back({f.lexically_normal().string(), ss.str()});
    }
  }
  auto report = load_policy_sources(sources);
  for (auto& d : report.diagnostics)
    if (d.level == Diagnostic::Level::error) run.diagnostics.push_back(d);
  if (!report.ok()) return run;
  for (const auto& tc : parsed.file->tests) run.cases.push_back(check_case(*report.policy, tc));
  return run;
}

}  // namespace reflex::plan
