#include "guard/compiler.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace reflex::guard {
namespace {

constexpr std::uint32_t kL1 = GUARD_V4_L1_SIZE;
constexpr std::uint32_t kChunk = GUARD_V4_CHUNK;
constexpr std::uint32_t kChunkBit = GUARD_V4_CHUNK_BIT;

// More specific L4 filters are tried first: proto+port, port, proto, none.
int specificity(const L4Filter& f) { return (f.port ? 2 : 0) + (f.proto ? 1 : 0); }

struct Node {
  Prefix prefix;
  std::uint32_t first = 0;  // first entry index
  std::uint32_t count = 0;  // number of own rules
  int parent = -1;          // index into nodes
  std::uint32_t depth = 0;  // entries on the chain from this node's head
};

bool node_order(const Prefix& a, const Prefix& b) {
  if (a.family != b.family) return a.family < b.family;
  if (a.addr != b.addr) return a.addr < b.addr;
  return a.len < b.len;
}

guard_rule make_entry(const GuardRule& r) {
  guard_rule e{};
  e.uid = rule_uid(r.key());
  e.action = static_cast<std::uint8_t>(r.action);
  e.family = r.prefix.family;
  e.plen = r.prefix.len;
  std::memcpy(e.addr, r.prefix.addr.data(), 16);
  if (r.l4.proto) {
    e.flags |= GUARD_RF_PROTO;
    e.proto = *r.l4.proto;
  }
  if (r.l4.port) {
    e.flags |= GUARD_RF_PORT;
    e.port = htons(*r.l4.port);
  }
  e.expires_ns = r.expires_ns;
  if (r.action == RuleAction::rate_limit) {
    e.pps = r.pps;
    e.burst = effective_burst(r);
    e.rate_interval_ns = 1'000'000'000ull / r.pps;
    if (e.rate_interval_ns == 0) e.rate_interval_ns = 1;
    e.rate_tau_ns = static_cast<std::uint64_t>(e.burst - 1) * e.rate_interval_ns;
  }
  return e;
}

class DirTable {
 public:
  DirTable() : tbl_(kL1, 0) {}

  void paint(const Prefix& p, std::uint32_t head) {
    std::uint32_t a = p.v4_host_order();
    if (p.len <= 16) {
      std::uint32_t start = a >> 16, n = 1u << (16 - p.len);
      std::fill_n(tbl_.begin() + start, n, head);
      return;
    }
    std::uint32_t l2 = chunk_of(a >> 16);
    if (p.len <= 24) {
      std::uint32_t start = (a >> 8) & 0xff, n = 1u << (24 - p.len);
      std::fill_n(tbl_.begin() + l2 + start, n, head);
      return;
    }
    std::uint32_t l3 = chunk_of(l2 + ((a >> 8) & 0xff));
    std::uint32_t start = a & 0xff, n = 1u << (32 - p.len);
    std::fill_n(tbl_.begin() + l3 + start, n, head);
  }

  std::vector<std::uint32_t> take() { return std::move(tbl_); }

 private:
  // Returns the table offset of the chunk below entry `slot`, creating it
  // filled with the entry's current value (the covering prefix's head).
  // Prefixes are painted shortest first, so a new chunk never hides a
  // longer prefix.
  std::uint32_t chunk_of(std::uint32_t slot) {
    std::uint32_t v = tbl_[slot];
    if (v & kChunkBit) return kL1 + (v & ~kChunkBit) * kChunk;
    std::uint32_t id = next_chunk_++;
    tbl_.resize(tbl_.size() + kChunk, v);
    tbl_[slot] = kChunkBit | id;
    return kL1 + id * kChunk;
  }

  std::vector<std::uint32_t> tbl_;
  std::uint32_t next_chunk_ = 0;
};

}  // namespace

