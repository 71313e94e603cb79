#include "sim/fleet/datapath_model.h"

#include "guard/rule.h"

#include <algorithm>
#include <cmath>

namespace reflex::sim::fleet {
namespace {

int filter_rank(const L4Match& l4) { return (l4.proto ? 1 : 0) + (l4.port ? 2 : 0); }

bool l4_matches(const L4Match& l4, const Flow& f) {
  if (l4.proto && *l4.proto != f.proto) return false;
  if (l4.port && *l4.port != f.dport) return false;
  return true;
}

std::uint32_t uid_of(const DesiredRule& r) {
  guard::RuleKey k{r.prefix, guard::L4Filter{r.l4.proto, r.l4.port}};
  return guard::rule_uid(k);
}

}  // namespace

void DatapathModel::install(std::vector<DesiredRule> rules) {
  std::vector<ModelRule> next;
  next.reserve(rules.size());
  for (auto& r : rules) {
    ModelRule m;
    m.uid = uid_of(r);
    m.text = guard::format_rule(
        guard::GuardRule{r.prefix, {r.l4.proto, r.l4.port}, static_cast<guard::RuleAction>(r.verb), r.pps, r.burst, 0}, 0);
    for (const auto& old : rules_)
      if (old.uid == m.uid && old.rule.prefix == r.prefix && old.rule.l4 == r.l4) m.packets = old.packets;
    m.rule = std::move(r);
    next.push_back(std::move(m));
  }
  std::sort(next.begin(), next.end(), [](const ModelRule& a, const ModelRule& b) {
    const bool aa = a.rule.verb == RuleVerb::allow, ba = b.rule.verb == RuleVerb::allow;
    if (aa != ba) return aa;
    if (a.rule.prefix.len != b.rule.prefix.len) return a.rule.prefix.len > b.rule.prefix.len;
    return filter_rank(a.rule.l4) > filter_rank(b.rule.l4);
  });
  rules_ = std::move(next);
  keys_.clear();
  for (const auto& m : rules_) keys_.push_back({m.rule.prefix, m.rule.l4, m.rule.expires_ns});
}

std::vector<DesiredRule> DatapathModel::live_rules(TimeNs now) const {
  std::vector<DesiredRule> out;
  for (const auto& m : rules_)
    if (!m.rule.expires_ns || m.rule.expires_ns > now) {
      out.push_back(m.rule);
      out.back().action_id.clear();
    }
  std::sort(out.begin(), out.end(), [](const DesiredRule& a, const DesiredRule& b) {
    return std::tie(a.prefix, a.l4) < std::tie(b.prefix, b.l4);
  });
  return out;
}

void DatapathModel::begin_tick(TimeNs now, double dt) {
  now_ = now;
  dt_ = dt;
  tick_ = {};
  for (auto& m : rules_) m.tick_packets = 0;
}

const ModelRule* DatapathModel::match(const Flow& f) const {
  // rules_ is in decision order, so the first live match decides.
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const MatchKey& k = keys_[i];
    if (k.expires_ns && k.expires_ns <= now_) continue;
    if (!k.prefix.contains(f.source) || !l4_matches(k.l4, f)) continue;
    return &rules_[i];
  }
  return nullptr;
}

FlowVerdict DatapathModel::judge(const Flow& f) {
  FlowVerdict v;
  const double n = f.packets;
  auto* m = const_cast<ModelRule*>(match(f));
  if (!m) {
    v.passed = n;
  } else {
    m->tick_packets += n;
    m->packets += n;
    switch (m->rule.verb) {
      case RuleVerb::allow: v.passed = n; break;
      case RuleVerb::drop: v.dropped = n; break;
      case RuleVerb::shadow:
        v.passed = n;
        v.shadowed = n;
        break;
      case RuleVerb::rate_limit: {
        const double budget = static_cast<double>(m->rule.pps) * dt_;
        v.passed = std::min(n, budget);
        v.rate_limited = n - v.passed;
        break;
      }
    }
  }
  auto add = [](std::uint64_t& c, double x) { c += static_cast<std::uint64_t>(std::llround(x)); };
  // As the guard counts: a shadowed packet is a shadow verdict, not a pass.
  add(counts_.pass, v.passed - v.shadowed);
  add(counts_.drop, v.dropped);
  add(counts_.rate_limited, v.rate_limited);
  add(counts_.shadow, v.shadowed);
  if (m && m->rule.verb == RuleVerb::allow) add(counts_.allowed, n);
  tick_.passed += v.passed;
  tick_.dropped += v.dropped;
  tick_.rate_limited += v.rate_limited;
  tick_.shadowed += v.shadowed;
  return v;
}

}  // namespace reflex::sim::fleet
