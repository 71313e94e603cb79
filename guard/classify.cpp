#include "guard/classify.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace reflex::guard {
Classifier::Classifier(const CompiledRuleSet& rs) : rs_(rs) {}

std::uint32_t Classifier::head(const PacketFacts& p) const {
  if (p.family == 4) {
    std::uint32_t be;
    std::memcpy(&be, p.saddr.data(), 4);
    if (std::uint32_t h = h4_find(rs_.h4, rs_.meta.seed, be)) return h;
    if (rs_.v4_table.empty()) return 0;
    std::uint32_t a = ntohl(be);
    std::uint32_t v = rs_.v4_table[a >> 16];
    if (v & GUARD_V4_CHUNK_BIT)
      v = rs_.v4_table[GUARD_V4_L1_SIZE + (v & GUARD_V4_HEAD_MASK) * GUARD_V4_CHUNK + ((a >> 8) & 0xff)];
    if (v & GUARD_V4_LONG_BIT) {
      for (std::uint32_t i = 0; i < rs_.meta.v4_long_nlens; ++i) {
        unsigned len = rs_.meta.v4_long_lens[i];
        std::uint32_t w[4] = {htonl(a & (~0u << (32 - len))), 0, 0, 0};
        if (std::uint32_t h = h6_find(rs_.h6, rs_.meta.seed, w, GUARD_V4_PLEN_BASE + len)) return h;
      }
    }
    return v & GUARD_V4_HEAD_MASK;
  }
  for (std::uint32_t i = 0; i < rs_.meta.v6_nlens; ++i) {
    Prefix pf;
    pf.family = 6;
    pf.len = rs_.meta.v6_lens[i];
    pf.addr = p.saddr;
    mask_prefix(pf);
    std::uint32_t w[4];
    std::memcpy(w, pf.addr.data(), 16);
    if (std::uint32_t h = h6_find(rs_.h6, rs_.meta.seed, w, pf.len)) return h;
  }
  return 0;
}

Classification Classifier::classify(const PacketFacts& p, std::uint64_t now_ns) const {
  std::uint32_t idx = head(p);
  const guard_rule* hit = nullptr;
  std::uint32_t hit_idx = 0;
  for (int i = 0; i < GUARD_MAX_CHAIN && idx; ++i) {
    const guard_rule& r = rs_.rules.at(idx);
    bool match = true;
    if ((r.flags & GUARD_RF_PROTO) && r.proto != p.proto) match = false;
    if ((r.flags & GUARD_RF_PORT) && (!p.dport || r.port != htons(*p.dport))) match = false;
    if (r.expires_ns && now_ns >= r.expires_ns) match = false;
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
