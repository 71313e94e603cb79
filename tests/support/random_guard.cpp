#include "tests/support/random_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <set>

namespace reflex::testing {

std::uint32_t RandomGuardInputs::v4() { return space_.v4_base + static_cast<std::uint32_t>(rng_() % space_.v4_span); }

std::array<std::uint8_t, 16> RandomGuardInputs::v6() {
  std::array<std::uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
  a[15] = static_cast<std::uint8_t>(rng_());
  a[14] = static_cast<std::uint8_t>(rng_() % 4);
  return a;
}

std::vector<guard::GuardRule> RandomGuardInputs::rules(std::size_t n) {
  std::vector<guard::GuardRule> out;
  std::set<guard::RuleKey> keys;
  for (std::size_t i = 0; i < n; ++i) {
    guard::GuardRule r;
    if (rng_() % 4 == 0) {
      r.prefix.family = 6;
      r.prefix.addr = v6();
      r.prefix.len = static_cast<std::uint8_t>(space_.v6_min_len + rng_() % (129 - space_.v6_min_len));
      mask_prefix(r.prefix);
    } else {
      r.prefix = Prefix::v4(v4(), static_cast<std::uint8_t>(space_.v4_min_len + rng_() % (33 - space_.v4_min_len)));
    }
    r.action = static_cast<guard::RuleAction>(1 + rng_() % (space_.rate_limits ? 4 : 3));
    if (!space_.rate_limits && r.action == guard::RuleAction::rate_limit) r.action = guard::RuleAction::shadow;
    if (r.action == guard::RuleAction::rate_limit) r.pps = 100;
    if (rng_() % 3 == 0) r.l4.proto = rng_() % 2 ? IPPROTO_TCP : IPPROTO_UDP;
    if (rng_() % 4 == 0) r.l4.port = static_cast<std::uint16_t>(1 + rng_() % 3);
    if (space_.expiry_around_ns && rng_() % 5 == 0)
      r.expires_ns = space_.expiry_around_ns + (rng_() % 2 ? 1'000'000'000ull : -1'000'000'000ull);
    if (keys.insert(r.key()).second) out.push_back(r);
  }
  return out;
}

guard::PacketFacts RandomGuardInputs::packet() {
  guard::PacketFacts p;
  if (rng_() % 4 == 0) {
    p.family = 6;
    p.saddr = v6();
  } else {
    std::uint32_t be = htonl(v4());
    std::memcpy(p.saddr.data(), &be, 4);
  }
  p.proto = rng_() % 2 ? IPPROTO_TCP : IPPROTO_UDP;
  if (rng_() % 5) p.dport = static_cast<std::uint16_t>(1 + rng_() % 3);
  return p;
}

}  // namespace reflex::testing
