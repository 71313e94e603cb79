#include "fleet/verdict.h"

#include <boost/json.hpp>

#include <cmath>
#include <limits>

namespace reflex::fleet {
namespace json = boost::json;

namespace {

constexpr TimeNs kMaxTtl = 7 * 24 * 3600 * kNsPerSec;

std::optional<SymptomKind> parse_kind(std::string_view s) {
  for (auto k : kAllSymptomKinds)
    if (to_string(k) == s) return k;
  return std::nullopt;
}

std::optional<Severity> parse_sev(std::string_view s) {
  for (auto v : {Severity::info, Severity::warning, Severity::critical})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

// Field readers: each names the field it failed on.
class Reader {
 public:
  explicit Reader(const json::object& o) : o_(o) {}
  const json::value* find(std::string_view k) const { return o_.if_contains(k); }

  Result<std::string> str(std::string_view k, std::size_t max_len) const {
    auto* v = find(k);
    if (!v || !v->is_string()) return bad(k, "a string");
    if (v->as_string().size() > max_len) return bad(k, "at most " + std::to_string(max_len) + " characters");
    return std::string(v->as_string());
  }
  Result<double> num(std::string_view k) const {
    auto* v = find(k);
    if (!v) return bad(k, "a number");
    double d = 0;
    if (v->is_double()) d = v->as_double();
    else if (v->is_int64()) d = static_cast<double>(v->as_int64());
    else if (v->is_uint64()) d = static_cast<double>(v->as_uint64());
    else return bad(k, "a number");
    if (!std::isfinite(d)) return bad(k, "a finite number");
    return d;
  }
  Result<std::uint64_t> uint(std::string_view k, std::uint64_t max) const {
    auto* v = find(k);
    std::uint64_t u = 0;
    if (v && v->is_uint64()) u = v->as_uint64();
    else if (v && v->is_int64() && v->as_int64() >= 0) u = static_cast<std::uint64_t>(v->as_int64());
    else return bad(k, "a non-negative integer");
    if (u > max) return bad(k, "at most " + std::to_string(max));
    return u;
  }
  template <class T = void>
  Error bad(std::string_view k, const std::string& expected) const {
    return make_error("verdict field \"" + std::string(k) + "\": expected " + expected,
                      "the sender speaks another format or is broken; see docs/fleet.md");
  }

 private:
  const json::object& o_;
};

}  // namespace

std::string_view to_string(VerdictAction a) {
  switch (a) {
    case VerdictAction::block: return "block";
    case VerdictAction::rate_limit: return "rate_limit";
  }
  return "unknown";
}

std::optional<VerdictAction> parse_verdict_action(std::string_view s) {
  if (s == "block") return VerdictAction::block;
  if (s == "rate_limit") return VerdictAction::rate_limit;
  return std::nullopt;
}

bool Verdict::operator==(const Verdict& o) const {
  return version == o.version && node == o.node && seq == o.seq && wall_ns == o.wall_ns && prefix == o.prefix &&
         l4 == o.l4 && kind == o.kind && severity == o.severity && score == o.score &&
         evidence.value == o.evidence.value && evidence.baseline == o.evidence.baseline &&
         evidence.deviation == o.evidence.deviation && evidence.detail == o.evidence.detail && action == o.action &&
         pps == o.pps && ttl_ns == o.ttl_ns && action_id == o.action_id && rule_id == o.rule_id && effect == o.effect;
}

bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxNodeIdLen) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

std::string verdict_subject(std::string_view subject_prefix, std::string_view node) {
  return std::string(subject_prefix) + ".v1.verdict." + std::string(node);
}

std::string verdict_wildcard(std::string_view subject_prefix) { return std::string(subject_prefix) + ".v1.verdict.*"; }

std::optional<std::string> node_of_subject(std::string_view subject_prefix, std::string_view subject) {
  const std::string head = std::string(subject_prefix) + ".v1.verdict.";
  if (subject.size() <= head.size() || subject.compare(0, head.size(), head) != 0) return std::nullopt;
  auto node = subject.substr(head.size());
  if (!valid_node_id(node)) return std::nullopt;
  return std::string(node);
}

std::string encode(const Verdict& v) {
  json::object o;
  o["v"] = v.version;
  o["node"] = v.node;
  o["seq"] = v.seq;
  o["ts_ms"] = v.wall_ns / kNsPerMs;
  o["prefix"] = v.prefix.to_string();
  if (v.l4.proto) o["proto"] = *v.l4.proto;
  if (v.l4.port) o["port"] = *v.l4.port;
  json::object s;
  s["kind"] = to_string(v.kind);
  s["severity"] = to_string(v.severity);
  s["score"] = v.score;
  s["value"] = v.evidence.value;
  s["baseline"] = v.evidence.baseline;
  s["deviation"] = v.evidence.deviation;
  if (!v.evidence.detail.empty()) s["detail"] = v.evidence.detail;
  o["symptom"] = std::move(s);
  json::object a;
  a["kind"] = to_string(v.action);
  if (v.action == VerdictAction::rate_limit) a["pps"] = v.pps;
  a["ttl_ms"] = v.ttl_ns / kNsPerMs;
  if (!v.action_id.empty()) a["id"] = v.action_id;
  if (!v.rule_id.empty()) a["rule"] = v.rule_id;
  a["effect"] = v.effect;
  o["action"] = std::move(a);
  return json::serialize(o);
}

Result<Verdict> decode_verdict(std::string_view text) {
  if (text.size() > kMaxVerdictBytes)
    return make_error("verdict of " + std::to_string(text.size()) + " bytes refused (at most " +
                          std::to_string(kMaxVerdictBytes) + ")",
                      "a verdict is one small JSON object; see docs/fleet.md");
  json::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object())
    return make_error("verdict is not a JSON object" + (ec ? ": " + ec.message() : std::string()),
                      "the sender is not a reflex node, or the message was damaged");
  const auto& o = root.as_object();
  Reader r(o);
  Verdict v;
  auto version = r.uint("v", 1000);
  if (!version) return version.error();
  if (*version != kVerdictVersion)
    return make_error("verdict version " + std::to_string(*version) + " is not understood (this node reads " +
                          std::to_string(kVerdictVersion) + ")",
                      "upgrade this node, or keep the fleet on one format version");
  v.version = static_cast<int>(*version);
  auto node = r.str("node", kMaxNodeIdLen);
  if (!node) return node.error();
  if (!valid_node_id(*node)) return r.bad("node", "a node id (letters, digits, '-', '_')");
  v.node = *node;
  auto seq = r.uint("seq", std::numeric_limits<std::uint64_t>::max());
  if (!seq) return seq.error();
  v.seq = *seq;
  auto ts = r.uint("ts_ms", std::numeric_limits<std::int64_t>::max() / kNsPerMs);
  if (!ts) return ts.error();
  v.wall_ns = static_cast<TimeNs>(*ts) * kNsPerMs;
  auto prefix_text = r.str("prefix", 64);
  if (!prefix_text) return prefix_text.error();
  auto prefix = Prefix::parse(*prefix_text);
  if (!prefix) return r.bad("prefix", "an IPv4 or IPv6 prefix, got \"" + *prefix_text + "\"");
  v.prefix = *prefix;
  if (r.find("proto")) {
    auto p = r.uint("proto", 255);
    if (!p) return p.error();
    v.l4.proto = static_cast<std::uint8_t>(*p);
  }
  if (r.find("port")) {
    if (!v.l4.proto) return r.bad("port", "no port without a proto");
    auto p = r.uint("port", 65535);
    if (!p) return p.error();
    v.l4.port = static_cast<std::uint16_t>(*p);
  }

