#include "guard/compiler.h"

#include "common/huge_pages.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <thread>

namespace reflex::guard {
namespace {

constexpr std::uint32_t kL1 = GUARD_V4_L1_SIZE;
constexpr std::uint32_t kChunk = GUARD_V4_CHUNK;
constexpr std::uint32_t kChunkBit = GUARD_V4_CHUNK_BIT;

// More specific L4 filters are tried first: proto+port, port, proto, none.
int specificity(const L4Filter& f) { return (f.port ? 2 : 0) + (f.proto ? 1 : 0); }

// A rule reduced to what ordering needs: the address as a 128-bit number
// (IPv4 in the top 32 bits) and the rest of the order packed into one word,
// so sorting a million rules compares integers and never leaves the item.
struct Item {
  std::uint64_t hi = 0, lo = 0;
  // family, then length, then the most specific L4 filter first, then the
  // filter itself (an absent proto or port before any value, as
  // std::optional orders them).
  std::uint64_t tail = 0;
  std::uint8_t family = 0, len = 0;
  std::uint8_t spec = 0;
  const GuardRule* rule = nullptr;

  bool same_prefix(const Item& o) const { return family == o.family && len == o.len && hi == o.hi && lo == o.lo; }
};

Item make_item(const GuardRule& r) {
  Item it;
  it.family = r.prefix.family;
  it.len = r.prefix.len;
  it.spec = static_cast<std::uint8_t>(specificity(r.l4));
  it.rule = &r;
  const auto& a = r.prefix.addr;
  for (int i = 0; i < 8; ++i) it.hi = (it.hi << 8) | a[i];
  for (int i = 8; i < 16; ++i) it.lo = (it.lo << 8) | a[i];
  const std::uint64_t l4 = (r.l4.proto ? (1ull << 25) | (std::uint64_t{*r.l4.proto} << 17) : 0) |
                           (r.l4.port ? (1ull << 16) | *r.l4.port : 0);
  it.tail = l4 | std::uint64_t{static_cast<std::uint8_t>(3 - it.spec)} << 32 | std::uint64_t{it.len} << 40;
  return it;
}

// Family first (IPv4 and IPv6 never interleave), then address, then tail.
inline bool item_less(const Item& a, const Item& b) {
  if (a.family != b.family) return a.family < b.family;
  if (a.hi != b.hi) return a.hi < b.hi;
  if (a.lo != b.lo) return a.lo < b.lo;
  return a.tail < b.tail;
}

// True if parent's prefix covers child's (same family, shorter or equal length).
bool covers(const Item& parent, const Item& child) {
  if (parent.family != child.family || parent.len > child.len) return false;
  unsigned len = parent.len;
  std::uint64_t mhi = len >= 64 ? ~0ull : len == 0 ? 0 : ~0ull << (64 - len);
  std::uint64_t mlo = len <= 64 ? 0 : len >= 128 ? ~0ull : ~0ull << (128 - len);
  return (child.hi & mhi) == parent.hi && (child.lo & mlo) == parent.lo;
}

struct Node {
  const Item* item = nullptr;
  std::uint32_t first = 0;  // first entry index
  std::uint32_t count = 0;  // number of own rules
  int parent = -1;          // index into nodes
  std::uint32_t depth = 0;  // entries on the chain from this node's head
};

}  // namespace

guard_rule make_rule_entry(const GuardRule& r) {
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

namespace {

class DirTable {
 public:
  // chunks: exactly how many /16s will need one. The table is sized once
  // (growing a 64 MiB table by copies is slow), in `ext` when given (zeroed).
  DirTable(std::size_t chunks, std::uint32_t* ext) : size_(kL1 + chunks * kChunk) {
    if (ext) {
      t_ = ext;
    } else {
      reserve_huge(own_, size_);
      own_.resize(size_, 0);
      t_ = own_.data();
    }
  }

  // Prefixes up to /24, each painted after every prefix covering it.
  // False when the table has no chunk left for a.
  bool paint(std::uint32_t a, unsigned len, std::uint32_t head) {
    if (len <= 16) {
      std::fill_n(t_ + (a >> 16), 1u << (16 - len), head);
      return true;
    }
    auto at = chunk_of(a >> 16);
    if (!at) return false;
    std::fill_n(t_ + *at + ((a >> 8) & 0xff), 1u << (24 - len), head);
    return true;
  }

  // The /24 holding a in its range has /25../31 prefixes: the datapath must
  // probe the prefix hash there. Called after every paint().
  bool mark_long(std::uint32_t a) {
    auto at = chunk_of(a >> 16);
    if (!at) return false;
    t_[*at + ((a >> 8) & 0xff)] |= GUARD_V4_LONG_BIT;
    return true;
  }

  std::size_t chunks() const { return (size_ - kL1) / kChunk; }

  std::vector<std::uint32_t> take() { return std::move(own_); }

 private:
  // The table offset of the chunk below first-level entry `slot`, created
  // filled with the entry's current value (the covering prefix's head).
  // Covering prefixes are painted first, so a new chunk never hides a
  // shorter prefix painted later.
  // nullopt when every chunk the table was sized for is taken (the count
  // was wrong: a compiler bug, reported, never a write past the table).
  std::optional<std::uint32_t> chunk_of(std::uint32_t slot) {
    std::uint32_t v = t_[slot];
    if (v & kChunkBit) return kL1 + (v & GUARD_V4_HEAD_MASK) * kChunk;
    const std::size_t at = kL1 + std::size_t{next_chunk_} * kChunk;
    if (at + kChunk > size_) return std::nullopt;
    std::uint32_t id = next_chunk_++;
    std::fill_n(t_ + at, kChunk, v);
    t_[slot] = kChunkBit | id;
    return static_cast<std::uint32_t>(at);
  }

  std::size_t size_;
  std::uint32_t* t_ = nullptr;
  std::vector<std::uint32_t> own_;
  std::uint32_t next_chunk_ = 0;
};

// Small tables still leave room for rules added in place (Guard::upsert).
constexpr std::size_t kMinBuckets = 64;

// Open addressing over buckets of Slots; grows until every key sits within
// GUARD_MAX_PROBE buckets of home (at load <= 1/2 that takes one try).
template <class Bucket, int Slots, class HashFn, class PutFn>
Result<std::vector<Bucket>> build_buckets(std::size_t n, HashFn hash, PutFn put) {
  std::size_t buckets = std::bit_ceil(std::max<std::size_t>(kMinBuckets, (2 * n + Slots - 1) / Slots));
  for (int attempt = 0; attempt < 8; ++attempt, buckets *= 2) {
    if (buckets > (1u << 28)) break;
    std::vector<Bucket> t;
    reserve_huge(t, buckets);
    t.resize(buckets);
    std::vector<std::uint8_t> fill(buckets, 0);
    std::size_t mask = buckets - 1;
    bool ok = true;
    for (std::size_t k = 0; k < n && ok; ++k) {
      std::size_t home = hash(k);
      ok = false;
      for (int p = 0; p < GUARD_MAX_PROBE; ++p) {
        std::size_t b = (home + p) & mask;
        if (fill[b] < Slots) {
          put(t[b], fill[b]++, k);
          ok = true;
          break;
        }
      }
    }
    if (ok) return t;
  }
  return make_error("cannot fit " + std::to_string(n) + " exact-match entries in a hash table",
                    "this should not happen; report it with the rule set");
}

}  // namespace

std::uint32_t h4_find(std::span<const guard_h4_bucket> t, std::uint32_t seed, std::uint32_t addr_be) {
  if (t.empty()) return 0;
  std::uint32_t mask = static_cast<std::uint32_t>(t.size() - 1), home = guard_hash_v4(addr_be, seed);
  for (std::uint32_t p = 0; p < GUARD_MAX_PROBE; ++p) {
    const auto& bk = t[(home + p) & mask];
    for (int i = 0; i < GUARD_H4_SLOTS; ++i) {
      if (!bk.head[i]) return 0;
      if (bk.addr[i] == addr_be) return bk.head[i];
    }
  }
  return 0;
}

std::uint32_t h6_find(std::span<const guard_h6_bucket> t, std::uint32_t seed, const std::uint32_t* w, std::uint32_t plen) {
  if (t.empty()) return 0;
  std::uint32_t mask = static_cast<std::uint32_t>(t.size() - 1), home = guard_hash_v6(w, plen, seed);
  for (std::uint32_t p = 0; p < GUARD_MAX_PROBE; ++p) {
    const auto& bk = t[(home + p) & mask];
    for (const auto& s : bk.slot) {
      if (!s.head) return 0;
      if (s.plen == plen && std::memcmp(s.addr, w, 16) == 0) return s.head;
    }
  }
  return 0;
}

std::uint32_t v6_filter_bit(std::uint32_t w0, std::uint32_t seed, std::uint32_t mask) {
  return guard_mix32(w0 ^ GUARD_V6_FILTER_SEED ^ seed) & mask;
}

std::uint32_t v4_prefix_head(std::span<const std::uint32_t> table, std::span<const guard_h6_bucket> h6,
                             const guard_gen_meta& meta, std::uint32_t a) {
  if (table.empty()) return 0;
  std::uint32_t v = table[a >> 16];
  if (v & GUARD_V4_CHUNK_BIT) v = table[GUARD_V4_L1_SIZE + (v & GUARD_V4_HEAD_MASK) * GUARD_V4_CHUNK + ((a >> 8) & 0xff)];
  if (v & GUARD_V4_LONG_BIT) {
    for (std::uint32_t i = 0; i < meta.v4_long_nlens; ++i) {
      unsigned len = meta.v4_long_lens[i];
      std::uint32_t w[4] = {htonl(a & (~0u << (32 - len))), 0, 0, 0};
      if (std::uint32_t h = h6_find(h6, meta.seed, w, GUARD_V4_PLEN_BASE + len)) return h;
    }
  }
  return v & GUARD_V4_HEAD_MASK;
}

std::uint32_t v6_prefix_head(std::span<const guard_h6_bucket> h6, const guard_gen_meta& meta,
                             const std::array<std::uint8_t, 16>& addr, unsigned below_len) {
  for (std::uint32_t i = 0; i < meta.v6_nlens; ++i) {
    Prefix pf;
    pf.family = 6;
    pf.len = meta.v6_lens[i];
    if (pf.len >= below_len) continue;
    pf.addr = addr;
    mask_prefix(pf);
    std::uint32_t w[4];
    std::memcpy(w, pf.addr.data(), 16);
    if (std::uint32_t h = h6_find(h6, meta.seed, w, pf.len)) return h;
  }
  return 0;
}

Result<CompiledRuleSet> compile_rules(std::span<const GuardRule> input, std::uint64_t now_ns,
                                      const CompileOptions& opts) {
  CompiledRuleSet out;
  std::uint32_t seed = opts.seed;
  // Every large buffer below is written once, front to back: huge pages.
  std::vector<Item> items;
  reserve_huge(items, input.size());
  for (const auto& r : input) {
    if (auto s = validate_rule(r); !s) return s.error();
    if (r.expires_ns && r.expires_ns <= now_ns) {
      ++out.expired_dropped;
      continue;
    }
    items.push_back(make_item(r));
  }
  if (items.size() > opts.max_rules)
    return make_error("the rule set has " + std::to_string(items.size()) + " rules, more than the guard's limit of " +
                          std::to_string(opts.max_rules),
                      "merge rules into prefixes, or raise the limit with --max-rules (about 100 bytes of kernel "
                      "memory per rule and interface)");
  // Group by prefix (covering prefixes first); within a prefix, most specific filter first.
  // A lambda, not the function's address: the comparison inlines, where an
  // indirect call per comparison costs ~10 ns on hosts with return-stack
  // mitigations (20 million comparisons for a million rules).
  // Large sets sort as two halves on two threads, then merge.
  auto less = [](const Item& a, const Item& b) { return item_less(a, b); };
  if (items.size() >= 200'000) {
    auto mid = items.begin() + static_cast<std::ptrdiff_t>(items.size() / 2);
    std::thread other([&] { std::sort(items.begin(), mid, less); });
    std::sort(mid, items.end(), less);
    other.join();
    std::vector<Item> merged;
    reserve_huge(merged, items.size());
    std::merge(items.begin(), mid, mid, items.end(), std::back_inserter(merged), less);
    items.swap(merged);
  } else {
    std::sort(items.begin(), items.end(), less);
  }
  for (std::size_t i = 1; i < items.size(); ++i)
    if (items[i].same_prefix(items[i - 1]) && items[i].tail == items[i - 1].tail)
      return make_error("duplicate rule for " + items[i].rule->prefix.to_string() + " with the same L4 match",
                        "keep one of them");

  // The rules array, slot 0 reserved ("no rule"): in the caller's memory if it gives some.
  const std::size_t n_entries = items.size() + 1;
  guard_rule* R = nullptr;
  if (opts.memory) R = static_cast<guard_rule*>(opts.memory(TableKind::rules, n_entries * sizeof(guard_rule)));
  if (R) {
    out.rules_at = {R, n_entries};
  } else {
    reserve_huge(out.rules, n_entries);
    out.rules.resize(n_entries);
    R = out.rules.data();
  }
  std::vector<Node> nodes;
  reserve_huge(nodes, items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    // The rules are read in sorted order, i.e. at random: fetch ahead.
    if (k + 8 < items.size()) __builtin_prefetch(items[k + 8].rule);
    const Item& it = items[k];
    if (nodes.empty() || !nodes.back().item->same_prefix(it)) nodes.push_back(Node{&it, static_cast<std::uint32_t>(k + 1)});
    R[k + 1] = make_rule_entry(*it.rule);
    ++nodes.back().count;
  }

  // Nearest covering node, by a stack sweep in address order.
  std::vector<int> stack;
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    while (!stack.empty() && !covers(*nodes[stack.back()].item, *nodes[i].item)) stack.pop_back();
    nodes[i].parent = stack.empty() ? -1 : stack.back();
    stack.push_back(i);
  }

  // Link runs to their parents. Parents come before children in this order,
  // so each parent's depth and allow flags are final when a child reads them.
  for (auto& n : nodes) {
    std::uint32_t tail_next = n.parent >= 0 ? nodes[n.parent].first : 0;
    bool allow_after = tail_next && (R[tail_next].flags & GUARD_RF_ALLOW_AFTER);
    n.depth = n.count + (n.parent >= 0 ? nodes[n.parent].depth : 0);
    if (n.depth > GUARD_MAX_CHAIN)
      return make_error("rules nest too deep at " + n.item->rule->prefix.to_string() + ": " + std::to_string(n.depth) +
                            " rules cover it, the datapath walks at most " + std::to_string(GUARD_MAX_CHAIN),
                        "merge overlapping prefixes or drop some L4-narrowed variants");
    for (std::uint32_t k = n.count; k-- > 0;) {
      guard_rule& e = R[n.first + k];
      e.next = k + 1 < n.count ? n.first + k + 1 : tail_next;
      if (e.action == GUARD_ACT_ALLOW) allow_after = true;
      if (allow_after) e.flags |= GUARD_RF_ALLOW_AFTER;
    }
  }

  // Lookup structures.
  std::vector<const Node*> v4_exact, v4_prefix, v4_long, pfx;  // pfx: the prefix hash's entries
  for (const auto& n : nodes) {
    if (n.item->family == 6) {
      pfx.push_back(&n);
    } else if (n.item->len == 32) {
      v4_exact.push_back(&n);
    } else if (n.item->len > 24) {
      v4_long.push_back(&n);
      pfx.push_back(&n);
    } else {
      v4_prefix.push_back(&n);
    }
  }
  if (seed == 0) seed = std::random_device{}() | 1;
  out.meta.seed = seed;
  auto v4_addr = [](const Node* n) { return static_cast<std::uint32_t>(n->item->hi >> 32); };
  {
    // Always present, even empty: host rules can then be added in place.
    auto t = build_buckets<guard_h4_bucket, GUARD_H4_SLOTS>(
        v4_exact.size(), [&](std::size_t k) { return guard_hash_v4(htonl(v4_addr(v4_exact[k])), seed); },
        [&](guard_h4_bucket& b, int slot, std::size_t k) {
          b.addr[slot] = htonl(v4_addr(v4_exact[k]));
          b.head[slot] = v4_exact[k]->first;
        });
    if (!t) return t.error();
    out.h4 = std::move(*t);
  }
  if (!v4_prefix.empty() || !v4_long.empty()) {
    // Nodes are in address order with covering prefixes first, so painting
    // in that order lets every longer prefix overwrite its cover, and sweeps
    // the 64 MiB table front to back instead of at random.
    // Exactly one chunk per /16 holding a prefix longer than /16 (both
    // lists are in address order: a merge counts the distinct /16s).
    std::size_t chunks = 0;
    {
      std::uint32_t last16 = ~0u;
      auto a = v4_prefix.begin();
      auto b = v4_long.begin();
      auto next_of = [&](auto& it, auto end, bool skip_short) -> std::optional<std::uint32_t> {
        while (it != end && skip_short && (*it)->item->len <= 16) ++it;
        if (it == end) return std::nullopt;
        return v4_addr(*it) >> 16;
      };
      for (;;) {
        auto x = next_of(a, v4_prefix.end(), true), y = next_of(b, v4_long.end(), false);
        if (!x && !y) break;
        std::uint32_t s16;
        if (x && (!y || *x <= *y)) s16 = *x, ++a;
        else s16 = *y, ++b;
        if (s16 != last16) ++chunks, last16 = s16;
      }
    }
    const std::size_t words = kL1 + chunks * kChunk;
    auto* ext = opts.memory ? static_cast<std::uint32_t*>(opts.memory(TableKind::v4_table, words * sizeof(std::uint32_t)))
                            : nullptr;
    DirTable dir(chunks, ext);
    auto out_of_chunks = [&](const Node* n) {
      return make_error("internal error compiling the IPv4 table: " + std::to_string(dir.chunks()) +
                            " second-level chunks were counted, but " + n->item->rule->prefix.to_string() +
                            " needs one more (no rule was changed)",
                        "report this with the rules file; the rules in force stay as they are");
    };
    for (const Node* n : v4_prefix)
      if (!dir.paint(v4_addr(n), n->item->len, n->first)) return out_of_chunks(n);
    for (const Node* n : v4_long)
      if (!dir.mark_long(v4_addr(n))) return out_of_chunks(n);
    if (ext) out.v4_table_at = {ext, words};
    else out.v4_table = dir.take();
  }
  if (!pfx.empty()) {
    // Key words and hash-plen of a prefix-hash entry (IPv4 /25../31 shifted past IPv6 lengths).
    // From the sorted items' own address words: no trip to the input rules.
    auto key = [&](std::size_t k, std::uint32_t* w) -> std::uint32_t {
      const Item& it = *pfx[k]->item;
      if (it.family == 4) {
        w[0] = htonl(static_cast<std::uint32_t>(it.hi >> 32));
        w[1] = w[2] = w[3] = 0;
        return GUARD_V4_PLEN_BASE + it.len;
      }
      w[0] = htonl(static_cast<std::uint32_t>(it.hi >> 32));
      w[1] = htonl(static_cast<std::uint32_t>(it.hi));
      w[2] = htonl(static_cast<std::uint32_t>(it.lo >> 32));
      w[3] = htonl(static_cast<std::uint32_t>(it.lo));
      return it.len;
    };
    auto t = build_buckets<guard_h6_bucket, GUARD_H6_SLOTS>(
        pfx.size(),
        [&](std::size_t k) {
          std::uint32_t w[4];
          std::uint32_t plen = key(k, w);
          return guard_hash_v6(w, plen, seed);
        },
        [&](guard_h6_bucket& b, int slot, std::size_t k) {
          b.slot[slot].plen = key(k, b.slot[slot].addr);
          b.slot[slot].head = pfx[k]->first;
        });
    if (!t) return t.error();
    out.h6 = std::move(*t);
    std::vector<std::uint8_t> v6_lens, long_lens;
    for (const Node* n : pfx) (n->item->family == 6 ? v6_lens : long_lens).push_back(n->item->len);
    for (auto* lens : {&v6_lens, &long_lens}) {
      std::sort(lens->begin(), lens->end(), std::greater<>());
      lens->erase(std::unique(lens->begin(), lens->end()), lens->end());
    }
    std::copy(v6_lens.begin(), v6_lens.end(), out.meta.v6_lens);
    out.meta.v6_nlens = static_cast<std::uint32_t>(v6_lens.size());
    out.meta.v6_first_short = static_cast<std::uint32_t>(
        std::find_if(v6_lens.begin(), v6_lens.end(), [](std::uint8_t l) { return l < 32; }) - v6_lens.begin());
    // The /32 filter: ~16 bits per prefix of length 32 or more (6% false
    // positives), in whole 512-bit blocks.
    std::size_t long6 = 0;
    for (const Node* n : pfx) long6 += n->item->family == 6 && n->item->len >= 32;
    if (long6) {
      std::size_t bits = std::bit_ceil(std::max<std::size_t>(4096, 16 * long6));
      out.v6_filter.assign(bits / 64, 0);
      out.meta.v6_filter_mask = static_cast<std::uint32_t>(bits - 1);
      for (const Node* n : pfx) {
        if (n->item->family != 6 || n->item->len < 32) continue;
        std::uint32_t w0 = htonl(static_cast<std::uint32_t>(n->item->hi >> 32));
        std::uint32_t bit = v6_filter_bit(w0, seed, out.meta.v6_filter_mask);
        out.v6_filter[bit / 64] |= std::uint64_t{1} << (bit % 64);
      }
    }
    std::copy(long_lens.begin(), long_lens.end(), out.meta.v4_long_lens);
    out.meta.v4_long_nlens = static_cast<std::uint32_t>(long_lens.size());
  }

  out.meta.n_rules = static_cast<std::uint32_t>(n_entries);
  out.meta.h4_buckets = static_cast<std::uint32_t>(out.h4.size());
  out.meta.v4_table = out.v4_entries().empty() ? 0 : 1;
  out.meta.h6_buckets = static_cast<std::uint32_t>(out.h6.size());
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
  out.reserve(entries.size());  // one allocation: growing by doubling peaks at 3x a 100k set's size
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (entries[i].action != GUARD_ACT_NONE) out.push_back(rule_from_entry(entries[i]));
  return out;
}

}  // namespace reflex::guard
