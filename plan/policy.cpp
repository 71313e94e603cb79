#include "plan/policy.h"

namespace reflex::plan {

std::string_view to_string(ActionKind k) {
  switch (k) {
    case ActionKind::alert: return "alert";
    case ActionKind::shadow: return "shadow";
    case ActionKind::swap_program: return "swap_program";
    case ActionKind::attach_mode: return "attach_mode";
    case ActionKind::shape: return "shape";
    case ActionKind::rate_limit: return "rate_limit";
    case ActionKind::block: return "block";
    case ActionKind::aggregate: return "aggregate";
  }
  return "unknown";
}

std::optional<ActionKind> parse_action_kind(std::string_view s) {
  for (auto k : {ActionKind::alert, ActionKind::shadow, ActionKind::swap_program, ActionKind::attach_mode,
                 ActionKind::shape, ActionKind::rate_limit, ActionKind::block, ActionKind::aggregate})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

std::string_view to_string(Mode m) { return m == Mode::enforce ? "enforce" : "dry_run"; }

std::optional<SymptomKind> parse_symptom_kind(std::string_view s) {
  for (auto k : kAllSymptomKinds)
    if (to_string(k) == s) return k;
  return std::nullopt;
}

std::optional<Severity> parse_severity(std::string_view s) {
  for (auto v : {Severity::info, Severity::warning, Severity::critical})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::string SourceLoc::to_string() const {
  std::string out = file.empty() ? "<input>" : file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out;
}

int SubjectFilter::specificity() const {
  // A named interface is narrower than a glob, which is narrower than "any";
  // a prefix counts by its length so /32 beats /24 beats none.
  int s = 0;
  auto glob_score = [](const std::vector<std::string>& pats) {
    if (pats.empty()) return 0;
    for (const auto& p : pats)
      if (p.find_first_of("*?[") != std::string::npos) return 1;
    return 2;
  };
  s += glob_score(ifaces) * 1000;
  if (!prefixes.empty()) {
    unsigned shortest = 128;
    for (const auto& p : prefixes) {
      // Normalise IPv6 lengths onto the IPv4 scale so both families compare.
      unsigned len = p.family == 4 ? p.len : p.len / 4;
      shortest = std::min(shortest, len);
    }
    s += 100 + static_cast<int>(shortest) * 10;
  }
  s += glob_score(maps) * 3;
  s += glob_score(reasons);
  return s;
}

const Rule* PolicySet::find(std::string_view id) const {
  for (const auto& r : rules)
    if (r.id == id) return &r;
  return nullptr;
}

}  // namespace reflex::plan
