#include "guard/rule.h"

#include <netinet/in.h>
#include <time.h>

#include <charconv>

namespace reflex::guard {

std::string_view to_string(RuleAction a) {
  switch (a) {
    case RuleAction::drop: return "drop";
    case RuleAction::allow: return "allow";
    case RuleAction::rate_limit: return "limit";
    case RuleAction::shadow: return "shadow";
  }
  return "?";
}

std::optional<RuleAction> parse_rule_action(std::string_view s) {
  if (s == "drop" || s == "block" || s == "deny") return RuleAction::drop;
  if (s == "allow" || s == "pass" || s == "accept") return RuleAction::allow;
  if (s == "limit" || s == "rate_limit" || s == "ratelimit") return RuleAction::rate_limit;
  if (s == "shadow") return RuleAction::shadow;
  return std::nullopt;
}

std::uint32_t effective_burst(const GuardRule& r) {
  if (r.burst) return r.burst;
  return r.pps >= 10 ? r.pps / 10 : 1;
}

namespace {
constexpr std::uint32_t kFnvPrime = 16777619u;
constexpr std::uint32_t fnv_prime_pow(int n) {
  std::uint32_t r = 1;
  while (n-- > 0) r *= kFnvPrime;
  return r;
}
}  // namespace

std::uint32_t rule_uid(const RuleKey& k) {
  // FNV-1a over family, length, the 16 address bytes, then the L4 match as
  // (present, proto, present, port hi, port lo). A zero byte only
  // multiplies, so a run of them (an IPv4 prefix's 12 unused address bytes,
  // an absent proto or port) is one multiplication by a power of the prime:
  // the same values as byte by byte, in a third of the steps.
  std::uint32_t h = 2166136261u;
  auto mix = [&h](std::uint8_t b) {
    h ^= b;
    h *= kFnvPrime;
  };
  mix(k.prefix.family);
  mix(k.prefix.len);
  const auto& a = k.prefix.addr;
  bool v4_tail_zero = true;
  for (std::size_t i = 4; i < a.size(); ++i) v4_tail_zero &= a[i] == 0;
  if (v4_tail_zero) {
    for (std::size_t i = 0; i < 4; ++i) mix(a[i]);
    h *= fnv_prime_pow(12);
  } else {
    for (auto b : a) mix(b);
  }
  if (k.l4.proto) {
    mix(1);
    mix(*k.l4.proto);
  } else {
    h *= fnv_prime_pow(2);
  }
  if (k.l4.port) {
    mix(1);
    mix(static_cast<std::uint8_t>(*k.l4.port >> 8));
    mix(static_cast<std::uint8_t>(*k.l4.port));
  } else {
    h *= fnv_prime_pow(3);
  }
  return h ? h : 1;  // 0 means "no rule" in events
}

std::string proto_name(std::uint8_t proto) {
  switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_UDPLITE: return "udplite";
    case IPPROTO_GRE: return "gre";
    case IPPROTO_ESP: return "esp";
  }
  return std::to_string(proto);
}

std::optional<std::uint8_t> parse_proto(std::string_view s) {
  static constexpr std::pair<std::string_view, std::uint8_t> kNames[] = {
      {"tcp", IPPROTO_TCP},   {"udp", IPPROTO_UDP},         {"icmp", IPPROTO_ICMP}, {"icmpv6", IPPROTO_ICMPV6},
      {"sctp", IPPROTO_SCTP}, {"udplite", IPPROTO_UDPLITE}, {"gre", IPPROTO_GRE},   {"esp", IPPROTO_ESP}};
  for (auto [name, num] : kNames)
    if (s == name) return num;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size() && v <= 255) return static_cast<std::uint8_t>(v);
  return std::nullopt;
}

std::uint64_t boottime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string format_rule(const GuardRule& r, std::uint64_t now_ns) {
  std::string s = r.prefix.to_string();
  s += ' ';
  s += to_string(r.action);
  if (r.l4.proto) s += " proto=" + proto_name(*r.l4.proto);
  if (r.l4.port) s += " port=" + std::to_string(*r.l4.port);
  if (r.action == RuleAction::rate_limit) {
    s += " pps=" + std::to_string(r.pps);
    s += " burst=" + std::to_string(effective_burst(r));
  }
  if (r.expires_ns) {
    std::uint64_t left = r.expires_ns > now_ns ? (r.expires_ns - now_ns + 999'999'999ull) / 1'000'000'000ull : 0;
    s += " ttl=" + std::to_string(left);
  }
  return s;
}

Status validate_rule(const GuardRule& r) {
  // Cheap when valid: a million rules are checked on every swap.
  bool bad_rate = (r.action == RuleAction::rate_limit) != (r.pps != 0) || (r.action != RuleAction::rate_limit && r.burst);
  bool bad_port = r.l4.port && (*r.l4.port == 0 || (r.l4.proto && *r.l4.proto != IPPROTO_TCP &&
                                                     *r.l4.proto != IPPROTO_UDP && *r.l4.proto != IPPROTO_SCTP &&
                                                     *r.l4.proto != IPPROTO_UDPLITE));
  if (!bad_rate && !bad_port) return ok();
  auto where = r.prefix.to_string();
  if (r.action == RuleAction::rate_limit && r.pps == 0)
    return make_error("rule " + where + ": limit needs a rate", "add pps=N (packets per second, N > 0)");
  if (r.action != RuleAction::rate_limit && (r.pps || r.burst))
    return make_error("rule " + where + ": pps/burst only apply to limit rules", "remove them or use 'limit'");
  if (r.l4.port && *r.l4.port == 0) return make_error("rule " + where + ": port 0 is not a port", "use 1-65535");
  if (r.l4.port && r.l4.proto && *r.l4.proto != IPPROTO_TCP && *r.l4.proto != IPPROTO_UDP &&
      *r.l4.proto != IPPROTO_SCTP && *r.l4.proto != IPPROTO_UDPLITE)
    return make_error("rule " + where + ": proto " + proto_name(*r.l4.proto) + " has no ports",
                      "use proto=tcp|udp|sctp|udplite with port=, or drop port=");
  return ok();
}

}  // namespace reflex::guard
