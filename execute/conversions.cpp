#include "execute/conversions.h"

#include <limits>

namespace reflex::execute {

std::uint64_t ClockMap::to_boot(TimeNs loop_ns) const {
  if (loop_ns == 0) return 0;
  const TimeNs delta = loop_ns - loop_now;
  if (delta < 0 && static_cast<std::uint64_t>(-delta) >= boot_now) return 1;  // long past: expired
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(boot_now) + delta);
}

TimeNs ClockMap::to_loop(std::uint64_t boot_ns) const {
  if (boot_ns == 0) return 0;
  const TimeNs t = loop_now + (static_cast<std::int64_t>(boot_ns) - static_cast<std::int64_t>(boot_now));
  return t == 0 ? 1 : t;  // 0 means "never"
}

guard::GuardRule to_guard_rule(const DesiredRule& r, const ClockMap& c) {
  guard::GuardRule g;
  g.prefix = r.prefix;
  g.l4 = r.l4;
  g.action = r.verb;
  g.pps = r.verb == RuleVerb::rate_limit ? r.pps : 0;
  g.burst = r.verb == RuleVerb::rate_limit ? r.burst : 0;
  g.expires_ns = c.to_boot(r.expires_ns);
  return g;
}

DesiredRule from_guard_rule(const guard::GuardRule& g, const ClockMap& c) {
  DesiredRule r;
  r.prefix = g.prefix;
  r.l4 = g.l4;
  r.verb = g.action;
  r.pps = g.pps;
  r.burst = g.burst;
  r.expires_ns = c.to_loop(g.expires_ns);
  return r;
}

bool same_in_kernel(const guard::GuardRule& a, const guard::GuardRule& b) {
  if (a.prefix != b.prefix || a.l4 != b.l4 || a.action != b.action || a.pps != b.pps) return false;
  if (a.action == RuleVerb::rate_limit && guard::effective_burst(a) != guard::effective_burst(b)) return false;
  if ((a.expires_ns == 0) != (b.expires_ns == 0)) return false;
  const std::uint64_t d = a.expires_ns > b.expires_ns ? a.expires_ns - b.expires_ns : b.expires_ns - a.expires_ns;
  return d <= static_cast<std::uint64_t>(kExpirySlackNs);
}

namespace {

Result<DesiredRule> make(const Prefix& p, const L4Match& l4, RuleVerb verb, const Action& a, TimeNs now,
                         std::uint32_t pps = 0, std::uint32_t burst = 0) {
  DesiredRule r;
  r.pps = pps;
  r.burst = burst;
  r.prefix = p;
  mask_prefix(r.prefix);
  r.l4 = l4;
  r.verb = verb;
  r.action_id = a.id;
  if (a.ttl_ns < 0) return make_error("action " + a.id + ": negative ttl", "give a ttl of 0 (never) or more");
  r.expires_ns = a.ttl_ns ? now + a.ttl_ns : 0;
  if (r.expires_ns == 0 && a.ttl_ns) r.expires_ns = 1;
  guard::GuardRule g = to_guard_rule(r, ClockMap{now, 1});
  if (auto s = guard::validate_rule(g); !s) return make_error("action " + a.id + ": " + s.error().what, s.error().hint);
  return r;
}

}  // namespace

Result<DesiredRule> desired_rule(const Action& a, TimeNs now) {
  if (const auto* b = std::get_if<BlockPrefix>(&a.spec)) return make(b->prefix, b->l4, RuleVerb::drop, a, now);
  if (const auto* s = std::get_if<ShadowPrefix>(&a.spec)) return make(s->prefix, s->l4, RuleVerb::shadow, a, now);
  if (const auto* l = std::get_if<RateLimitPrefix>(&a.spec)) {
    if (l->pps == 0)
      return make_error("action " + a.id + ": rate_limit of 0 pps", "give pps > 0 (a block drops everything)");
    if (l->pps > kMaxRulePps || l->burst > kMaxRulePps)
      return make_error("action " + a.id + ": rate_limit of " + std::to_string(l->pps) + " pps (burst " +
                            std::to_string(l->burst) + ") is more than the guard's 32-bit limit",
                        "at most " + std::to_string(kMaxRulePps) + " pps per source; above that, do not limit");
    return make(l->prefix, l->l4, RuleVerb::rate_limit, a, now, static_cast<std::uint32_t>(l->pps),
                static_cast<std::uint32_t>(l->burst));
  }
  if (const auto* b = std::get_if<RuleBatch>(&a.spec)) {
    // The rule every key of the batch gets, checked once with its first prefix.
    if (b->remove) return make_error("action " + a.id + ": a removal batch puts no rule in place");
    if (b->prefixes.empty()) return make_error("action " + a.id + ": a batch without prefixes", "give it prefixes");
    if (b->verb == RuleVerb::allow)
      return make_error("action " + a.id + ": a batch of allow rules", "allow rules are the operator's (reflex-guard)");
    Action one;  // not a copy of `a`: a batch may hold a million prefixes
    one.id = a.id;
    one.ttl_ns = a.ttl_ns;
    one.spec = RateLimitPrefix{b->iface, b->prefixes.front(), b->pps, b->burst, b->l4};
    if (b->verb == RuleVerb::drop) one.spec = BlockPrefix{b->iface, b->prefixes.front(), b->l4};
    if (b->verb == RuleVerb::shadow) one.spec = ShadowPrefix{b->iface, b->prefixes.front(), b->l4};
    return desired_rule(one, now);
  }
  return make_error("action " + a.id + " is not a prefix rule");
}

std::optional<ActionSpec> spec_of(const std::string& iface, const DesiredRule& r) {
  switch (r.verb) {
    case RuleVerb::drop: return BlockPrefix{iface, r.prefix, r.l4};
    case RuleVerb::shadow: return ShadowPrefix{iface, r.prefix, r.l4};
    case RuleVerb::rate_limit: return RateLimitPrefix{iface, r.prefix, r.pps, r.burst, r.l4};
    case RuleVerb::allow: break;
  }
  return std::nullopt;
}

}  // namespace reflex::execute
