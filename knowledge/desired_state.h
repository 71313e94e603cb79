#pragma once
// The datapath state Execute converges each interface to, as a plain value:
// Knowledge persists it, the Snapshot carries it, and the reconciler diffs it
// against what it reads back from the kernel (pinned maps, links, qdiscs).
//
// Times are on the loop's clock (knowledge/time.h), like every other time in
// the loop; the guard actuator converts to CLOCK_BOOTTIME in one place, and
// the store rebases them when a restarted daemon loads them.

#include "common/prefix.h"
#include "knowledge/action.h"
#include "knowledge/attach_mode.h"
#include "knowledge/time.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reflex {

enum class RuleVerb : std::uint8_t { drop = 1, allow = 2, rate_limit = 3, shadow = 4 };

// One guard rule reflex wants on an interface.
struct DesiredRule {
  Prefix prefix;
  L4Match l4;
  RuleVerb verb = RuleVerb::drop;
  std::uint32_t pps = 0, burst = 0;  // rate_limit
  TimeNs expires_ns = 0;             // 0: never
  std::string action_id;             // the action that put it here
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
  std::map<std::string, DesiredInterface> ifaces;
  bool operator==(const DesiredState&) const = default;
};

}  // namespace reflex
