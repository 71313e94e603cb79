#include "plan/policy_loader.h"

#include "plan/lint.h"
#include "plan/units.h"
#include "plan/yaml_reader.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace reflex::plan {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRules = 10'000;
constexpr std::size_t kMaxLadder = 16;
constexpr TimeNs kUnset = -1;  // "inherit from global.defaults", resolved after every file is read

// Step fields that only make sense for some actions; anything else is an error.
struct StepKeys {
  ActionKind kind;
  std::initializer_list<std::string_view> keys;
};
const StepKeys kStepKeys[] = {
    {ActionKind::alert, {"action", "message", "ttl", "hold"}},
    {ActionKind::shadow, {"action", "proto", "port", "ttl", "hold"}},
    {ActionKind::block, {"action", "proto", "port", "ttl", "hold"}},
    {ActionKind::rate_limit, {"action", "proto", "port", "pps", "burst", "ttl", "hold"}},
    {ActionKind::shape, {"action", "rate", "burst", "target", "ttl", "hold"}},
    {ActionKind::attach_mode, {"action", "step", "mode", "ttl", "hold"}},
    {ActionKind::swap_program, {"action", "program", "revert_to", "ttl", "hold"}},
    {ActionKind::aggregate, {"action", "verb", "length", "min_hosts", "ttl", "hold"}},
};

class Loader {
 public:
  explicit Loader(std::vector<Diagnostic>& diags) : diags_(diags) {}

  void load(const PolicySource& src) {
    auto docs = parse_yaml_documents(src.text, src.name, diags_);
    YamlReader r(src.name, diags_);
    for (const auto& doc : docs) {
      if (doc.IsNull()) continue;  // an empty file is a valid (empty) policy
      if (!r.expect_map(doc, "")) continue;
      r.check_keys(doc, "", {"version", "global", "rules"});
      if (auto v = doc["version"]) r.integer(v, "version", 1, 1, "the policy language version");
      if (auto g = doc["global"]) load_global(r, g);
      if (auto rules = doc["rules"]) {
        if (!rules.IsSequence()) {
          if (!rules.IsNull())
            r.error(rules, "rules", "expected a list of rules (lines starting with `- id:`), got " +
                                        YamlReader::describe(rules));
          continue;
        }
        std::size_t i = 0;
        for (const auto& rn : rules) {
          if (set_.rules.size() >= kMaxRules) {
            r.error(rn, "rules", "more than " + std::to_string(kMaxRules) + " rules", "split or merge rules");
            break;
          }
          load_rule(r, rn, i++);
        }
      }
    }
    set_.files.push_back(src.name);
  }

  PolicySet finish() {
    resolve_defaults();
    return std::move(set_);
  }

