#pragma once
// Edits to one interface's desired rules, folded in plan order (pure).
//
// A plan may carry a million rule changes, so edits are collected and merged
// into the sorted rule list in one pass, not inserted one by one; what a key
// holds at any point of the fold (for an action's pre-image, or a read by a
// later action) is answered from the edits made so far and the list.

#include "knowledge/action.h"
#include "knowledge/desired_state.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace reflex::execute {

struct PrefixHash {
  std::size_t operator()(const Prefix& p) const;
};
struct RuleKeyHash {
  std::size_t operator()(const DesiredRule& k) const;  // of prefix and l4 only
};
struct RuleKeyEq {
  bool operator()(const DesiredRule& a, const DesiredRule& b) const { return a.prefix == b.prefix && a.l4 == b.l4; }
};

// What a sorted rule list holds at a key (prefix and l4 of `key`).
std::optional<DesiredRule> find_rule(const std::vector<DesiredRule>& rules, const DesiredRule& key);

class RuleEdits {
 public:
  explicit RuleEdits(std::vector<DesiredRule>& rules) : rules_(rules), count_(rules.size()) {}
  // Edits of `from` (left as it is: the state the plan started from) whose
  // result goes to `rules` (empty): nothing is copied until it must be, and a
  // batch merges from `from` straight into `rules` (one pass, one copy).
  RuleEdits(std::vector<DesiredRule>& rules, const std::vector<DesiredRule>& from)
      : rules_(rules), from_(&from), count_(from.size()) {}

  // What the key (prefix, l4 of `key`) holds now, edits included.
  std::optional<DesiredRule> get(const DesiredRule& key) const;
  // Sets (or with nullopt removes) the key's rule; returns what it held.
  std::optional<DesiredRule> set(const DesiredRule& key, std::optional<DesiredRule> rule);
  std::size_t count() const { return count_; }  // rules after the edits so far
  // Room for n more edits (a plan of a million actions would otherwise grow
  // the edit list twenty times, copying it each time).
  void reserve(std::size_t n) {
    pending_.reserve(pending_.size() + n);
    latest_.reserve(latest_.size() + n);
  }

  // The aggregate cover (a rule with absorbed hosts) that stands in for this
  // host, if any: its key.
  std::optional<DesiredRule> cover_of(const Prefix& host);

  // A batch (see set_batch below) through these edits: flushes first, and
  // keeps the count and the aggregate covers current.
  std::vector<DesiredRule> set_batch(const std::vector<Prefix>& keys, const L4Match& l4,
                                     const std::optional<DesiredRule>& rule);
  std::size_t restore_batch(const std::vector<Prefix>& keys, const L4Match& l4, const std::optional<DesiredRule>& after,
                            const std::vector<DesiredRule>& before);

  // Merges the edits into the rule list (sorted, one rule per key).
  void flush();
  // The list with every edit merged (flushes, and copies `from` if nothing did yet).
  const std::vector<DesiredRule>& rules() {
    flush();
    if (from_) rules_ = *std::exchange(from_, nullptr);
    return rules_;
  }

 private:
  // What the edits apply to: `from` until the first merge, then rules_.
  const std::vector<DesiredRule>& list() const { return from_ ? *from_ : rules_; }

  std::vector<DesiredRule>& rules_;
  const std::vector<DesiredRule>* from_ = nullptr;
  struct Key {  // prefix and l4 only: what a rule is filed under, cheap to hash and copy
    Prefix prefix;
    L4Match l4;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const;
  };
  std::vector<std::pair<DesiredRule, std::optional<DesiredRule>>> pending_;  // in order
  std::unordered_map<Key, std::uint32_t, KeyHash> latest_;                   // key -> its last edit in pending_
  std::size_t count_ = 0;
  // host -> key of the cover absorbing it (built on first use, kept current by set()).
  std::optional<std::unordered_map<Prefix, DesiredRule, PrefixHash>> covers_;
};

// The prefixes an AggregateRules action makes, from an interface's rules.
struct Cover {
  DesiredRule rule;                   // the covering rule (absorbed filled in)
  std::vector<DesiredRule> replaced;  // the host rules it replaces
  std::optional<DesiredRule> merged;  // an earlier cover it extends, if any
};
std::vector<Cover> plan_covers(const AggregateRules& a, const std::vector<DesiredRule>& rules,
                               const std::string& action_id);

// A RuleBatch's keys: its prefixes masked, sorted and without repeats
// (with one L4 match for all, that is the rule list's key order).
std::vector<Prefix> batch_keys(const RuleBatch& b);
// How many keys that is: one pass, no copy, when the prefixes are keys
// already (masked and in order, as the executor keeps a watched batch).
std::size_t batch_key_count(const RuleBatch& b);

// A batch in one merge with a sorted rule list (a million keys cost one pass,
// no hashing): every key (prefix, l4) gets `rule` with its prefix, or with
// nullopt loses its rule (allow rules stay: no action removes them). Returns
// what the changed keys held before, sorted.
std::vector<DesiredRule> set_batch(std::vector<DesiredRule>& rules, const std::vector<Prefix>& keys,
                                   const L4Match& l4, const std::optional<DesiredRule>& rule);
// The same from a list left as it is (`from`) into `to`.
std::vector<DesiredRule> set_batch(const std::vector<DesiredRule>& from, std::vector<DesiredRule>& to,
                                   const std::vector<Prefix>& keys, const L4Match& l4,
                                   const std::optional<DesiredRule>& rule);
// The rollback of set_batch: where a key still holds what the batch put
// there (`after`, or nothing), it gets its rule from `before` back (or
// none). Returns how many keys it restored.
std::size_t restore_batch(std::vector<DesiredRule>& rules, const std::vector<Prefix>& keys, const L4Match& l4,
                          const std::optional<DesiredRule>& after, const std::vector<DesiredRule>& before);
// Whether any key still holds what the batch put there.
bool batch_in_force(const std::vector<DesiredRule>& rules, const std::vector<Prefix>& keys, const L4Match& l4,
                    const std::optional<DesiredRule>& after);
// The specs that undo a batch on iface, from what its keys held before: the
// keys that held nothing lose their rule (one removal batch), the others get
// theirs back (one batch per verb and rate).
std::vector<ActionSpec> batch_inverse(const std::string& iface, const std::vector<Prefix>& keys, const L4Match& l4,
                                      const std::vector<DesiredRule>& before, bool removed);

// One rule in rules-file form, as status and outcomes print it.
std::string describe(const DesiredRule& r);

}  // namespace reflex::execute
