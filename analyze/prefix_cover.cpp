#include "analyze/prefix_cover.h"

#include <algorithm>

namespace reflex::analyze {
namespace {

bool bit(const Prefix& p, unsigned i) { return (p.addr[i / 8] >> (7 - i % 8)) & 1u; }

Prefix truncate(Prefix p, unsigned len) {
  p.len = static_cast<std::uint8_t>(len);
  mask_prefix(p);
  return p;
}

void cover(std::vector<Prefix> group, std::span<const Prefix> benign, const CoverLimits& lim,
           std::vector<Prefix>& out) {
  if (group.empty()) return;
  Prefix c = group.front();
  for (const auto& g : group) c = common_prefix(c, g);
  const unsigned floor = c.family == 4 ? lim.min_len_v4 : lim.min_len_v6;
  const bool covers_benign =
      std::any_of(benign.begin(), benign.end(), [&](const Prefix& b) { return b.family == c.family && c.contains(b); });
  if ((c.len >= floor && !covers_benign) || c.is_host()) {
    // A lone host is covered even if it was benign before: it is attacking now.
    // Two or more attackers are covered as widely as the floor allows without
    // reaching a benign host: hosts that take turns across a /24 (hit and
    // run) otherwise move their tightest cover every tick, each move a new
    // symptom, a new action and a new rule, until the action budget runs out
    // and the rest of the attack goes through.
    if (group.size() >= 2)
      while (c.len > floor) {
        const Prefix wider = truncate(c, c.len - 1u);
        if (std::any_of(benign.begin(), benign.end(),
                        [&](const Prefix& b) { return b.family == wider.family && wider.contains(b); }))
          break;
        c = wider;
      }
    out.push_back(c);
    return;
  }
  // Split on the first bit past the common prefix.
  std::vector<Prefix> zero, one;
  for (const auto& g : group) (bit(g, c.len) ? one : zero).push_back(g);
  if (zero.empty() || one.empty()) {  // cannot happen for distinct hosts; be safe
    for (const auto& g : group) out.push_back(g);
    return;
  }
  cover(std::move(zero), benign, lim, out);
  cover(std::move(one), benign, lim, out);
}

}  // namespace

Prefix common_prefix(const Prefix& a, const Prefix& b) {
  const unsigned max_len = std::min<unsigned>(a.len, b.len);
  unsigned len = 0;
  while (len < max_len && bit(a, len) == bit(b, len)) ++len;
  return truncate(a, len);
}

std::vector<Prefix> cover_without(std::span<const Prefix> attackers, std::span<const Prefix> benign,
                                  const CoverLimits& limits) {
  std::vector<Prefix> out;
  for (std::uint8_t fam : {std::uint8_t{4}, std::uint8_t{6}}) {
    std::vector<Prefix> group;
    for (const auto& a : attackers)
      if (a.family == fam) group.push_back(a);
    std::sort(group.begin(), group.end());
    group.erase(std::unique(group.begin(), group.end()), group.end());
    cover(std::move(group), benign, limits, out);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace reflex::analyze
