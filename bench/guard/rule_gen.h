#pragma once
// Deterministic synthetic rule sets for benchmarks and load tests.

#include "guard/rule.h"

#include <cstdint>
#include <vector>

namespace reflex::bench {

enum class RuleShape {
  v4_exact,   // /32 addresses
  v4_prefix,  // /8../31, weighted towards /16../28 as real block lists are
  v6_exact,   // /128
  v6_prefix,  // /32, /48, /56, /64
};

// n distinct drop rules, none of them covering `avoid` (so a packet from
// there misses unless the caller adds a rule for it). Same seed, same rules.
std::vector<guard::GuardRule> make_rules(RuleShape shape, std::size_t n, const Prefix& avoid, std::uint64_t seed = 1);

}  // namespace reflex::bench
