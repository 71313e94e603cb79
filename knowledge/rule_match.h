#pragma once
// What a prefix rule matches and what it does: one vocabulary for Plan's
// Actions, Execute's desired state and the guard's rules (guard/rule.h names
// these same types), so nothing is translated field by field between them.

#include <compare>
#include <cstdint>
#include <optional>

namespace reflex {

// An optional L4 narrowing of a prefix rule.
struct L4Match {
  std::optional<std::uint8_t> proto;  // IPPROTO_TCP, IPPROTO_UDP, ...
  std::optional<std::uint16_t> port;  // destination port, host order
  auto operator<=>(const L4Match&) const = default;
};

// What a rule does to the packets it matches. The values are the guard's
// (GUARD_ACT_* in bpf/xdp_guard_kern_user.h), which pinned maps store.
enum class RuleVerb : std::uint8_t { drop = 1, allow = 2, rate_limit = 3, shadow = 4 };

// Rate limits are per source address, in packets per second, and the guard
// keeps them in 32 bits: Actions carry u64 (what a policy may write), and
// Execute refuses anything above this with the reason.
inline constexpr std::uint64_t kMaxRulePps = 0xffffffffull;

}  // namespace reflex
