#pragma once
// An IPv4 or IPv6 prefix (address + length), the subject of most rules.
// Host bits are always zero after parsing: "10.1.2.3/8" is normalised to
// 10.0.0.0/8 so equal prefixes compare equal.

#include "common/result.h"

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace reflex {

struct Prefix {
  std::uint8_t family = 4;            // 4 or 6
  std::uint8_t len = 0;               // 0..32 or 0..128
  std::array<std::uint8_t, 16> addr{};  // network byte order; IPv4 uses addr[0..3]

  // "192.0.2.0/24", "2001:db8::/32", or a bare address (/32, /128).
  static Result<Prefix> parse(std::string_view text);
  static Prefix v4(std::uint32_t host_order_addr, std::uint8_t len);

  std::string to_string() const;
  unsigned max_len() const { return family == 4 ? 32u : 128u; }
  bool is_host() const { return len == max_len(); }
  bool contains(const Prefix& other) const;  // other is equal to or inside this
  std::uint32_t v4_host_order() const;       // IPv4 only

  auto operator<=>(const Prefix&) const = default;
};

// Zeroes the bits past len.
void mask_prefix(Prefix& p);

}  // namespace reflex
