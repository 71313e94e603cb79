#pragma once
// The in-memory policy set: what the loader builds from policies/*.yaml and the
// planner reads. Plain values, validated once at load; the planner never sees
// an invalid field. docs/policies.md describes every field.

#include "common/prefix.h"
#include "knowledge/action.h"
#include "knowledge/attach_mode.h"
#include "knowledge/symptom.h"
#include "knowledge/time.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::plan {

enum class Mode { enforce, dry_run };

// The action a ladder rung asks for. Ordered by how much traffic it may cost,
// which is the last tie-break in conflict resolution (less aggressive wins).
// aggregate widens host rules to whole prefixes, so it may cost the most.
enum class ActionKind { alert, shadow, swap_program, attach_mode, shape, rate_limit, block, aggregate };

std::string_view to_string(ActionKind k);
std::optional<ActionKind> parse_action_kind(std::string_view s);
std::string_view to_string(Mode m);
std::optional<SymptomKind> parse_symptom_kind(std::string_view s);
std::optional<Severity> parse_severity(std::string_view s);

// Where a policy element came from, for diagnostics and rationales.
struct SourceLoc {
  std::string file;
  int line = 0;    // 1-based; 0 unknown
  int column = 0;  // 1-based
  std::string to_string() const;  // "file:line:col"
};

struct Guardrails {
  std::vector<Prefix> never_block;  // no block/rate-limit/shape may cover any address in these
  // Shortest prefix length that may be blocked or rate-limited (/24 blocks at most 256 IPv4 hosts).
  std::uint8_t max_block_len_v4 = 24;
  std::uint8_t max_block_len_v6 = 48;
  std::uint64_t shaping_floor_bps = 1'000'000;  // never shape below this
  std::uint64_t rate_limit_floor_pps = 10;      // never rate-limit below this
  double max_drop_fraction = 0.5;  // one action may drop at most this share of its interface's pps
};

struct Backoff {
  TimeNs initial = 60 * kNsPerSec;
  TimeNs max = 3600 * kNsPerSec;
  double factor = 2.0;
};

// Values a rule inherits when it does not set them.
struct RuleDefaults {
  TimeNs ttl = 600 * kNsPerSec;
  TimeNs persist = 10 * kNsPerSec;    // `for`
  TimeNs clear_for = 60 * kNsPerSec;  // symptom absent this long before stepping down
  TimeNs hold = 60 * kNsPerSec;       // time on a rung before escalating
  TimeNs cooldown = 30 * kNsPerSec;   // min gap between two actions of one rule on one subject
};

struct GlobalSettings {
  Mode mode = Mode::enforce;
  int max_actions_per_minute = 30;
  Guardrails guardrails;
  Backoff backoff;
  RuleDefaults defaults;
  SourceLoc loc;  // where `global:` was written (empty if built-in defaults)
};

// Which symptoms a rule is about. Empty lists match anything.
struct SubjectFilter {
  std::vector<std::string> ifaces;   // glob patterns (fnmatch), e.g. "eth*", "mesh0"
  std::vector<Prefix> prefixes;      // the symptom's prefix must lie inside one of these
  std::vector<std::string> maps;     // glob patterns
  std::vector<std::string> reasons;  // glob patterns over Subject::reason
  // Higher is narrower: used to let the more specific rule win a conflict.
  int specificity() const;
};

struct When {
  std::vector<SymptomKind> kinds;
  SubjectFilter subject;
  Severity min_severity = Severity::info;
  double min_score = 0;
  // Hysteresis: once acting, the symptom counts as present until its score
  // drops below this (defaults to min_score).
  std::optional<double> clear_below;
  TimeNs persist = 0;  // `for`
  // peer_verdict only: distinct fleet peers that must agree (the symptom's
  // evidence.value) to fire and escalate; once acting, any live report holds.
  int min_peers = 0;
};

enum class AttachStep { down, up, set };

// One rung of a ladder: an action kind and its parameters.
struct Step {
  ActionKind kind = ActionKind::alert;
  L4Match l4;                           // block/shadow/rate_limit
  std::uint64_t pps = 0, burst = 0;     // rate_limit
  std::uint64_t rate_bps = 0, burst_bytes = 0;  // shape
  // shape with `rate: 85%`: that share (0, 1] of the interface's egress rate
  // (tx_bps) when the planner decides; 0 means rate_bps is absolute. The
  // Action still carries an absolute rate (the planner computes it).
  double rate_share = 0;
  bool shape_prefix = false;            // shape the symptom's prefix instead of the whole interface
  AttachStep attach_step = AttachStep::down;    // attach_mode
  AttachMode attach_mode = AttachMode::generic;  // attach_mode with `mode:`
  std::string program;                  // swap_program
  std::string revert_program;           // swap_program: program to restore when the episode ends
  std::string message;                  // alert; {kind} {subject} {value} {baseline} {rule} are expanded
  RuleVerb aggregate_verb = RuleVerb::drop;  // aggregate: the host rules it merges
  std::uint8_t aggregate_len_v4 = 24, aggregate_len_v6 = 64;  // aggregate: the covering prefixes' lengths
  std::uint32_t aggregate_min_hosts = 16;  // aggregate: hosts that must share a cover
  TimeNs ttl = 0;
  TimeNs hold = 0;
  SourceLoc loc;
};

struct Rule {
  std::string id;
  std::string description;
  bool enabled = true;
  int priority = 0;
  std::optional<Mode> mode;  // unset: the global mode
  When when;
  // Symptoms about hosts inside one /N are handled as one subject (e.g. a /24 of
  // flooding hosts becomes one rule); nullopt keeps each symptom's own prefix.
  std::optional<std::uint8_t> aggregate_v4, aggregate_v6;
  std::vector<Step> ladder;  // at least one rung
  TimeNs cooldown = 0;
  TimeNs clear_for = 0;
  SourceLoc loc;
};

struct PolicySet {
  GlobalSettings global;
  std::vector<Rule> rules;          // in file order, files sorted by name
  std::vector<std::string> files;   // files it was loaded from
  const Rule* find(std::string_view id) const;
};

// Effective mode of a rule: dry-run if the rule or the global setting says so,
// so flipping `global.mode: dry_run` is a safe "stop enforcing" switch.
inline Mode effective_mode(const PolicySet& p, const Rule& r) {
  if (p.global.mode == Mode::dry_run) return Mode::dry_run;
  return r.mode.value_or(Mode::enforce);
}

}  // namespace reflex::plan
