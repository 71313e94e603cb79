#include "guard/classify.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace reflex::guard {
namespace {

std::string v6_key(unsigned len, const std::uint8_t* addr) {
  std::string k(1, static_cast<char>(len));
  k.append(reinterpret_cast<const char*>(addr), 16);
  return k;
}

}  // namespace

Classifier::Classifier(const CompiledRuleSet& rs) : rs_(rs) {
  for (auto [addr, head] : rs.v4_exact) v4_exact_[addr] = head;
  for (const auto& [addr, head] : rs.v6_exact) v6_[v6_key(128, addr.data())] = head;
  for (const auto& [key, head] : rs.v6_prefix) v6_[v6_key(key.plen, key.addr)] = head;
}

std::uint32_t Classifier::head(const PacketFacts& p) const {
  if (p.family == 4) {
    std::uint32_t be;
    std::memcpy(&be, p.saddr.data(), 4);
    if (auto it = v4_exact_.find(be); it != v4_exact_.end()) return it->second;
    if (rs_.v4_table.empty()) return 0;
    std::uint32_t a = ntohl(be);
    std::uint32_t v = rs_.v4_table[a >> 16];
    if (!(v & GUARD_V4_CHUNK_BIT)) return v;
    v = rs_.v4_table[GUARD_V4_L1_SIZE + (v & ~GUARD_V4_CHUNK_BIT) * GUARD_V4_CHUNK + ((a >> 8) & 0xff)];
    if (!(v & GUARD_V4_CHUNK_BIT)) return v;
    v = rs_.v4_table[GUARD_V4_L1_SIZE + (v & ~GUARD_V4_CHUNK_BIT) * GUARD_V4_CHUNK + (a & 0xff)];
    return v & GUARD_V4_CHUNK_BIT ? 0 : v;
  }
  if (auto it = v6_.find(v6_key(128, p.saddr.data())); it != v6_.end()) return it->second;
  for (std::uint32_t i = 0; i < rs_.meta.v6_nlens; ++i) {
    Prefix pf;
    pf.family = 6;
    pf.len = rs_.meta.v6_lens[i];
    pf.addr = p.saddr;
    mask_prefix(pf);
    if (auto it = v6_.find(v6_key(pf.len, pf.addr.data())); it != v6_.end()) return it->second;
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
