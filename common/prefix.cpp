#include "common/prefix.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <endian.h>

namespace reflex {

void mask_prefix(Prefix& p) {
  unsigned bits = p.len;
  for (unsigned i = 0; i < 16; ++i) {
    if (bits >= 8) {
      bits -= 8;
      continue;
    }
    p.addr[i] &= static_cast<std::uint8_t>(bits == 0 ? 0 : (0xff << (8 - bits)));
    bits = 0;
  }
}

namespace {

// Dotted-quad IPv4 without inet_pton's generality: rule files hold millions
// of these. Anything it does not accept goes to inet_pton (which decides).
bool parse_v4_fast(std::string_view s, std::uint8_t* out) {
  unsigned part = 0, value = 0, digits = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      if (digits == 3 || (digits && value == 0)) return false;  // too long, or a leading zero
      value = value * 10 + static_cast<unsigned>(c - '0');
      ++digits;
    } else if (c == '.' && digits && part < 3) {
      if (value > 255) return false;
      out[part++] = static_cast<std::uint8_t>(value);
      value = digits = 0;
    } else {
      return false;
    }
  }
  if (part != 3 || !digits || value > 255) return false;
  out[3] = static_cast<std::uint8_t>(value);
  return true;
}

}  // namespace

Result<Prefix> Prefix::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error("invalid prefix '" + std::string(text) + "': " + why,
                      "write an address or address/len, e.g. 192.0.2.0/24 or 2001:db8::/32");
  };
  if (text.empty()) return bad("empty");
  std::string_view addr_part = text;
  std::string_view len_part;
  bool has_len = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_part = text.substr(0, slash);
    len_part = text.substr(slash + 1);
    has_len = true;
  }
  if (addr_part.size() >= INET6_ADDRSTRLEN) return bad("address too long");
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, addr_part.data(), addr_part.size());
  buf[addr_part.size()] = '\0';

  Prefix p;
  if (parse_v4_fast(addr_part, p.addr.data())) {
    p.family = 4;
  } else if (addr_part.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buf, p.addr.data()) != 1) return bad("not an IPv6 address");
    p.family = 6;
  } else {
    if (inet_pton(AF_INET, buf, p.addr.data()) != 1) return bad("not an IPv4 address");
    p.family = 4;
  }
  unsigned len = p.max_len();
  if (has_len) {
    if (len_part.empty()) return bad("missing length after '/'");
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(len_part.data(), len_part.data() + len_part.size(), v);
    if (ec != std::errc() || ptr != len_part.data() + len_part.size())
      return bad("length is not a number");
    if (v > p.max_len()) return bad("length " + std::to_string(v) + " exceeds " + std::to_string(p.max_len()));
    len = v;
  }
  p.len = static_cast<std::uint8_t>(len);
  mask_prefix(p);
  return p;
}

Prefix Prefix::v4(std::uint32_t host_order_addr, std::uint8_t len) {
  Prefix p;
  p.family = 4;
  p.len = len;
  std::uint32_t be = htonl(host_order_addr);
  std::memcpy(p.addr.data(), &be, 4);
  mask_prefix(p);
  return p;
}

std::uint32_t Prefix::v4_host_order() const {
  std::uint32_t be;
  std::memcpy(&be, addr.data(), 4);
  return ntohl(be);
}

std::string Prefix::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == 4 ? AF_INET : AF_INET6, addr.data(), buf, sizeof(buf));
  std::string s(buf);
  if (!is_host()) s += "/" + std::to_string(len);
  return s;
}

bool Prefix::contains(const Prefix& other) const {
  if (family != other.family || other.len < len) return false;
  // other masked to len equals this, all 128 bits (so a this with bits set
  // past its length contains nothing): two words, no copy. It is asked for
  // every rule or cover against every source, every tick.
  auto word = [](const std::array<std::uint8_t, 16>& a, int i) {
    std::uint64_t w;
    std::memcpy(&w, a.data() + 8 * i, 8);
    return be64toh(w);
  };
  const unsigned n = len;
  const std::uint64_t m0 = n == 0 ? 0 : n >= 64 ? ~0ULL : ~0ULL << (64 - n);
  const std::uint64_t m1 = n <= 64 ? 0 : n >= 128 ? ~0ULL : ~0ULL << (128 - n);
  return (word(other.addr, 0) & m0) == word(addr, 0) && (word(other.addr, 1) & m1) == word(addr, 1);
}

}  // namespace reflex
