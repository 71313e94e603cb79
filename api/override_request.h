#pragma once
// The body of POST /v1/overrides, read strictly into an Override: the shape an
// operator (or reflexctl) writes, not the stored record's. Every mistake is a
// 400 naming the field and what it takes; what a well-formed override means
// (an action the loop can apply, a pause while paused) the loop decides.
//
//   {"kind": "pause",                                   "ttl": "30m", "reason": "...", "who": "..."}
//   {"kind": "forbid", "action": "block", "iface": "eth0", "prefix": "10.0.0.0/8", "ttl": ..., "reason": ...}
//   {"kind": "pin", "action": {"kind": "block", "prefix": "203.0.113.0/24"}, "ttl": ..., "reason": ...}
//   {"kind": "block" | "unblock" | "shadow", "prefix": "...", "iface"?, "proto"?, "port"?, "ttl", "reason"}
//   {"kind": "block" | "unblock" | "shadow", "prefixes": ["...", ...], "iface"?, "proto"?, "port"?, "ttl", "reason"}
//      (one RuleBatch: every prefix in one atomic change; unblock is its remove form)
//   {"kind": "limit", "prefix": "...", "pps": 1000, "burst"?, ...}
//   {"kind": "shape", "iface": "eth0", "rate": "10mbit", "prefix"?, "burst"? ("64KiB"), ...}
//   {"kind": "attach_mode", "iface": "eth0", "mode": "generic", ...}
// `ttl` is a duration ("90s", "10m", "1h30m") or seconds; it is required, as
// is `reason`: an override says why and ends by itself. `who` defaults to
// the caller's user on the Unix socket, else "api@ADDRESS". `id` is optional.

#include "api/router.h"
#include "common/result.h"
#include "knowledge/action.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace reflex::api {

inline constexpr TimeNs kMaxOverrideTtl = 30LL * 24 * 3600 * kNsPerSec;

// A "prefixes" list takes at most this many entries (and POST /v1/overrides
// at most kOverrideBodyLimit bytes): 100k IPv4 prefixes are ~2 MB of JSON and
// hold the loop's thread for a few milliseconds to read; more go as several
// overrides. The loop checks each prefix against the guardrails.
inline constexpr std::size_t kMaxBatchPrefixes = 100'000;
inline constexpr std::size_t kOverrideBodyLimit = 4 * 1024 * 1024;

struct ParsedOverride {
  Override override_;  // expires_ns left 0: the loop sets it from ttl_ns on its clock
  TimeNs ttl_ns = 0;
};

Result<ParsedOverride> parse_override_request(const boost::json::object& body, const Peer& peer);

// A JSON array of prefix strings: the first malformed entry is an error
// naming its index and value; more than kMaxBatchPrefixes is refused.
Result<std::vector<Prefix>> parse_prefix_list(const boost::json::value& v);

// Who a caller is when it does not say: the Unix peer's user name, or
// "api@127.0.0.1:53422" over TCP.
std::string default_who(const Peer& peer);

}  // namespace reflex::api
