#pragma once
// Random rule sets and packets over a small address space (so rules overlap
// a lot), for property tests of the compiler and of the kernel program.

#include "guard/classify.h"
#include "guard/rule.h"

#include <cstdint>
#include <random>
#include <vector>

namespace reflex::testing {

struct RandomSpace {
  std::uint32_t v4_base = 0x0a000000;  // host order
  std::uint32_t v4_span = 4096;        // addresses v4_base .. v4_base + span - 1
  std::uint8_t v4_min_len = 18;        // IPv4 lengths from here to /32
  std::uint8_t v6_min_len = 104;       // IPv6 lengths from here to /128, inside 2001:db8::/32
  bool rate_limits = true;             // emit limit rules
  std::uint64_t expiry_around_ns = 0;  // if set, some rules expire 1 s before or after this
};

class RandomGuardInputs {
 public:
  RandomGuardInputs(std::uint64_t seed, RandomSpace space) : rng_(seed), space_(space) {}

  // Up to n rules with distinct keys.
  std::vector<guard::GuardRule> rules(std::size_t n);
  guard::PacketFacts packet();
  std::mt19937_64& rng() { return rng_; }

 private:
  std::uint32_t v4();
  std::array<std::uint8_t, 16> v6();

  std::mt19937_64 rng_;
  RandomSpace space_;
};

}  // namespace reflex::testing
