#include "plan/lint.h"

#include "plan/units.h"

#include <algorithm>

namespace reflex::plan {
namespace {

bool is_prefix_action(ActionKind k) {
  return k == ActionKind::block || k == ActionKind::shadow || k == ActionKind::rate_limit;
}

bool drops_traffic(ActionKind k) {
  return k == ActionKind::block || k == ActionKind::rate_limit || k == ActionKind::aggregate;
}

// Symptom kinds whose subject is never a prefix (analyze/ contract, DESIGN.md).
bool kind_has_prefix(SymptomKind k) {
  return k == SymptomKind::flood || k == SymptomKind::drop_rate_high || k == SymptomKind::latency_high ||
         k == SymptomKind::peer_verdict;
}
bool kind_has_iface(SymptomKind k) { return k != SymptomKind::map_pressure; }

bool covered_by(const Prefix& p, const std::vector<Prefix>& list) {
  return std::any_of(list.begin(), list.end(), [&](const Prefix& q) { return q.contains(p); });
}

// A matches every symptom B matches (A's filter is B's or wider).
template <class T>
bool list_covers(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.empty()) return true;
  if (b.empty()) return false;
  return std::all_of(b.begin(), b.end(), [&](const T& x) { return std::find(a.begin(), a.end(), x) != a.end(); });
}

bool prefixes_cover(const std::vector<Prefix>& a, const std::vector<Prefix>& b) {
  if (a.empty()) return true;
  if (b.empty()) return false;
  return std::all_of(b.begin(), b.end(), [&](const Prefix& x) { return covered_by(x, a); });
}

int target_family(ActionKind k) {
  if (is_prefix_action(k)) return 0;
  if (k == ActionKind::alert) return 4;
  return static_cast<int>(k);
}

void warn(std::vector<Diagnostic>& out, const SourceLoc& loc, std::string field, std::string msg,
          std::string hint = {}) {
  out.push_back({Diagnostic::Level::warning, loc, std::move(field), std::move(msg), std::move(hint)});
}

}  // namespace

