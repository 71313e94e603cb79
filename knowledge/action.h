#pragma once
// Actions, Plans, Outcomes and Overrides: what Plan decides, Execute applies,
// Knowledge records, and the operator steers. Plain value types.

#include "common/prefix.h"
#include "knowledge/attach_mode.h"
#include "knowledge/rule_match.h"
#include "knowledge/symptom.h"
#include "knowledge/time.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace reflex {

// An empty iface means "every interface reflex guards".
struct BlockPrefix { std::string iface; Prefix prefix; L4Match l4; auto operator<=>(const BlockPrefix&) const = default; };
// Shadow: count what a block would drop, drop nothing (the cautious first rung).
struct ShadowPrefix { std::string iface; Prefix prefix; L4Match l4; auto operator<=>(const ShadowPrefix&) const = default; };
struct RateLimitPrefix {
  std::string iface; Prefix prefix; std::uint64_t pps = 0; std::uint64_t burst = 0; L4Match l4;
  auto operator<=>(const RateLimitPrefix&) const = default;
};
// Removes whatever block/shadow/rate-limit rule exists for (iface, prefix, l4).
struct Unblock { std::string iface; Prefix prefix; L4Match l4; auto operator<=>(const Unblock&) const = default; };
// rate_bps == 0 removes the shaping for (iface, prefix): the inverse of a shape.
struct ShapeInterface {
  std::string iface; std::optional<Prefix> prefix; std::uint64_t rate_bps = 0; std::uint64_t burst_bytes = 0;
  auto operator<=>(const ShapeInterface&) const = default;
};
struct SetAttachMode { std::string iface; AttachMode mode = AttachMode::native; auto operator<=>(const SetAttachMode&) const = default; };
struct SwapProgram { std::string iface; std::string program; auto operator<=>(const SwapProgram&) const = default; };
struct Alert { std::string message; auto operator<=>(const Alert&) const = default; };
// Relieves a filling rule table: on iface, the host rules (/32, /128) of one
// verb that fall in one /len_v4 (or /len_v6), at least min_hosts of them with
// the same L4 match and rate, become one rule for that prefix. Never a prefix
// that overlaps keep_out (the policy's never_block) or that already holds a
// rule; the planner keeps the lengths within the widest blockable prefix.
// Execute picks the prefixes from the rules it holds; its Outcome says which.
struct AggregateRules {
  std::string iface;
  RuleVerb verb = RuleVerb::drop;
  std::uint8_t len_v4 = 24, len_v6 = 64;
  std::uint32_t min_hosts = 16;
  std::vector<Prefix> keep_out;
  auto operator<=>(const AggregateRules&) const = default;
};

// Many rules as one change (an operator's block list, a feed): every prefix
// gets the same L4 match, verb and rate, and the Action's one ttl; with
// remove, every (prefix, l4) loses whatever rule it has. One Action, one
// atomic rule-set swap, one Outcome, one post-condition; its inverse is a few
// batches (the keys that had no rule, and the previous rules grouped by kind).
struct RuleBatch {
  std::string iface;
  std::vector<Prefix> prefixes;
  L4Match l4;
  RuleVerb verb = RuleVerb::drop;    // drop, shadow or rate_limit (allow rules are never an action's)
  std::uint64_t pps = 0, burst = 0;  // rate_limit only
  bool remove = false;
  auto operator<=>(const RuleBatch&) const = default;
};

// A 64-bit digest of a batch's prefixes in order (FNV-1a over their bytes):
// records name a large batch by its count and digest.
inline std::uint64_t prefixes_digest(const std::vector<Prefix>& prefixes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& p : prefixes) {
    auto mix = [&](std::uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
    mix(p.family);
    mix(p.len);
    for (auto b : p.addr) mix(b);
  }
  return h;
}

using ActionSpec = std::variant<BlockPrefix, ShadowPrefix, RateLimitPrefix, Unblock, ShapeInterface,
                                SetAttachMode, SwapProgram, Alert, AggregateRules, RuleBatch>;

// Why an action exists: which rule, which symptom, what evidence, what trimmed it.
struct Rationale {
  std::string rule_id;
  std::optional<SymptomKind> symptom;
  Subject subject;
  Evidence evidence;
  std::vector<std::string> guardrails;  // guardrails that trimmed or shaped it
  // fire | escalate | deescalate | renew | revert | manual | pin: why now.
  std::string decision;
  int step = -1;  // rung of the rule's ladder (-1: none, e.g. a revert or manual action)
  std::string note;
  bool operator==(const Rationale&) const = default;
};

struct Action {
  std::string id;
  ActionSpec spec;
  TimeNs ttl_ns = 0;  // 0: no expiry
  bool dry_run = false;
  Rationale rationale;
  bool operator==(const Action&) const = default;
};

struct Plan {
  std::string id;
  std::uint64_t snapshot_version = 0;
  TimeNs ts_ns = 0;
  std::vector<Action> actions;
  std::vector<std::string> notes;  // decisions not to act, with reasons
  // Operator overrides that changed or held back a decision of this plan.
  std::vector<std::string> overrides_used;
  bool operator==(const Plan&) const = default;
};

// An action's life: applied (in the datapath), then verified (its
// post-condition held) or rolled_back (it did not, or it made things worse),
// and finally expired (its TTL ran out) unless renewed or replaced. failed: it
// never took effect (the error says why and the hint what to do).
enum class OutcomeStatus { applied, failed, rolled_back, expired, dry_run, skipped, verified };

constexpr std::string_view to_string(OutcomeStatus s) {
  switch (s) {
    case OutcomeStatus::applied: return "applied";
    case OutcomeStatus::failed: return "failed";
    case OutcomeStatus::rolled_back: return "rolled_back";
    case OutcomeStatus::expired: return "expired";
    case OutcomeStatus::dry_run: return "dry_run";
    case OutcomeStatus::skipped: return "skipped";
    case OutcomeStatus::verified: return "verified";
  }
  return "unknown";
}

struct Outcome {
  std::string action_id;
  OutcomeStatus status = OutcomeStatus::applied;
  std::string error;
  double effect = 0;  // measured change in the symptom's value (negative is better)
  TimeNs ts_ns = 0;
  std::string hint;    // the operator's fix, with an error
  std::string detail;  // one line for humans: what was measured, why it was rolled back
  bool operator==(const Outcome&) const = default;
};

// What Execute journals before it changes the datapath: the action and the
// changes that undo it, so a crash or a rollback can always be explained and
// reversed.
struct Intent {
  Action action;
  std::vector<ActionSpec> inverse;
  bool operator==(const Intent&) const = default;
};

struct Override {
  enum class Kind { pause_all, forbid, pin, manual };
  std::string id;
  Kind kind = Kind::pause_all;
  std::string who;
  TimeNs created_ns = 0;
  TimeNs expires_ns = 0;  // 0: until removed
  std::string action_kind;  // for forbid: "block", "rate_limit", "shadow", "shape", "attach_mode",
                            // "swap_program", "alert", "aggregate", "rule_batch", or "*" for every kind
  Subject subject;          // for forbid: iface (empty: any) and prefix (overlapping targets)
  std::optional<Action> action;  // for pin/manual
  std::string reason;            // why, in the operator's words (every override says why)
  bool operator==(const Override&) const = default;
};

}  // namespace reflex