  auto* sv = r.find("symptom");
  if (!sv || !sv->is_object()) return r.bad("symptom", "an object");
  Reader s(sv->as_object());
  auto kind = s.str("kind", 32);
  if (!kind) return kind.error();
  auto k = parse_kind(*kind);
  if (!k || *k == SymptomKind::peer_verdict) return s.bad("symptom.kind", "a local symptom kind");
  v.kind = *k;
  auto sev = s.str("severity", 16);
  if (!sev) return sev.error();
  auto severity = parse_sev(*sev);
  if (!severity) return s.bad("symptom.severity", "info, warning or critical");
  v.severity = *severity;
  auto score = s.num("score");
  if (!score) return score.error();
  if (*score < 0 || *score > 1) return s.bad("symptom.score", "a score in [0, 1]");
  v.score = *score;
  for (auto [name, out] : {std::pair{"value", &v.evidence.value}, std::pair{"baseline", &v.evidence.baseline},
                           std::pair{"deviation", &v.evidence.deviation}}) {
    if (!s.find(name)) continue;
    auto n = s.num(name);
    if (!n) return n.error();
    *out = *n;
  }
  if (s.find("detail")) {
    auto d = s.str("detail", 512);
    if (!d) return d.error();
    v.evidence.detail = *d;
  }

