#include "bench/guard/rule_gen.h"

#include <random>
#include <set>

namespace reflex::bench {

std::vector<guard::GuardRule> make_rules(RuleShape shape, std::size_t n, const Prefix& avoid, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<guard::GuardRule> out;
  out.reserve(n);
  std::set<Prefix> seen;
  static constexpr std::uint8_t kV4Lens[] = {8, 12, 16, 18, 20, 22, 24, 24, 24, 24, 24, 26, 28, 30, 31};
  static constexpr std::uint8_t kV6Lens[] = {32, 48, 48, 56, 64, 64, 64};
  // Prefixes shorter than /12 are rare; cap how many so the address space is not swallowed.
  std::size_t short_budget = 16;
  while (out.size() < n) {
    Prefix p;
    std::uint64_t r = rng();
    switch (shape) {
      case RuleShape::v4_exact:
        p = Prefix::v4(static_cast<std::uint32_t>(r), 32);
        break;
      case RuleShape::v4_prefix: {
        std::uint8_t len = kV4Lens[(r >> 32) % std::size(kV4Lens)];
        if (len < 16 && (short_budget == 0 || n < 1000)) len = 24;
        p = Prefix::v4(static_cast<std::uint32_t>(r), len);
        break;
      }
      case RuleShape::v6_exact:
      case RuleShape::v6_prefix: {
        p.family = 6;
        p.len = shape == RuleShape::v6_exact ? 128 : kV6Lens[(r >> 40) % std::size(kV6Lens)];
        p.addr[0] = 0x20;
        p.addr[1] = 0x01;
        for (int i = 2; i < 16; i += 8) {
          std::uint64_t w = rng();
          for (int k = 0; k < 8 && i + k < 16; ++k) p.addr[i + k] = static_cast<std::uint8_t>(w >> (8 * k));
        }
        mask_prefix(p);
        break;
      }
    }
    if (p.family == avoid.family && (p.contains(avoid) || avoid.contains(p))) continue;
    if (!seen.insert(p).second) continue;
    if (p.family == 4 && p.len < 16) --short_budget;
    guard::GuardRule rule;
    rule.prefix = p;
    rule.action = guard::RuleAction::drop;
    out.push_back(rule);
  }
  return out;
}

}  // namespace reflex::bench
