#pragma once
// The datapath's decision, computed in userspace from the same compiled
// tables. It is the reference the BPF program is tested against, and lets
// the compiler be tested without a kernel. Rate limits are reported as
// "matched a limit rule"; token state lives only in the kernel.

#include "guard/compiler.h"

#include <array>
#include <cstdint>
#include <optional>

namespace reflex::guard {

struct PacketFacts {
  std::uint8_t family = 4;
  std::array<std::uint8_t, 16> saddr{};
  std::uint8_t proto = 0;
  std::optional<std::uint16_t> dport;  // host order; none for fragments, truncated L4, no ports
};

struct Classification {
  std::uint32_t reason = GUARD_R_PASS_NO_MATCH;  // enum guard_reason; RATE_OK for a limit match
  std::uint32_t entry = 0;                       // matched rules-array slot, 0 if none
};

class Classifier {
 public:
  explicit Classifier(const CompiledRuleSet& rs);
  Classification classify(const PacketFacts& p, std::uint64_t now_ns) const;

 private:
  std::uint32_t head(const PacketFacts& p) const;

  const CompiledRuleSet& rs_;
};

}  // namespace reflex::guard
