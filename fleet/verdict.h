#pragma once
// A verdict: one node telling its peers that an action of its own against a
// prefix passed its post-condition (the attack really dropped there). Peers
// read it as evidence (a peer_verdict symptom), never as an order: their own
// policies and guardrails decide what it earns.
//
// On the wire a verdict is one JSON object, versioned by "v", published on
// `<prefix>.v1.verdict.<node>` (docs/fleet.md has the format and its rules).
// The subject's last token is the sender's identity as the server let it
// publish there; a body naming another node is refused.

#include "common/prefix.h"
#include "common/result.h"
#include "knowledge/action.h"
#include "knowledge/symptom.h"
#include "knowledge/time.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reflex::fleet {

inline constexpr int kVerdictVersion = 1;
// A node id is one NATS subject token: letters, digits, '-' and '_'.
inline constexpr std::size_t kMaxNodeIdLen = 64;
// A verdict larger than this is refused unread (a real one is ~500 bytes).
inline constexpr std::size_t kMaxVerdictBytes = 4096;

enum class VerdictAction { block, rate_limit };
std::string_view to_string(VerdictAction a);
std::optional<VerdictAction> parse_verdict_action(std::string_view s);

struct Verdict {
  int version = kVerdictVersion;
  std::string node;        // the sender's id (== the subject's last token)
  std::uint64_t seq = 0;   // per sender, increasing: names the verdict for dedup
  TimeNs wall_ns = 0;      // Unix time at the sender
  Prefix prefix;
  L4Match l4;
  // What the sender saw: the symptom its action answered.
  SymptomKind kind = SymptomKind::flood;
  Severity severity = Severity::warning;
  double score = 0;
  Evidence evidence;
  // What the sender did, and for how long.
  VerdictAction action = VerdictAction::block;
  std::uint64_t pps = 0;  // rate_limit
  TimeNs ttl_ns = 0;
  std::string action_id, rule_id;
  double effect = 0;  // the post-condition's measured change (negative is better)
  bool operator==(const Verdict& o) const;
};

bool valid_node_id(std::string_view id);

// "<subject_prefix>.v1.verdict.<node>", and the wildcard a node subscribes to.
std::string verdict_subject(std::string_view subject_prefix, std::string_view node);
std::string verdict_wildcard(std::string_view subject_prefix);
// The sender's node id from a verdict subject; nullopt if the subject is not one.
std::optional<std::string> node_of_subject(std::string_view subject_prefix, std::string_view subject);

std::string encode(const Verdict& v);
// Every malformed, oversized or unknown-version message is an error naming the
// field; unknown extra fields are ignored (a v1 reader accepts later v1 additions).
Result<Verdict> decode_verdict(std::string_view json);

// The verdict a verified action makes, if it is one a peer can use: a block or
// rate limit of a prefix, enforced (not dry-run). Shadows drop nothing and
// prove nothing; interface shaping is about this node's own link.
// `seen` is this node's own symptom behind the action (severity, score,
// kind and evidence travel with the verdict). An action taken on peers'
// verdicts becomes a verdict only when `seen` is a local symptom that
// corroborated them (the attack was flagged here too): what a node passes on
// is always what it saw itself, so one report cannot echo round the fleet.
std::optional<Verdict> verdict_for(const Action& action, const Outcome& outcome, const Symptom* seen = nullptr);

}  // namespace reflex::fleet
