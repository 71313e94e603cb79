#include "guard/classify.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace reflex::guard {
Classifier::Classifier(const CompiledRuleSet& rs) : rs_(rs) {}

std::uint32_t Classifier::head(const PacketFacts& p) const {
  if (p.family == 4) {
    std::uint32_t be;
    std::memcpy(&be, p.saddr.data(), 4);
    if (std::uint32_t h = h4_find(rs_.h4, rs_.meta.seed, be)) return h;
    return v4_prefix_head(rs_.v4_entries(), rs_.h6, rs_.meta, ntohl(be));
  }
  return v6_prefix_head(rs_.h6, rs_.meta, p.saddr);
}

Classification Classifier::classify(const PacketFacts& p, std::uint64_t now_ns) const {
  std::uint32_t idx = head(p);
  const guard_rule* hit = nullptr;
  std::uint32_t hit_idx = 0;
  for (int i = 0; i < GUARD_MAX_CHAIN && idx; ++i) {
    if (idx >= rs_.rule_entries().size()) throw std::out_of_range("rule slot");
    const guard_rule& r = rs_.rule_entries()[idx];
    bool match = true;
    if ((r.flags & GUARD_RF_PROTO) && r.proto != p.proto) match = false;
    if ((r.flags & GUARD_RF_PORT) && (!p.dport || r.port != htons(*p.dport))) match = false;
    if (r.expires_ns && now_ns >= r.expires_ns) match = false;
    if (r.action == GUARD_ACT_NONE) match = false;
    if (match) {
      if (r.action == GUARD_ACT_ALLOW) {
        hit = &r;
        hit_idx = idx;
        break;
      }
      if (!hit) {
        hit = &r;
        hit_idx = idx;
        if (!(r.flags & GUARD_RF_ALLOW_AFTER)) break;
      }
    }
    idx = r.next;
  }
  if (!hit) return {GUARD_R_PASS_NO_MATCH, 0};
  switch (hit->action) {
    case GUARD_ACT_DROP: return {GUARD_R_DROP_RULE, hit_idx};
    case GUARD_ACT_ALLOW: return {GUARD_R_PASS_ALLOW, hit_idx};
    case GUARD_ACT_SHADOW: return {GUARD_R_PASS_SHADOW, hit_idx};
    case GUARD_ACT_RATE_LIMIT: return {GUARD_R_PASS_RATE_OK, hit_idx};
  }
  return {GUARD_R_PASS_NO_MATCH, 0};
}

}  // namespace reflex::guard