 private:
  void load_global(YamlReader& r, const YAML::Node& g) {
    if (global_seen_) {
      r.error(g, "global", "a second `global:` section (the first is at " + global_loc_.to_string() + ")",
              "keep exactly one `global:` section in the policy folder");
      return;
    }
    global_seen_ = true;
    global_loc_ = r.loc(g);
    auto& gs = set_.global;
    gs.loc = global_loc_;
    if (!r.expect_map(g, "global")) return;
    r.check_keys(g, "global", {"mode", "max_actions_per_minute", "defaults", "guardrails", "backoff"});
    if (auto n = g["mode"]) {
      if (auto m = mode(r, n, "global.mode")) gs.mode = *m;
    }
    if (auto n = g["max_actions_per_minute"])
      if (auto v = r.integer(n, "global.max_actions_per_minute", 1, 100000, "actions per minute"))
        gs.max_actions_per_minute = static_cast<int>(*v);
    if (auto d = g["defaults"]; d && r.expect_map(d, "global.defaults")) {
      r.check_keys(d, "global.defaults", {"ttl", "for", "clear_for", "hold", "cooldown"});
      auto dur = [&](const char* key, TimeNs& out) {
        if (auto n = d[key])
          if (auto v = r.duration(n, std::string("global.defaults.") + key)) out = *v;
      };
      dur("ttl", gs.defaults.ttl);
      dur("for", gs.defaults.persist);
      dur("clear_for", gs.defaults.clear_for);
      dur("hold", gs.defaults.hold);
      dur("cooldown", gs.defaults.cooldown);
    }
    if (auto b = g["backoff"]; b && r.expect_map(b, "global.backoff")) {
      r.check_keys(b, "global.backoff", {"initial", "max", "factor"});
      if (auto n = b["initial"])
        if (auto v = r.duration(n, "global.backoff.initial")) gs.backoff.initial = *v;
      if (auto n = b["max"])
        if (auto v = r.duration(n, "global.backoff.max")) gs.backoff.max = *v;
      if (auto n = b["factor"])
        if (auto v = r.number(n, "global.backoff.factor", 1.0, 100.0, "a growth factor")) gs.backoff.factor = *v;
      if (gs.backoff.initial <= 0)
        r.error(b, "global.backoff.initial", "must be longer than 0s", "e.g. `initial: 1m`");
      if (gs.backoff.max < gs.backoff.initial)
        r.error(b, "global.backoff.max", "must not be shorter than global.backoff.initial");
    }
    if (auto gr = g["guardrails"]; gr && r.expect_map(gr, "global.guardrails")) load_guardrails(r, gr);
  }