  auto* av = r.find("action");
  if (!av || !av->is_object()) return r.bad("action", "an object");
  Reader a(av->as_object());
  auto ak = a.str("kind", 16);
  if (!ak) return ak.error();
  auto act = parse_verdict_action(*ak);
  if (!act) return a.bad("action.kind", "block or rate_limit");
  v.action = *act;
  if (v.action == VerdictAction::rate_limit) {
    auto pps = a.uint("pps", 1'000'000'000);
    if (!pps) return pps.error();
    v.pps = *pps;
  }
  auto ttl = a.uint("ttl_ms", kMaxTtl / kNsPerMs);
  if (!ttl) return ttl.error();
  v.ttl_ns = static_cast<TimeNs>(*ttl) * kNsPerMs;
  if (a.find("id")) {
    auto id = a.str("id", 128);
    if (!id) return id.error();
    v.action_id = *id;
  }
  if (a.find("rule")) {
    auto rule = a.str("rule", 128);
    if (!rule) return rule.error();
    v.rule_id = *rule;
  }
  if (a.find("effect")) {
    auto e = a.num("effect");
    if (!e) return e.error();
    v.effect = *e;
  }
  return v;
}

std::optional<Verdict> verdict_for(const Action& action, const Outcome& outcome, const Symptom* seen) {
  if (outcome.status != OutcomeStatus::verified || action.dry_run) return std::nullopt;
  const bool from_peers = action.rationale.symptom == SymptomKind::peer_verdict;
  if (from_peers && (!seen || seen->kind == SymptomKind::peer_verdict)) return std::nullopt;
  Verdict v;
  if (auto* b = std::get_if<BlockPrefix>(&action.spec)) {
    v.prefix = b->prefix;
    v.l4 = b->l4;
    v.action = VerdictAction::block;
  } else if (auto* r = std::get_if<RateLimitPrefix>(&action.spec)) {
    v.prefix = r->prefix;
    v.l4 = r->l4;
    v.action = VerdictAction::rate_limit;
    v.pps = r->pps;
  } else {
    return std::nullopt;
  }
  v.kind = action.rationale.symptom.value_or(SymptomKind::flood);
  v.evidence = action.rationale.evidence;
  if (seen) {
    v.kind = seen->kind;
    v.severity = seen->severity;
    v.score = seen->score;
    if (from_peers) v.evidence = seen->evidence;
  }
  v.ttl_ns = action.ttl_ns;
  v.action_id = action.id;
  v.rule_id = action.rationale.rule_id;
  v.effect = outcome.effect;
  return v;
}

}  // namespace reflex::fleet
