#pragma once
// Aggregating flooding sources into prefixes: the smallest prefixes that cover
// every attacking host without covering any benign host seen before, and never
// shorter than a floor (so one stray host cannot turn a /24 into a /1).

#include "common/prefix.h"

#include <span>
#include <vector>

namespace reflex::analyze {

// The floors are the policy's default max_block_prefix (/24, /48): Plan
// narrows a wider block to the one part that holds its origin, so a cover
// wider than that would leave the rest of its attackers unblocked.
struct CoverLimits {
  unsigned min_len_v4 = 24;
  unsigned min_len_v6 = 48;
};

// The longest prefix containing both (same family assumed).
Prefix common_prefix(const Prefix& a, const Prefix& b);

// Prefixes covering all of `attackers` and none of `benign`. Attackers are
// grouped by their common prefix; a group whose common prefix covers a benign
// host (or is shorter than the floor) is split on the next bit, down to single
// hosts. Mixed families are handled separately. Output sorted, no duplicates.
std::vector<Prefix> cover_without(std::span<const Prefix> attackers, std::span<const Prefix> benign,
                                  const CoverLimits& limits = {});

}  // namespace reflex::analyze
