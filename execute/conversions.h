#pragma once
// The one place where the loop's terms become the kernel's: an Action's
// relative TTL and 64-bit rate become a desired rule's absolute expiry (loop
// clock) and the guard's 32-bit rate; a desired rule's loop-clock expiry
// becomes the guard's CLOCK_BOOTTIME one, and back.

#include "common/result.h"
#include "guard/rule.h"
#include "knowledge/action.h"
#include "knowledge/desired_state.h"
#include "knowledge/time.h"

#include <cstdint>

namespace reflex::execute {

// A loop-clock instant and CLOCK_BOOTTIME read together.
struct ClockMap {
  TimeNs loop_now = 0;
  std::uint64_t boot_now = 0;

  static ClockMap at(TimeNs loop_now) { return {loop_now, guard::boottime_ns()}; }
  std::uint64_t to_boot(TimeNs loop_ns) const;  // 0 (never) stays 0
  TimeNs to_loop(std::uint64_t boot_ns) const;  // 0 (never) stays 0
};

// The two clocks are read a moment apart, so an expiry that made the round
// trip may be off by this much; anything closer is the same expiry.
inline constexpr TimeNs kExpirySlackNs = 5 * kNsPerMs;

guard::GuardRule to_guard_rule(const DesiredRule& r, const ClockMap& c);
DesiredRule from_guard_rule(const guard::GuardRule& r, const ClockMap& c);

// The same rule as far as the datapath is concerned (action ids are not in
// the kernel; expiries within kExpirySlackNs are equal).
bool same_in_kernel(const guard::GuardRule& a, const guard::GuardRule& b);

// The rule a prefix action asks for at `now`: verb, key, rate and the
// absolute expiry of its TTL. An error (with the fix) for a rate the guard
// cannot hold, a port without a protocol that has ports, and the like.
Result<DesiredRule> desired_rule(const Action& a, TimeNs now);

// The action spec that puts this rule in place (for inverses); allow rules
// have none (no Action makes one), and get std::nullopt.
std::optional<ActionSpec> spec_of(const std::string& iface, const DesiredRule& r);

}  // namespace reflex::execute
