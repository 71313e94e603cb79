// Single-rule changes on the live generation (see Guard::upsert/remove).
//
// Safe against concurrent packets because every change is published by one
// aligned store after everything it points to is written: a new entry is
// complete before the hash slot that leads to it gets its head; a removed
// entry only changes its action byte. Writers are serialised by the pin
// directory's flock, like whole-set swaps.
#include "guard/compiler.h"
#include "guard/guard.h"

#include <arpa/inet.h>

#include <chrono>
#include <cstring>

namespace reflex::guard {
namespace {

template <class T>
struct Mapped {
  Fd fd;
  MapMemory mem;
  std::size_t n = 0;
  std::span<T> span() const { return {mem.as<T>(), n}; }
};

template <class T>
Result<Mapped<T>> map_inner(int outer_fd, std::uint32_t gen, bool writable, const char* what) {
  Mapped<T> m;
  auto fd = inner_map(outer_fd, gen);
  if (!fd) return fd.error();
  if (!fd->valid()) return m;
  auto info = map_info(fd->get());
  if (!info) return info.error();
  auto mem = MapMemory::map(fd->get(), std::size_t{info->max_entries} * sizeof(T), writable, what);
  if (!mem) return mem.error();
  m.fd = std::move(*fd);
  m.mem = std::move(*mem);
  m.n = info->max_entries;
  return m;
}

std::uint32_t chain_length(std::span<const guard_rule> rules, std::uint32_t head) {
  std::uint32_t n = 0;
  for (std::uint32_t i = head; i && i < rules.size() && n <= GUARD_MAX_CHAIN; i = rules[i].next) ++n;
  return n;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::size_t Guard::rule_count() const {
  const auto& m = active_meta();
  std::uint32_t n = __atomic_load_n(&m.n_rules, __ATOMIC_ACQUIRE);
  std::uint32_t off = __atomic_load_n(&m.n_disabled, __ATOMIC_ACQUIRE);
  return n > off + 1 ? n - 1 - off : 0;
}

// Returns true if the rule went in, false if the live tables cannot take it
// in place (the caller then swaps the whole set).
Result<bool> Guard::try_add_in_place(const GuardRule& rule) {
  if (!rule.prefix.is_host()) return false;
  auto* c = ctl_mem_.as<guard_ctl>();
  std::uint32_t gen = __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) & 1;
  guard_gen_meta& meta = c->meta[gen];
  if (rule_count() + 1 > max_rules_) return false;  // the swap path reports the limit

  auto rules = map_inner<guard_rule>(maps_[kOuterRules].get(), gen, true, "rules");
  if (!rules) return rules.error();
  auto h4 = map_inner<guard_h4_bucket>(maps_[kOuterH4].get(), gen, true, "IPv4 hash");
  if (!h4) return h4.error();
  auto h6 = map_inner<guard_h6_bucket>(maps_[kOuterH6].get(), gen, true, "prefix hash");
  if (!h6) return h6.error();
  std::uint32_t slot = meta.n_rules;
  if (rules->n == 0 || slot >= rules->n) return false;  // no spare slot

  // The covering prefix's chain, as a lookup without this host would find it.
  std::uint32_t be = 0, w6[4] = {};
  std::uint32_t cover = 0;
  if (rule.prefix.family == 4) {
    if (h4->n == 0 || meta.h4_buckets != h4->n) return false;
    std::memcpy(&be, rule.prefix.addr.data(), 4);
    if (h4_find(h4->span(), meta.seed, be)) return false;  // the host has rules: relink by swapping
    using Block = std::array<std::uint32_t, GUARD_V4_CHUNK>;  // one array element (see table_entry())
    auto v4t = map_inner<Block>(maps_[kOuterV4t].get(), gen, false, "IPv4 table");
    if (!v4t) return v4t.error();
    std::span<const std::uint32_t> table(v4t->mem.as<std::uint32_t>(), v4t->n * GUARD_V4_CHUNK);
    cover = meta.v4_table ? v4_prefix_head(table, h6->span(), meta, ntohl(be)) : 0;
  } else {
    // Only where the datapath already probes /128: adding a length to the
    // list in place would not be one store.
    if (h6->n == 0 || meta.h6_buckets != h6->n || meta.v6_nlens == 0 || meta.v6_lens[0] != 128) return false;
    std::memcpy(w6, rule.prefix.addr.data(), 16);
    if (h6_find(h6->span(), meta.seed, w6, 128)) return false;
    cover = v6_prefix_head(h6->span(), meta, rule.prefix.addr, 128);
    // The /32 filter must let this source through to the /128 probe.
    if (meta.v6_filter_mask) {
      using Block = std::array<std::uint64_t, GUARD_V6_FILTER_BLOCK_BITS / 64>;  // one array element
      auto filter = map_inner<Block>(maps_[kOuterV6f].get(), gen, true, "IPv6 filter");
      if (!filter) return filter.error();
      std::uint32_t bit = v6_filter_bit(w6[0], meta.seed, meta.v6_filter_mask);
      if (filter->n * GUARD_V6_FILTER_BLOCK_BITS <= bit) return false;
      __atomic_fetch_or(filter->mem.as<std::uint64_t>() + bit / 64, std::uint64_t{1} << (bit % 64), __ATOMIC_RELEASE);
    }
  }
  if (1 + chain_length(rules->span(), cover) > GUARD_MAX_CHAIN) return false;  // the swap path names the problem

  // 1. The entry, complete, in a slot nothing points to yet.
  guard_rule e = make_rule_entry(rule);
  e.next = cover;
  if (e.action == GUARD_ACT_ALLOW || (cover && (rules->span()[cover].flags & GUARD_RF_ALLOW_AFTER)))
    e.flags |= GUARD_RF_ALLOW_AFTER;
  rules->span()[slot] = e;
  __atomic_thread_fence(__ATOMIC_RELEASE);

  // 2. Publish: the key first, then the head, in the first free slot on the probe path.
  bool placed = false;
  if (rule.prefix.family == 4) {
    std::uint32_t mask = static_cast<std::uint32_t>(h4->n - 1), home = guard_hash_v4(be, meta.seed);
    for (std::uint32_t p = 0; p < GUARD_MAX_PROBE && !placed; ++p) {
      auto& bk = h4->span()[(home + p) & mask];
      for (int i = 0; i < GUARD_H4_SLOTS && !placed; ++i) {
        if (bk.head[i]) continue;
        __atomic_store_n(&bk.addr[i], be, __ATOMIC_RELAXED);
        __atomic_store_n(&bk.head[i], slot, __ATOMIC_RELEASE);
        placed = true;
      }
    }
  } else {
    std::uint32_t mask = static_cast<std::uint32_t>(h6->n - 1), home = guard_hash_v6(w6, 128, meta.seed);
    for (std::uint32_t p = 0; p < GUARD_MAX_PROBE && !placed; ++p) {
      auto& bk = h6->span()[(home + p) & mask];
      for (auto& s : bk.slot) {
        if (s.head) continue;
        std::memcpy(s.addr, w6, 16);
        __atomic_store_n(&s.plen, 128u, __ATOMIC_RELAXED);
        __atomic_store_n(&s.head, slot, __ATOMIC_RELEASE);
        placed = true;
        break;
      }
    }
  }
  if (!placed) return false;  // probe path full; the unreferenced slot is reclaimed by the swap
  __atomic_store_n(&meta.n_rules, slot + 1, __ATOMIC_RELEASE);
  __atomic_fetch_add(&meta.version, 1, __ATOMIC_RELEASE);
  return true;
}

Result<UpdateReport> Guard::upsert(const GuardRule& rule) {
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = validate_rule(rule); !s) return s.error();
  if (auto s = lock(); !s) return s.error();
  bool exists = count_matching([&](const GuardRule& r) { return r.key() == rule.key(); }) > 0;
  if (!exists) {
    auto in_place = try_add_in_place(rule);
    if (!in_place) return in_place.error();
    if (*in_place) return UpdateReport{true, active_meta().version, 1, ms_since(t0)};
  }
  auto rules = this->rules();
  if (!rules) return rules.error();
  bool replaced = false;
  for (auto& r : *rules)
    if (r.key() == rule.key()) {
      r = rule;
      replaced = true;
    }
  if (!replaced) rules->push_back(rule);
  auto rep = replace(*rules);
  if (!rep) return rep.error();
  return UpdateReport{false, rep->version, 1, ms_since(t0)};
}

std::size_t Guard::count_matching(const std::function<bool(const GuardRule&)>& match) const {
  auto entries = active_entries();
  if (!entries) return 0;
  std::size_t n = 0;
  for (std::size_t i = 1; i < entries->size(); ++i)
    if ((*entries)[i].action != GUARD_ACT_NONE && match(rule_from_entry((*entries)[i]))) ++n;
  return n;
}

Result<UpdateReport> Guard::remove(const std::function<bool(const GuardRule&)>& match) {
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = lock(); !s) return s.error();
  auto* c = ctl_mem_.as<guard_ctl>();
  std::uint32_t gen = __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) & 1;
  auto rules = map_inner<guard_rule>(maps_[kOuterRules].get(), gen, true, "rules");
  if (!rules) return rules.error();
  std::size_t removed = 0;
  for (std::size_t i = 1; i < rules->n; ++i) {
    guard_rule& e = rules->span()[i];
    if (e.action == GUARD_ACT_NONE || !match(rule_from_entry(e))) continue;
    __atomic_store_n(&e.action, static_cast<std::uint8_t>(GUARD_ACT_NONE), __ATOMIC_RELEASE);
    ++removed;
  }
  if (removed) {
    __atomic_fetch_add(&c->meta[gen].n_disabled, static_cast<std::uint32_t>(removed), __ATOMIC_RELEASE);
    __atomic_fetch_add(&c->meta[gen].version, 1, __ATOMIC_RELEASE);
  }
  return UpdateReport{true, c->meta[gen].version, removed, ms_since(t0)};
}

}  // namespace reflex::guard
