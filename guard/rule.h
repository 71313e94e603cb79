#pragma once
// A guard rule as the operator writes it: a source prefix, an optional L4
// narrowing, an action and its parameters, and an optional expiry that the
// datapath enforces by itself.

#include "common/prefix.h"
#include "common/result.h"
#include "knowledge/rule_match.h"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reflex::guard {

// The guard speaks the loop's vocabulary (knowledge/rule_match.h): a rule's
// action and L4 narrowing are the very types Actions and the desired state use.
using RuleAction = reflex::RuleVerb;
using L4Filter = reflex::L4Match;

std::string_view to_string(RuleAction a);
std::optional<RuleAction> parse_rule_action(std::string_view s);  // drop|block, allow|pass, limit|rate_limit, shadow

// The part of a rule that decides which packets it is about. Two rules with
// the same key cannot coexist in one rule set.
struct RuleKey {
  Prefix prefix;
  L4Filter l4;
  auto operator<=>(const RuleKey&) const = default;
};

struct GuardRule {
  Prefix prefix;
  L4Filter l4;
  RuleAction action = RuleAction::drop;
  std::uint32_t pps = 0;    // rate_limit only
  std::uint32_t burst = 0;  // rate_limit only; 0 means the default
  std::uint64_t expires_ns = 0;  // CLOCK_BOOTTIME; 0 = never

  RuleKey key() const { return RuleKey{prefix, l4}; }
  bool operator==(const GuardRule&) const = default;
};

// Burst when none is given: a tenth of a second's worth, at least 1 packet.
std::uint32_t effective_burst(const GuardRule& r);

// Stable 32-bit id of a rule's key (FNV-1a). Rate-limiter buckets and
// counters are keyed by it, so they survive a swap that keeps the rule.
std::uint32_t rule_uid(const RuleKey& k);

std::string proto_name(std::uint8_t proto);
std::optional<std::uint8_t> parse_proto(std::string_view s);

// CLOCK_BOOTTIME now, the clock the datapath compares expiry against.
std::uint64_t boottime_ns();

// One line in the rules-file format, e.g. "192.0.2.0/24 drop proto=udp port=53 ttl=590".
// A rule with an expiry shows the seconds left relative to now_ns.
std::string format_rule(const GuardRule& r, std::uint64_t now_ns);

// Checks parameters that the type cannot (limit needs pps, port range, ...).
Status validate_rule(const GuardRule& r);

}  // namespace reflex::guard
