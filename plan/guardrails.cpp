#include "plan/guardrails.h"

#include "plan/units.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace reflex::plan {
namespace {

bool overlaps(const Prefix& a, const Prefix& b) { return a.contains(b) || b.contains(a); }

std::string pct(double f) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.0f%%", f * 100);
  return buf;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

double iface_pps(const TrafficView& t, const std::string& iface) {
  if (!iface.empty()) {
    auto it = t.ifaces.find(iface);
    return it == t.ifaces.end() ? 0 : it->second.rx_pps;
  }
  double sum = 0;
  for (const auto& [name, i] : t.ifaces) sum += i.rx_pps;
  return sum;
}

double talker_pps(const TrafficView& t, const std::string& iface, const Prefix& p) {
  double sum = 0;
  for (const auto& tk : t.talkers)
    if ((iface.empty() || tk.iface == iface) && p.contains(tk.source)) sum += tk.pps;
  return sum;
}

// max_block_prefix: a prefix wider than allowed is narrowed around the origin.
void limit_width(Prefix& p, const GuardInput& in, std::vector<std::string>& applied) {
  unsigned min_len = p.family == 4 ? in.g.max_block_len_v4 : in.g.max_block_len_v6;
  if (p.len >= min_len) return;
  // The widest allowed prefix that still holds the origin keeps the rule's intent.
  Prefix narrowed = in.origin && p.contains(*in.origin) ? *in.origin : p;
  narrowed.len = static_cast<std::uint8_t>(min_len);
  mask_prefix(narrowed);
  applied.push_back("max_block_prefix: " + p.to_string() + " narrowed to " + narrowed.to_string());
  p = narrowed;
}

// never_block: a protected prefix is never covered; a wider target is narrowed
// to the origin if that clears the protected range, else dropped.
bool protect(Prefix& p, const GuardInput& in, std::vector<std::string>& applied) {
  for (const auto& nb : in.g.never_block) {
    if (!overlaps(p, nb)) continue;
    if (nb.contains(p)) {
      applied.push_back("never_block: " + p.to_string() + " is inside protected " + nb.to_string());
      return false;
    }
    bool origin_ok = in.origin && p.contains(*in.origin);
    if (origin_ok)
      for (const auto& nb2 : in.g.never_block) origin_ok = origin_ok && !overlaps(*in.origin, nb2);
    if (!origin_ok) {
      applied.push_back("never_block: " + p.to_string() + " covers protected " + nb.to_string());
      return false;
    }
    applied.push_back("never_block: " + p.to_string() + " covers protected " + nb.to_string() + ", narrowed to " +
                      in.origin->to_string());
    p = *in.origin;
    return true;
  }
  return true;
}

}  // namespace

