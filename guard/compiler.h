#pragma once
// Turns a list of GuardRules into the tables the datapath reads (pure: no
// kernel, no clock). See bpf/xdp_guard.bpf.c for how they are walked.
//
// Each distinct prefix is a node; a node's own rules form a run of entries,
// most specific L4 filter first, whose last entry links to the head of the
// nearest covering node. Host prefixes (/32, /128) go to exact-match hashes;
// IPv4 prefixes up to /31 are painted into a DIR-16-8-8 table (prefix
// expansion, longest prefix painted last); IPv6 prefixes go to one hash keyed
// by (length, masked address) with the distinct lengths listed longest first.

#include "bpf/xdp_guard_kern_user.h"
#include "common/result.h"
#include "guard/rule.h"

#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace reflex::guard {

struct CompiledRuleSet {
  std::vector<guard_rule> rules;  // slot 0 is reserved ("no rule")
  std::vector<std::pair<std::uint32_t, std::uint32_t>> v4_exact;  // network-order address -> head
  std::vector<std::uint32_t> v4_table;                            // empty when no IPv4 prefix < /32
  std::vector<std::pair<std::array<std::uint8_t, 16>, std::uint32_t>> v6_exact;
  std::vector<std::pair<guard_v6_key, std::uint32_t>> v6_prefix;
  guard_gen_meta meta{};
  std::size_t expired_dropped = 0;  // rules left out because their expiry had passed
};

// Rules whose expiry is at or before now_ns are left out (garbage collection
// of expired temporary rules). Fails on duplicate keys, invalid rules, or a
// chain deeper than the datapath walks (GUARD_MAX_CHAIN).
Result<CompiledRuleSet> compile_rules(std::span<const GuardRule> rules, std::uint64_t now_ns);

// The inverse: the operator-level rules stored in a rules array (slot 0 skipped,
// entries with no action ignored).
std::vector<GuardRule> rules_from_entries(std::span<const guard_rule> entries);

// A rule array entry back to its rule.
GuardRule rule_from_entry(const guard_rule& e);

}  // namespace reflex::guard
