#pragma once
// The datapath state Execute converges each interface to, as a plain value:
// Knowledge persists it (as JSON, with the store's codecs), the Snapshot
// carries it, and the executor diffs it against what the actuators read back
// from the kernel (pinned maps, links, qdiscs).
//
// Times are on the loop's clock (knowledge/time.h), like every other time in
// the loop; the guard actuator converts to CLOCK_BOOTTIME in one place, and
// the store rebases them when a restarted daemon loads them.
//
// Execute owns only what is in here: a rule an operator added with
// reflex-guard (a key not in `rules`) is left alone, a rule in `rules` that
// was changed or deleted from outside is put back.

#include "common/prefix.h"
#include "knowledge/attach_mode.h"
#include "knowledge/rule_match.h"
#include "knowledge/time.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reflex {

// One guard rule reflex wants on an interface.
struct DesiredRule {
  Prefix prefix;
  L4Match l4;
  RuleVerb verb = RuleVerb::drop;
  std::uint32_t pps = 0, burst = 0;  // rate_limit (burst 0: the guard's default)
  TimeNs expires_ns = 0;             // 0: never
  std::string action_id;             // the action that put it here
  // For a rule an `aggregate` action made: the host rules it stands in for,
  // sorted. Renewing one of them renews this rule; removing the last removes it.
  std::vector<Prefix> absorbed;
  auto operator<=>(const DesiredRule&) const = default;
};

// Shaping on an interface (prefix empty) or for one prefix's traffic on it.
struct DesiredShape {
  std::optional<Prefix> prefix;
  std::uint64_t rate_bps = 0, burst_bytes = 0;
  TimeNs expires_ns = 0;
  std::string action_id;
  auto operator<=>(const DesiredShape&) const = default;
};

struct DesiredInterface {
  AttachMode mode = AttachMode::none;  // none: whatever the guard was loaded with
  std::string program;                 // guard program variant; empty: the built-in default
  std::vector<DesiredRule> rules;      // sorted by (prefix, l4), one per key
  std::vector<DesiredShape> shapes;    // sorted by prefix, one per prefix (nullopt: the whole interface)
  auto operator<=>(const DesiredInterface&) const = default;
};

struct DesiredState {
  std::uint64_t version = 0;  // bumped on every change
  std::map<std::string, DesiredInterface> ifaces;  // by the interface's key: "eth0", or "veth1@ns2"
  bool operator==(const DesiredState&) const = default;
};

// The order of `DesiredInterface::rules`: one rule per (prefix, l4).
inline bool rule_key_less(const DesiredRule& a, const DesiredRule& b) {
  if (a.prefix != b.prefix) return a.prefix < b.prefix;
  return a.l4 < b.l4;
}

// The earliest expiry among an interface's rules and shapes; 0 when nothing expires.
inline TimeNs next_expiry(const DesiredInterface& d) {
  TimeNs t = 0;
  auto take = [&](TimeNs e) {
    if (e && (!t || e < t)) t = e;
  };
  for (const auto& r : d.rules) take(r.expires_ns);
  for (const auto& s : d.shapes) take(s.expires_ns);
  return t;
}

}  // namespace reflex