Result<CompiledRuleSet> compile_rules(std::span<const GuardRule> input, std::uint64_t now_ns) {
  CompiledRuleSet out;
  std::vector<const GuardRule*> rules;
  rules.reserve(input.size());
  for (const auto& r : input) {
    if (auto s = validate_rule(r); !s) return s.error();
    if (r.expires_ns && r.expires_ns <= now_ns) {
      ++out.expired_dropped;
      continue;
    }
    rules.push_back(&r);
  }
  // Group by prefix; within a prefix, most specific filter first.
  std::sort(rules.begin(), rules.end(), [](const GuardRule* a, const GuardRule* b) {
    if (a->prefix != b->prefix) return node_order(a->prefix, b->prefix);
    int sa = specificity(a->l4), sb = specificity(b->l4);
    if (sa != sb) return sa > sb;
    return a->l4 < b->l4;
  });
  for (std::size_t i = 1; i < rules.size(); ++i)
    if (rules[i]->key() == rules[i - 1]->key())
      return make_error("duplicate rule for " + rules[i]->prefix.to_string() + " with the same L4 match",
                        "keep one of them");

  out.rules.reserve(rules.size() + 1);
  out.rules.push_back(guard_rule{});  // slot 0: no rule
  std::vector<Node> nodes;
  for (const GuardRule* r : rules) {
    if (nodes.empty() || nodes.back().prefix != r->prefix)
      nodes.push_back(Node{r->prefix, static_cast<std::uint32_t>(out.rules.size()), 0});
    out.rules.push_back(make_entry(*r));
    ++nodes.back().count;
  }

  // Nearest covering node, by a stack sweep over (family, address, length) order.
  std::vector<int> stack;
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    while (!stack.empty() && !nodes[stack.back()].prefix.contains(nodes[i].prefix)) stack.pop_back();
    nodes[i].parent = stack.empty() ? -1 : stack.back();
    stack.push_back(i);
  }

  // Link runs to their parents. Parents come before children in this order,
  // so each parent's depth and allow flags are final when a child reads them.
  for (auto& n : nodes) {
    std::uint32_t tail_next = n.parent >= 0 ? nodes[n.parent].first : 0;
    bool allow_after = tail_next && (out.rules[tail_next].flags & GUARD_RF_ALLOW_AFTER);
    n.depth = n.count + (n.parent >= 0 ? nodes[n.parent].depth : 0);
    if (n.depth > GUARD_MAX_CHAIN)
      return make_error("rules nest too deep at " + n.prefix.to_string() + ": " + std::to_string(n.depth) +
                            " rules cover it, the datapath walks at most " + std::to_string(GUARD_MAX_CHAIN),
                        "merge overlapping prefixes or drop some L4-narrowed variants");
    for (std::uint32_t k = n.count; k-- > 0;) {
      guard_rule& e = out.rules[n.first + k];
      e.next = k + 1 < n.count ? n.first + k + 1 : tail_next;
      if (e.action == GUARD_ACT_ALLOW) allow_after = true;
      if (allow_after) e.flags |= GUARD_RF_ALLOW_AFTER;
    }
  }

  // Lookup structures.
  std::vector<const Node*> v4_prefixes;
  std::vector<std::uint8_t> v6_lens;
  for (const auto& n : nodes) {
    const Prefix& p = n.prefix;
    if (p.family == 4) {
      if (p.len == 32) {
        std::uint32_t be;
        std::memcpy(&be, p.addr.data(), 4);
        out.v4_exact.emplace_back(be, n.first);
      } else {
        v4_prefixes.push_back(&n);
      }
    } else if (p.len == 128) {
      out.v6_exact.emplace_back(p.addr, n.first);
    } else {
      guard_v6_key k{};
      k.plen = p.len;
      std::memcpy(k.addr, p.addr.data(), 16);
      out.v6_prefix.emplace_back(k, n.first);
      v6_lens.push_back(p.len);
    }
  }
  if (!v4_prefixes.empty()) {
    std::stable_sort(v4_prefixes.begin(), v4_prefixes.end(),
                     [](const Node* a, const Node* b) { return a->prefix.len < b->prefix.len; });
    DirTable dir;
    for (const Node* n : v4_prefixes) dir.paint(n->prefix, n->first);
    out.v4_table = dir.take();
  }
  std::sort(v6_lens.begin(), v6_lens.end(), std::greater<>());
  v6_lens.erase(std::unique(v6_lens.begin(), v6_lens.end()), v6_lens.end());

  out.meta.n_rules = static_cast<std::uint32_t>(out.rules.size());
  out.meta.v4_exact = static_cast<std::uint32_t>(out.v4_exact.size());
  out.meta.v4_table = out.v4_table.empty() ? 0 : 1;
  out.meta.v6_exact = static_cast<std::uint32_t>(out.v6_exact.size());
  out.meta.v6_nlens = static_cast<std::uint32_t>(v6_lens.size());
  std::copy(v6_lens.begin(), v6_lens.end(), out.meta.v6_lens);
  return out;
}

GuardRule rule_from_entry(const guard_rule& e) {
  GuardRule r;
  r.prefix.family = e.family;
  r.prefix.len = e.plen;
  std::memcpy(r.prefix.addr.data(), e.addr, 16);
  r.action = static_cast<RuleAction>(e.action);
  if (e.flags & GUARD_RF_PROTO) r.l4.proto = e.proto;
  if (e.flags & GUARD_RF_PORT) r.l4.port = ntohs(e.port);
  r.expires_ns = e.expires_ns;
  if (r.action == RuleAction::rate_limit) {
    r.pps = e.pps;
    r.burst = e.burst;
  }
  return r;
}

std::vector<GuardRule> rules_from_entries(std::span<const guard_rule> entries) {
  std::vector<GuardRule> out;
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (entries[i].action != GUARD_ACT_NONE) out.push_back(rule_from_entry(entries[i]));
  return out;
}

}  // namespace reflex::guard
