#pragma once
// Turns a list of GuardRules into the tables the datapath reads (pure: no
// kernel, no clock). See bpf/xdp_guard.bpf.c for how they are walked.
//
// Each distinct prefix is a node; a node's own rules form a run of entries,
// most specific L4 filter first, whose last entry links to the head of the
// nearest covering node. IPv4 /32s go to an exact-match hash; IPv4 prefixes
// up to /31 are painted into a DIR-16-8-8 table (prefix expansion, shortest
// painted first so longer ones win); IPv6 nodes of every length go to one
// hash keyed by (length, masked address), with the distinct lengths listed
// longest first.

#include "bpf/xdp_guard_kern_user.h"
#include "common/result.h"
#include "guard/rule.h"

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace reflex::guard {

// Memory the compiler may write its two largest tables into instead of heap
// vectors: Guard::replace hands it the mmapped values of fresh inner maps,
// so the install copies nothing (for a million rules, ~140 MB less copied
// and zeroed). Called once per table with the exact size; nullptr: the heap.
// The memory must be zeroed (a fresh array map's is).
enum class TableKind { rules, v4_table };
using TableMemory = std::function<void*(TableKind kind, std::size_t bytes)>;

struct CompiledRuleSet {
  std::vector<guard_rule> rules;           // slot 0 is reserved ("no rule"); empty when written to TableMemory
  std::vector<guard_h4_bucket> h4;         // IPv4 /32 hash, at least 64 buckets (room for in-place adds)
  std::vector<std::uint32_t> v4_table;     // empty when there is no IPv4 prefix < /32
  std::vector<guard_h6_bucket> h6;         // empty when there is no IPv6 rule
  std::vector<std::uint64_t> v6_filter;    // the IPv6 /32 filter's bits; empty = none
  guard_gen_meta meta{};
  std::size_t expired_dropped = 0;  // rules left out because their expiry had passed
  // Where the tables are when the compiler wrote them to TableMemory.
  std::span<guard_rule> rules_at;
  std::span<std::uint32_t> v4_table_at;

  std::span<const guard_rule> rule_entries() const { return rules_at.empty() ? std::span<const guard_rule>(rules) : rules_at; }
  std::span<const std::uint32_t> v4_entries() const {
    return v4_table_at.empty() ? std::span<const std::uint32_t>(v4_table) : v4_table_at;
  }
};

inline constexpr std::size_t kDefaultMaxRules = std::size_t{1} << 22;

struct CompileOptions {
  std::uint32_t seed = 0;                   // hash seed; 0 picks a random one
  std::size_t max_rules = kDefaultMaxRules;  // a cap on kernel memory (~100 B per rule)
  TableMemory memory;                        // empty: heap vectors
};

// Rules whose expiry is at or before now_ns are left out (garbage collection
// of expired temporary rules). Fails on duplicate keys, invalid rules, more
// rules than max_rules, or a chain deeper than the datapath walks
// (GUARD_MAX_CHAIN).
Result<CompiledRuleSet> compile_rules(std::span<const GuardRule> rules, std::uint64_t now_ns,
                                      const CompileOptions& opts = {});

// The inverse: the operator-level rules stored in a rules array (slot 0 skipped,
// entries with no action ignored).
std::vector<GuardRule> rules_from_entries(std::span<const guard_rule> entries);

// A rule array entry back to its rule.
GuardRule rule_from_entry(const guard_rule& e);

// The rules-array entry for one rule, unlinked (next = 0, no ALLOW_AFTER).
guard_rule make_rule_entry(const GuardRule& r);

// Lookups that mirror the BPF program, over tables in memory (compiled, or
// mmapped from the kernel). Used by the reference classifier and by
// in-place rule changes.
std::uint32_t h4_find(std::span<const guard_h4_bucket> t, std::uint32_t seed, std::uint32_t addr_be);
std::uint32_t h6_find(std::span<const guard_h6_bucket> t, std::uint32_t seed, const std::uint32_t* w, std::uint32_t plen);
// Head of the longest IPv4 prefix below /32 covering addr (DIR table, then long prefixes).
std::uint32_t v4_prefix_head(std::span<const std::uint32_t> table, std::span<const guard_h6_bucket> h6,
                             const guard_gen_meta& meta, std::uint32_t addr_host);
// The IPv6 /32 filter bit for a source whose first address word is w0 (network order).
std::uint32_t v6_filter_bit(std::uint32_t w0, std::uint32_t seed, std::uint32_t mask);

// Head of the longest IPv6 prefix covering addr, lengths below below_len only.
std::uint32_t v6_prefix_head(std::span<const guard_h6_bucket> h6, const guard_gen_meta& meta,
                             const std::array<std::uint8_t, 16>& addr, unsigned below_len = 129);

}  // namespace reflex::guard