  void load_guardrails(YamlReader& r, const YAML::Node& g) {
    auto& gr = set_.global.guardrails;
    r.check_keys(g, "global.guardrails",
                 {"never_block", "max_block_prefix", "shaping_floor", "rate_limit_floor", "max_drop_fraction"});
    if (auto n = g["never_block"])
      if (auto v = r.prefix_list(n, "global.guardrails.never_block")) gr.never_block = *v;
    if (auto m = g["max_block_prefix"]; m && r.expect_map(m, "global.guardrails.max_block_prefix")) {
      r.check_keys(m, "global.guardrails.max_block_prefix", {"ipv4", "ipv6"});
      if (auto n = m["ipv4"])
        if (auto v = r.integer(n, "global.guardrails.max_block_prefix.ipv4", 1, 32, "an IPv4 prefix length"))
          gr.max_block_len_v4 = static_cast<std::uint8_t>(*v);
      if (auto n = m["ipv6"])
        if (auto v = r.integer(n, "global.guardrails.max_block_prefix.ipv6", 1, 128, "an IPv6 prefix length"))
          gr.max_block_len_v6 = static_cast<std::uint8_t>(*v);
    }
    if (auto n = g["shaping_floor"])
      if (auto v = r.bit_rate(n, "global.guardrails.shaping_floor")) gr.shaping_floor_bps = *v;
    if (auto n = g["rate_limit_floor"])
      if (auto v = r.integer(n, "global.guardrails.rate_limit_floor", 1, 1'000'000'000, "packets per second"))
        gr.rate_limit_floor_pps = static_cast<std::uint64_t>(*v);
    if (auto n = g["max_drop_fraction"])
      if (auto v = r.number(n, "global.guardrails.max_drop_fraction", 0.0, 1.0, "a fraction of the pps")) {
        if (*v <= 0)
          r.error(n, "global.guardrails.max_drop_fraction", "must be above 0: 0 would forbid every drop",
                  "use `mode: dry_run` to stop enforcing instead");
        else gr.max_drop_fraction = *v;
      }
  }

  std::optional<Mode> mode(YamlReader& r, const YAML::Node& n, const std::string& field) {
    if (n.IsScalar()) {
      if (n.Scalar() == "enforce") return Mode::enforce;
      if (n.Scalar() == "dry_run" || n.Scalar() == "dry-run") return Mode::dry_run;
    }
    r.error(n, field, "expected `enforce` or `dry_run`, got " + YamlReader::describe(n));
    return std::nullopt;
  }

  void load_rule(YamlReader& r, const YAML::Node& n, std::size_t index) {
    std::string field = "rules[" + std::to_string(index) + "]";
    if (!r.expect_map(n, field)) return;
    Rule rule;
    rule.loc = r.loc(n);
    bool ok = true;
    if (auto id = n["id"]; id && id.IsScalar() && !id.Scalar().empty()) {
      rule.id = id.Scalar();
      bool good = std::all_of(rule.id.begin(), rule.id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
      });
      if (!good || rule.id.size() > 64) {
        r.error(id, field + ".id", "expected letters, digits, '-', '_' or '.' (at most 64), got " +
                                       YamlReader::describe(id));
        ok = false;
      }
      field = "rules[" + rule.id + "]";
    } else {
      r.error(id ? id : n, field + ".id", "every rule needs an `id:` (a short unique name)",
              "e.g. `id: flood-host`; it appears in every action's rationale");
      ok = false;
    }
    r.check_keys(n, field,
                 {"id", "description", "enabled", "priority", "mode", "when", "aggregate", "then", "ttl", "hold",
                  "cooldown", "clear_for"});
    if (auto d = n["description"])
      if (auto s = r.string(d, field + ".description")) rule.description = *s;
    if (auto e = n["enabled"])
      if (auto b = r.boolean(e, field + ".enabled")) rule.enabled = *b;
    if (auto p = n["priority"])
      if (auto v = r.integer(p, field + ".priority", -1000000, 1000000, "a priority (higher wins)"))
        rule.priority = static_cast<int>(*v);
    if (auto m = n["mode"]) rule.mode = mode(r, m, field + ".mode");

    auto dur_or_unset = [&](const char* key) -> TimeNs {
      if (auto v = n[key])
        if (auto d = r.duration(v, field + "." + key)) return *d;
      return kUnset;
    };
    rule.cooldown = dur_or_unset("cooldown");
    rule.clear_for = dur_or_unset("clear_for");
    TimeNs rule_ttl = dur_or_unset("ttl");
    TimeNs rule_hold = dur_or_unset("hold");

    if (auto w = n["when"]) ok &= load_when(r, w, field + ".when", rule.when);
    else {
      r.error(n, field + ".when", "every rule needs a `when:` naming at least the symptom",
              "e.g. `when: {symptom: flood}`");
      ok = false;
    }
    if (auto a = n["aggregate"]; a && r.expect_map(a, field + ".aggregate")) {
      r.check_keys(a, field + ".aggregate", {"ipv4", "ipv6"});
      if (auto v4 = a["ipv4"])
        if (auto v = r.integer(v4, field + ".aggregate.ipv4", 1, 32, "an IPv4 prefix length"))
          rule.aggregate_v4 = static_cast<std::uint8_t>(*v);
      if (auto v6 = a["ipv6"])
        if (auto v = r.integer(v6, field + ".aggregate.ipv6", 1, 128, "an IPv6 prefix length"))
          rule.aggregate_v6 = static_cast<std::uint8_t>(*v);
    }
    if (auto t = n["then"]) {
      if (t.IsSequence()) {
        std::size_t i = 0;
        for (const auto& s : t) {
          if (i >= kMaxLadder) {
            r.error(s, field + ".then", "a ladder has at most " + std::to_string(kMaxLadder) + " rungs");
            ok = false;
            break;
          }
          ok &= load_step(r, s, field + ".then[" + std::to_string(i++) + "]", rule);
        }
        if (i == 0) {
          r.error(t, field + ".then", "the ladder is empty", "give at least one `- action: ...`");
          ok = false;
        }
      } else {
        ok &= load_step(r, t, field + ".then", rule);
      }
    } else {
      r.error(n, field + ".then", "every rule needs a `then:` with an action or a ladder of actions",
              "e.g. `then: {action: alert}`");
      ok = false;
    }
    for (auto& s : rule.ladder) {
      if (s.ttl == kUnset) s.ttl = rule_ttl;
      if (s.hold == kUnset) s.hold = rule_hold;
    }
    // Ids are checked even on broken rules, so one pass reports every duplicate.
    if (!rule.id.empty()) {
      if (auto it = ids_.find(rule.id); it != ids_.end()) {
        r.error(n["id"], field + ".id", "duplicate rule id (first defined at " + it->second.to_string() + ")",
                "rule ids must be unique across the whole policy folder");
        return;
      }
      ids_[rule.id] = rule.loc;
    }
    if (ok) set_.rules.push_back(std::move(rule));
  }

  bool load_when(YamlReader& r, const YAML::Node& w, const std::string& field, When& when) {
    if (!r.expect_map(w, field)) return false;
    std::size_t before = errors();
    r.check_keys(w, field,
                 {"symptom", "iface", "prefix", "map", "reason", "min_severity", "min_score", "clear_below", "for",
                  "min_peers"});
    when.persist = kUnset;
    if (auto s = w["symptom"]) {
      if (auto names = r.string_list(s, field + ".symptom")) {
        for (const auto& name : *names) {
          if (auto k = parse_symptom_kind(name)) {
            if (std::find(when.kinds.begin(), when.kinds.end(), *k) == when.kinds.end()) when.kinds.push_back(*k);
          } else {
            auto guess = closest_match(name, {"latency_high", "drop_rate_high", "map_pressure", "flood",
                                              "attach_degraded", "loss_high", "peer_verdict"});
            r.error(s, field + ".symptom",
                    "unknown symptom \"" + name +
                        "\"; expected latency_high, drop_rate_high, map_pressure, flood, attach_degraded, "
                        "loss_high or peer_verdict",
                    guess.empty() ? "" : "did you mean `" + guess + "`?");
          }
        }
        if (names->empty()) r.error(s, field + ".symptom", "expected at least one symptom kind");
      }
    } else {
      r.error(w, field + ".symptom", "missing: which symptom kind(s) this rule reacts to",
              "e.g. `symptom: flood` or `symptom: [flood, drop_rate_high]`");
    }
    if (auto n = w["iface"])
      if (auto v = r.string_list(n, field + ".iface")) when.subject.ifaces = *v;
    if (auto n = w["prefix"])
      if (auto v = r.prefix_list(n, field + ".prefix")) when.subject.prefixes = *v;
    if (auto n = w["map"])
      if (auto v = r.string_list(n, field + ".map")) when.subject.maps = *v;
    if (auto n = w["reason"])
      if (auto v = r.string_list(n, field + ".reason")) when.subject.reasons = *v;
    if (auto n = w["min_severity"]) {
      if (auto s = n.IsScalar() ? parse_severity(n.Scalar()) : std::nullopt) when.min_severity = *s;
      else r.error(n, field + ".min_severity", "expected info, warning or critical, got " + YamlReader::describe(n));
    }
    if (auto n = w["min_score"])
      if (auto v = r.number(n, field + ".min_score", 0, 1, "an anomaly score")) when.min_score = *v;
    if (auto n = w["clear_below"]) {
      if (auto v = r.number(n, field + ".clear_below", 0, 1, "an anomaly score")) {
        if (*v > when.min_score)
          r.error(n, field + ".clear_below", "must not be above min_score (" + std::to_string(when.min_score) + ")",
                  "hysteresis: act at min_score, stand down below clear_below");
        else when.clear_below = *v;
      }
    }
    if (auto n = w["for"])
      if (auto v = r.duration(n, field + ".for")) when.persist = *v;
    if (auto n = w["min_peers"]) {
      if (auto v = r.integer(n, field + ".min_peers", 1, 1000, "a number of fleet peers")) {
        if (when.kinds.size() != 1 || when.kinds.front() != SymptomKind::peer_verdict)
          r.error(n, field + ".min_peers", "only applies to `symptom: peer_verdict`",
                  "peers agree about fleet verdicts; drop min_peers or make the rule about peer_verdict");
        else when.min_peers = static_cast<int>(*v);
      }
    }
    return errors() == before;
  }

  bool load_step(YamlReader& r, const YAML::Node& n, const std::string& field, Rule& rule) {
    if (!r.expect_map(n, field)) return false;
    std::size_t before = errors();
    Step s;
    s.loc = r.loc(n);
    s.ttl = kUnset;
    s.hold = kUnset;
    auto an = n["action"];
    std::optional<ActionKind> kind;
    if (an && an.IsScalar()) kind = parse_action_kind(an.Scalar());
    if (!kind) {
      auto guess = an && an.IsScalar()
                       ? closest_match(an.Scalar(), {"alert", "shadow", "rate_limit", "block", "shape", "attach_mode",
                                                      "swap_program", "aggregate"})
                       : std::string();
      r.error(an ? an : n, field + ".action",
              "expected one of alert, shadow, rate_limit, block, shape, attach_mode, swap_program, aggregate, got " +
                  (an ? YamlReader::describe(an) : std::string("nothing")),
              guess.empty() ? "" : "did you mean `" + guess + "`?");
      return false;
    }
    s.kind = *kind;
    for (const auto& sk : kStepKeys)
      if (sk.kind == s.kind) r.check_keys(n, field, sk.keys);

    if (auto v = n["ttl"])
      if (auto d = r.duration(v, field + ".ttl")) s.ttl = *d;
    if (auto v = n["hold"])
      if (auto d = r.duration(v, field + ".hold")) s.hold = *d;
    if (auto v = n["proto"]) {
      if (v.IsScalar() && (v.Scalar() == "tcp" || v.Scalar() == "udp" || v.Scalar() == "icmp" ||
                           v.Scalar() == "icmpv6")) {
        const auto& p = v.Scalar();
        s.l4.proto = p == "tcp" ? 6 : p == "udp" ? 17 : p == "icmp" ? 1 : 58;
      } else if (auto num = r.integer(v, field + ".proto", 0, 255, "tcp, udp, icmp, icmpv6 or an IP protocol number")) {
        s.l4.proto = static_cast<std::uint8_t>(*num);
      }
    }
    if (auto v = n["port"]) {
      if (auto p = r.integer(v, field + ".port", 1, 65535, "a destination port")) s.l4.port = static_cast<std::uint16_t>(*p);
      if (!n["proto"]) r.error(v, field + ".port", "a port needs a protocol", "add `proto: tcp` or `proto: udp`");
    }
    switch (s.kind) {
      case ActionKind::rate_limit:
        if (auto v = n["pps"]) {
          if (auto p = r.integer(v, field + ".pps", 1, 1'000'000'000, "packets per second")) s.pps = *p;
        } else {
          r.error(n, field + ".pps", "rate_limit needs `pps:` (packets per second the prefix may send)",
                  "e.g. `pps: 1000`");
        }
        if (auto v = n["burst"])
          if (auto p = r.integer(v, field + ".burst", 1, 1'000'000'000, "a burst in packets")) s.burst = *p;
        break;
      case ActionKind::shape:
        if (auto v = n["rate"]) {
          // A share ("85%") of the egress rate measured when the rule acts:
          // the node cannot know a bottleneck beyond it, but while that
          // bottleneck's queue is full it sends at about its rate.
          if (v.IsScalar() && !v.Scalar().empty() && v.Scalar().back() == '%') {
            auto share = parse_percent(v.Scalar());
            if (share && *share > 0 && *share <= 1) {
              s.rate_share = *share;
            } else {
              r.error(v, field + ".rate",
                      "expected a share of the interface's egress rate above 0% and at most 100%, got " +
                          YamlReader::describe(v),
                      "e.g. `rate: 85%` (shape a little below the rate the interface sends at)");
            }
          } else if (auto p = r.bit_rate(v, field + ".rate")) {
            s.rate_bps = *p;
          }
        } else {
          r.error(n, field + ".rate", "shape needs `rate:`", "e.g. `rate: 50Mbit` or `rate: 85%` of the egress rate");
        }
        if (auto v = n["burst"])
          if (auto p = r.byte_size(v, field + ".burst")) s.burst_bytes = *p;
        if (auto v = n["target"]) {
          if (v.IsScalar() && (v.Scalar() == "interface" || v.Scalar() == "prefix"))
            s.shape_prefix = v.Scalar() == "prefix";
          else r.error(v, field + ".target", "expected `interface` or `prefix`, got " + YamlReader::describe(v));
        }
        if (s.shape_prefix && s.rate_share > 0)
          r.error(n["rate"], field + ".rate",
                  "a share (" + format_percent(s.rate_share) +
                      ") is of the whole interface's egress rate, which says nothing about one prefix's path",
                  "give a prefix shape an absolute rate, e.g. `rate: 20Mbit`, or shape the interface");
        break;
      case ActionKind::attach_mode: {
        auto st = n["step"];
        auto md = n["mode"];
        if (st && md) r.error(md, field + ".mode", "give either `step:` or `mode:`, not both");
        if (md) {
          auto m = md.IsScalar() ? parse_attach_mode(md.Scalar()) : std::nullopt;
          if (m && *m != AttachMode::none) {
            s.attach_step = AttachStep::set;
            s.attach_mode = *m;
          } else {
            r.error(md, field + ".mode", "expected native, generic or tc, got " + YamlReader::describe(md));
          }
        } else if (st) {
          if (st.IsScalar() && (st.Scalar() == "down" || st.Scalar() == "up"))
            s.attach_step = st.Scalar() == "down" ? AttachStep::down : AttachStep::up;
          else r.error(st, field + ".step", "expected `down` (native -> generic -> tc) or `up`, got " +
                                                YamlReader::describe(st));
        } else {
          r.error(n, field + ".step", "attach_mode needs `step: down|up` or `mode: native|generic|tc`");
        }
        break;
      }
      case ActionKind::swap_program:
        if (auto v = n["program"]) {
          if (auto p = r.string(v, field + ".program")) s.program = *p;
        } else {
          r.error(n, field + ".program", "swap_program needs `program:` (the program to attach)");
        }
        if (auto v = n["revert_to"])
          if (auto p = r.string(v, field + ".revert_to")) s.revert_program = *p;
        break;
      case ActionKind::alert:
        if (auto v = n["message"])
          if (auto p = r.string(v, field + ".message")) s.message = *p;
        break;
      case ActionKind::aggregate:
        if (auto v = n["verb"]) {
          const std::string w = v.IsScalar() ? v.Scalar() : "";
          if (w == "block" || w == "drop") s.aggregate_verb = RuleVerb::drop;
          else if (w == "rate_limit") s.aggregate_verb = RuleVerb::rate_limit;
          else if (w == "shadow") s.aggregate_verb = RuleVerb::shadow;
          else
            r.error(v, field + ".verb", "expected block, rate_limit or shadow, got " + YamlReader::describe(v),
                    "allow rules are never widened");
        }
        if (auto m = n["length"]; m && r.expect_map(m, field + ".length")) {
          r.check_keys(m, field + ".length", {"ipv4", "ipv6"});
          if (auto v4 = m["ipv4"])
            if (auto v = r.integer(v4, field + ".length.ipv4", 1, 31, "an IPv4 prefix length below /32"))
              s.aggregate_len_v4 = static_cast<std::uint8_t>(*v);
          if (auto v6 = m["ipv6"])
            if (auto v = r.integer(v6, field + ".length.ipv6", 1, 127, "an IPv6 prefix length below /128"))
              s.aggregate_len_v6 = static_cast<std::uint8_t>(*v);
        }
        if (auto v = n["min_hosts"])
          if (auto p = r.integer(v, field + ".min_hosts", 2, 1'000'000, "host rules a prefix must replace"))
            s.aggregate_min_hosts = static_cast<std::uint32_t>(*p);
        break;
      case ActionKind::shadow:
      case ActionKind::block:
        break;
    }
    rule.ladder.push_back(std::move(s));
    return errors() == before;
  }

  void resolve_defaults() {
    const auto& d = set_.global.defaults;
    for (auto& r : set_.rules) {
      if (r.cooldown == kUnset) r.cooldown = d.cooldown;
      if (r.clear_for == kUnset) r.clear_for = d.clear_for;
      if (r.when.persist == kUnset) r.when.persist = d.persist;
      for (auto& s : r.ladder) {
        if (s.ttl == kUnset) s.ttl = d.ttl;
        if (s.hold == kUnset) s.hold = d.hold;
      }
    }
  }

  std::size_t errors() const {
    return static_cast<std::size_t>(std::count_if(diags_.begin(), diags_.end(), [](const Diagnostic& d) {
      return d.level == Diagnostic::Level::error;
    }));
  }

  std::vector<Diagnostic>& diags_;
  PolicySet set_;
  bool global_seen_ = false;
  SourceLoc global_loc_;
  std::map<std::string, SourceLoc> ids_;
};

}  // namespace

bool is_policy_file_name(const std::string& name) {
  if (name.empty() || name[0] == '.' || name[0] == '#' || name.back() == '~') return false;
  auto ends_with = [&](std::string_view suf) {
    return name.size() > suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

std::vector<fs::path> policy_files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (is_policy_file_name(it->path().filename().string())) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

LoadReport load_policy_sources(const std::vector<PolicySource>& sources) {
  LoadReport report;
  try {
    Loader loader(report.diagnostics);
    for (const auto& s : sources) loader.load(s);
    PolicySet set = loader.finish();
    // Findings in file order read like a compiler's (the loader visits keys in a
    // different order than they are written).
    std::stable_sort(report.diagnostics.begin(), report.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.loc.file, a.loc.line, a.loc.column) < std::tie(b.loc.file, b.loc.line, b.loc.column);
    });
    if (report.errors() == 0) {
      lint(set, report.diagnostics);
      report.policy = std::move(set);
    }
  } catch (const std::exception& e) {
    // yaml-cpp may still throw on odd input (e.g. a subscript on an alias of
    // the wrong type); that is a rejected file, never a crashed daemon.
    report.policy.reset();
    report.diagnostics.push_back(
        {Diagnostic::Level::error, SourceLoc{sources.empty() ? "" : sources.back().name}, "",
         std::string("cannot read policy: ") + e.what()});
  }
  return report;
}

LoadReport load_policy_path(const fs::path& path) {
  std::vector<PolicySource> sources;
  LoadReport report;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    files = policy_files_in(path);
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    report.diagnostics.push_back({Diagnostic::Level::error, SourceLoc{path.string()}, "",
                                  "no such file or folder", "give a policy file or the policies/ folder"});
    return report;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      report.diagnostics.push_back(
          {Diagnostic::Level::error, SourceLoc{f.string()}, "", "cannot open for reading", "check permissions"});
      return report;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    sources.push_back({f.string(), ss.str()});
  }
  auto loaded = load_policy_sources(sources);
  if (files.empty() && fs::is_directory(path, ec))
    loaded.diagnostics.push_back({Diagnostic::Level::warning, SourceLoc{path.string()}, "",
                                  "no *.yaml files: the planner will take no automatic action"});
  return loaded;
}

Result<PolicySet> load_policy_set(const fs::path& path) {
  auto report = load_policy_path(path);
  if (report.ok()) return std::move(*report.policy);
  return make_error("policy " + path.string() + " rejected: " + report.first_error(),
                    "run `reflexd check-policy " + path.string() + "` for every finding");
}

}  // namespace reflex::plan