void lint(const PolicySet& set, std::vector<Diagnostic>& out) {
  const auto& g = set.global;
  for (const auto& rule : set.rules) {
    if (!rule.enabled) continue;
    const std::string f = "rules[" + rule.id + "]";

    if (rule.mode == Mode::enforce && g.mode == Mode::dry_run)
      warn(out, rule.loc, f + ".mode", "`mode: enforce` has no effect while global.mode is dry_run",
           "global dry_run wins so that one switch stops all enforcement");

    bool any_prefix_kind = std::any_of(rule.when.kinds.begin(), rule.when.kinds.end(), kind_has_prefix);
    bool any_iface_kind = std::any_of(rule.when.kinds.begin(), rule.when.kinds.end(), kind_has_iface);
    bool all_prefix_actions = std::all_of(rule.ladder.begin(), rule.ladder.end(),
                                          [](const Step& s) { return is_prefix_action(s.kind); });
    if (all_prefix_actions && !any_prefix_kind)
      warn(out, rule.loc, f + ".then",
           "never acts: every rung needs a prefix, and the symptoms it matches carry none",
           "use `action: alert`, `shape` or `attach_mode` for these symptoms");
    if (!rule.when.subject.prefixes.empty() && !any_prefix_kind)
      warn(out, rule.loc, f + ".when.prefix", "never fires: the symptoms it matches carry no prefix to filter on");
    if (!rule.when.subject.ifaces.empty() && !any_iface_kind)
      warn(out, rule.loc, f + ".when.iface", "never fires: map_pressure symptoms carry no interface");

    bool all_drop = std::all_of(rule.ladder.begin(), rule.ladder.end(), [](const Step& s) { return drops_traffic(s.kind); });
    if (all_drop && !rule.when.subject.prefixes.empty() &&
        std::all_of(rule.when.subject.prefixes.begin(), rule.when.subject.prefixes.end(),
                    [&](const Prefix& p) { return covered_by(p, g.guardrails.never_block); }))
      warn(out, rule.loc, f + ".when.prefix",
           "never acts: every prefix it matches is in global.guardrails.never_block");

    for (std::size_t i = 0; i < rule.ladder.size(); ++i) {
      const auto& s = rule.ladder[i];
      std::string sf = f + ".then[" + std::to_string(i) + "]";
      if (s.kind == ActionKind::rate_limit && s.pps < g.guardrails.rate_limit_floor_pps)
        warn(out, s.loc, sf + ".pps",
             "below global.guardrails.rate_limit_floor (" + std::to_string(g.guardrails.rate_limit_floor_pps) +
                 "); it will always be raised to the floor");
      if (s.kind == ActionKind::shape && s.rate_share > 0 && s.rate_share < 1 - g.guardrails.max_drop_fraction)
        warn(out, s.loc, sf + ".rate",
             format_percent(s.rate_share) + " of the egress rate drops more than global.guardrails.max_drop_fraction (" +
                 format_percent(g.guardrails.max_drop_fraction) + ") of it; it will always be raised to " +
                 format_percent(1 - g.guardrails.max_drop_fraction));
      if (s.kind == ActionKind::shape && s.rate_share == 0 && s.rate_bps < g.guardrails.shaping_floor_bps)
        warn(out, s.loc, sf + ".rate",
             "below global.guardrails.shaping_floor (" + format_bit_rate(g.guardrails.shaping_floor_bps) +
                 "); it will always be raised to the floor");
      if (s.ttl > 0 && s.hold >= s.ttl && i + 1 < rule.ladder.size())
        warn(out, s.loc, sf + ".hold",
             "hold (" + format_duration(s.hold) + ") is not shorter than ttl (" + format_duration(s.ttl) +
                 "); the rung is renewed before it escalates, which is fine but rarely meant");
    }
    if (rule.aggregate_v4 && *rule.aggregate_v4 < g.guardrails.max_block_len_v4 &&
        std::any_of(rule.ladder.begin(), rule.ladder.end(), [](const Step& s) { return drops_traffic(s.kind); }))
      warn(out, rule.loc, f + ".aggregate.ipv4",
           "/" + std::to_string(*rule.aggregate_v4) + " is wider than global.guardrails.max_block_prefix.ipv4 (/" +
               std::to_string(g.guardrails.max_block_len_v4) + "); blocks and rate limits will be narrowed");
    if (rule.when.min_severity == Severity::critical && rule.when.min_score >= 1.0)
      warn(out, rule.loc, f + ".when.min_score", "only a perfect score of 1.0 fires this rule; is that meant?");
  }

  // Shadowing: B can never act when an enabled A matches everything B matches,
  // acts on the same kind of target, and wins every conflict with B.
  for (const auto& b : set.rules) {
    if (!b.enabled) continue;
    for (const auto& a : set.rules) {
      if (&a == &b || !a.enabled) continue;
      const auto &wa = a.when, &wb = b.when;
      bool covers = list_covers(wa.kinds, wb.kinds) && list_covers(wa.subject.ifaces, wb.subject.ifaces) &&
                    prefixes_cover(wa.subject.prefixes, wb.subject.prefixes) &&
                    list_covers(wa.subject.maps, wb.subject.maps) &&
                    list_covers(wa.subject.reasons, wb.subject.reasons) && wa.min_severity <= wb.min_severity &&
                    wa.min_score <= wb.min_score && wa.min_peers <= wb.min_peers && wa.persist <= wb.persist &&
                    a.aggregate_v4 == b.aggregate_v4 && a.aggregate_v6 == b.aggregate_v6;
      if (!covers) continue;
      if (target_family(a.ladder.front().kind) != target_family(b.ladder.front().kind)) continue;
      if (a.ladder.front().kind == ActionKind::alert) continue;  // alerts never conflict
      if (wa.subject.specificity() != wb.subject.specificity()) continue;  // B is narrower: B wins
      bool a_wins = a.priority > b.priority ||
                    (a.priority == b.priority && a.ladder.front().kind < b.ladder.front().kind) ||
                    (a.priority == b.priority && a.ladder.front().kind == b.ladder.front().kind && a.id < b.id);
      if (!a_wins) continue;
      warn(out, b.loc, "rules[" + b.id + "]",
           "shadowed by rule '" + a.id + "' (" + a.loc.to_string() +
               "): it matches every symptom this rule does and wins every conflict over the same target",
           "narrow this rule's `when`, raise its priority, or remove it");
      break;
    }
  }
}

}  // namespace reflex::plan