bool apply_guardrails(ActionSpec& spec, const GuardInput& in, std::vector<std::string>& applied) {
  const auto& g = in.g;
  if (auto* b = std::get_if<BlockPrefix>(&spec)) {
    limit_width(b->prefix, in, applied);
    if (!protect(b->prefix, in, applied)) return false;
    double ipps = iface_pps(in.traffic, b->iface), tpps = talker_pps(in.traffic, b->iface, b->prefix);
    double allowed = g.max_drop_fraction * ipps;
    if (ipps > 0 && tpps > allowed) {
      // Blocking would cost more than one action may: keep the prefix but let
      // through all but the allowed share.
      auto pps = std::max<std::uint64_t>(g.rate_limit_floor_pps, static_cast<std::uint64_t>(std::ceil(tpps - allowed)));
      applied.push_back("max_drop_fraction: block would drop " + num(tpps) + " of " + num(ipps) + " pps (" +
                        pct(tpps / ipps) + " > " + pct(g.max_drop_fraction) + "), rate-limited to " +
                        std::to_string(pps) + " pps instead");
      spec = RateLimitPrefix{b->iface, b->prefix, pps, 0, b->l4};
    }
    return true;
  }
  if (auto* r = std::get_if<RateLimitPrefix>(&spec)) {
    limit_width(r->prefix, in, applied);
    if (!protect(r->prefix, in, applied)) return false;
    if (r->pps < g.rate_limit_floor_pps) {
      applied.push_back("rate_limit_floor: " + std::to_string(r->pps) + " pps raised to " +
                        std::to_string(g.rate_limit_floor_pps));
      r->pps = g.rate_limit_floor_pps;
    }
    double ipps = iface_pps(in.traffic, r->iface), tpps = talker_pps(in.traffic, r->iface, r->prefix);
    double allowed = g.max_drop_fraction * ipps;
    if (ipps > 0 && tpps - static_cast<double>(r->pps) > allowed) {
      auto pps = static_cast<std::uint64_t>(std::ceil(tpps - allowed));
      applied.push_back("max_drop_fraction: limit " + std::to_string(r->pps) + " pps would drop " +
                        num(tpps - static_cast<double>(r->pps)) + " of " + num(ipps) + " pps (> " +
                        pct(g.max_drop_fraction) + "), raised to " + std::to_string(pps) + " pps");
      r->pps = pps;
    }
    return true;
  }
  if (auto* s = std::get_if<ShapeInterface>(&spec)) {
    if (s->rate_bps == 0) return true;  // removing a shape is always allowed
    if (s->prefix && !protect(*s->prefix, in, applied)) return false;
    if (s->rate_bps < g.shaping_floor_bps) {
      applied.push_back("shaping_floor: " + format_bit_rate(s->rate_bps) + " raised to " +
                        format_bit_rate(g.shaping_floor_bps));
      s->rate_bps = g.shaping_floor_bps;
    }
    if (!s->prefix) {
      // A shape limits what the interface sends: what it would drop is egress.
      auto it = in.traffic.ifaces.find(s->iface);
      double bps = it == in.traffic.ifaces.end() ? 0 : it->second.tx_bps;
      double allowed = g.max_drop_fraction * bps;
      if (bps > 0 && bps - static_cast<double>(s->rate_bps) > allowed) {
        auto rate = static_cast<std::uint64_t>(std::ceil(bps - allowed));
        applied.push_back("max_drop_fraction: shaping " + s->iface + " to " + format_bit_rate(s->rate_bps) +
                          " would drop more than " + pct(g.max_drop_fraction) + " of " + num(bps) +
                          " bit/s, raised to " + format_bit_rate(rate));
        s->rate_bps = rate;
      }
    }
    return true;
  }
  if (auto* a = std::get_if<AggregateRules>(&spec)) {
    // A cover is a block of a whole prefix: never wider than a block may be,
    // never over a protected range (Execute skips covers that overlap one).
    if (a->len_v4 < g.max_block_len_v4) {
      applied.push_back("max_block_prefix: aggregate /" + std::to_string(a->len_v4) + " narrowed to /" +
                        std::to_string(g.max_block_len_v4));
      a->len_v4 = g.max_block_len_v4;
    }
    if (a->len_v6 < g.max_block_len_v6) {
      applied.push_back("max_block_prefix: aggregate IPv6 /" + std::to_string(a->len_v6) + " narrowed to /" +
                        std::to_string(g.max_block_len_v6));
      a->len_v6 = g.max_block_len_v6;
    }
    a->keep_out = g.never_block;
    return true;
  }
  if (auto* u = std::get_if<Unblock>(&spec)) {
    // The undo of a block the width limit narrowed removes the rule that was
    // installed (the same narrowing of the same origin), not the wider
    // prefix no rule has.
    limit_width(u->prefix, in, applied);
    return true;
  }
  if (auto* b = std::get_if<RuleBatch>(&spec)) {
    // A batch (an operator's list) is taken as given, less what touches a
    // protected range: those prefixes leave it, with one note for all.
    if (b->remove || b->verb == RuleVerb::shadow || g.never_block.empty()) return true;
    const std::size_t had = b->prefixes.size();
    std::erase_if(b->prefixes, [&](const Prefix& p) {
      return std::any_of(g.never_block.begin(), g.never_block.end(), [&](const Prefix& nb) { return overlaps(p, nb); });
    });
    if (b->prefixes.size() != had)
      applied.push_back("never_block: " + std::to_string(had - b->prefixes.size()) + " of the batch's " +
                        std::to_string(had) + " prefixes overlap a protected range and were left out");
    return !b->prefixes.empty();
  }
  return true;  // shadow, attach mode, program swap, alert: nothing dropped
}

}  // namespace reflex::plan
