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

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <optional>
#include <unordered_set>

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

namespace {

// The active generation's tables, mapped once for a batch of changes.
struct LiveTables {
  using V4Block = std::array<std::uint32_t, GUARD_V4_CHUNK>;                   // one array element (see table_entry())
  using V6Block = std::array<std::uint64_t, GUARD_V6_FILTER_BLOCK_BITS / 64>;  // one array element
  Mapped<guard_rule> rules;
  Mapped<guard_h4_bucket> h4;
  Mapped<guard_h6_bucket> h6;
  Mapped<V4Block> v4t;
  Mapped<V6Block> v6f;

  static Result<LiveTables> map(const Guard& g, std::uint32_t gen) {
    LiveTables t;
    auto rules = map_inner<guard_rule>(g.map_fd(Guard::kOuterRules), gen, true, "rules");
    if (!rules) return rules.error();
    auto h4 = map_inner<guard_h4_bucket>(g.map_fd(Guard::kOuterH4), gen, true, "IPv4 hash");
    if (!h4) return h4.error();
    auto h6 = map_inner<guard_h6_bucket>(g.map_fd(Guard::kOuterH6), gen, true, "prefix hash");
    if (!h6) return h6.error();
    auto v4t = map_inner<V4Block>(g.map_fd(Guard::kOuterV4t), gen, false, "IPv4 table");
    if (!v4t) return v4t.error();
    auto v6f = map_inner<V6Block>(g.map_fd(Guard::kOuterV6f), gen, true, "IPv6 filter");
    if (!v6f) return v6f.error();
    t.rules = std::move(*rules);
    t.h4 = std::move(*h4);
    t.h6 = std::move(*h6);
    t.v4t = std::move(*v4t);
    t.v6f = std::move(*v6f);
    return t;
  }

  std::span<const std::uint32_t> v4_table() const {
    return {v4t.mem.as<std::uint32_t>(), v4t.n * GUARD_V4_CHUNK};
  }

  // The live entry holding exactly this key, or 0. Walks the chain a packet
  // from the key's own address would walk, which passes through the key's
  // entries if they exist.
  std::uint32_t find(const RuleKey& k, const guard_gen_meta& meta) const {
    const Prefix& p = k.prefix;
    std::uint32_t head = 0;
    if (p.family == 4) {
      std::uint32_t be;
      std::memcpy(&be, p.addr.data(), 4);
      if (p.len == 32) head = h4_find(h4.span(), meta.seed, be);
      else if (p.len > 24) {
        std::uint32_t w[4] = {be, 0, 0, 0};
        head = h6_find(h6.span(), meta.seed, w, GUARD_V4_PLEN_BASE + p.len);
      } else if (meta.v4_table) {
        head = v4_prefix_head(v4_table(), h6.span(), meta, ntohl(be));
      }
    } else {
      std::uint32_t w[4];
      std::memcpy(w, p.addr.data(), 16);
      head = h6_find(h6.span(), meta.seed, w, p.len);
    }
    const guard_rule want = make_rule_entry(GuardRule{k.prefix, k.l4});
    constexpr std::uint8_t kL4 = GUARD_RF_PROTO | GUARD_RF_PORT;
    auto r = rules.span();
    std::uint32_t n = 0;
    for (std::uint32_t i = head; i && i < r.size() && n++ < GUARD_MAX_CHAIN; i = r[i].next) {
      const guard_rule& e = r[i];
      if (e.action == GUARD_ACT_NONE || e.family != want.family || e.plen != want.plen) continue;
      if ((e.flags & kL4) != (want.flags & kL4) || e.proto != want.proto || e.port != want.port) continue;
      if (std::memcmp(e.addr, want.addr, 16) == 0) return i;
    }
    return 0;
  }

  // Adds a host rule for an address with no rule yet, without touching what
  // packets read until one store publishes it. False if these tables cannot
  // take it in place (no spare slot, a full probe path, a chain too deep).
  bool add_host(const GuardRule& rule, guard_gen_meta& meta) {
    if (!rule.prefix.is_host()) return false;
    std::uint32_t slot = meta.n_rules;
    if (rules.n == 0 || slot >= rules.n) return false;  // no spare slot

    // The covering prefix's chain, as a lookup without this host would find it.
    std::uint32_t be = 0, w6[4] = {};
    std::uint32_t cover = 0;
    if (rule.prefix.family == 4) {
      if (h4.n == 0 || meta.h4_buckets != h4.n) return false;
      std::memcpy(&be, rule.prefix.addr.data(), 4);
      if (h4_find(h4.span(), meta.seed, be)) return false;  // the host has rules: relink by swapping
      cover = meta.v4_table ? v4_prefix_head(v4_table(), h6.span(), meta, ntohl(be)) : 0;
    } else {
      // Only where the datapath already probes /128: adding a length to the
      // list in place would not be one store.
      if (h6.n == 0 || meta.h6_buckets != h6.n || meta.v6_nlens == 0 || meta.v6_lens[0] != 128) return false;
      std::memcpy(w6, rule.prefix.addr.data(), 16);
      if (h6_find(h6.span(), meta.seed, w6, 128)) return false;
      cover = v6_prefix_head(h6.span(), meta, rule.prefix.addr, 128);
      // The /32 filter must let this source through to the /128 probe.
      if (meta.v6_filter_mask) {
        std::uint32_t bit = v6_filter_bit(w6[0], meta.seed, meta.v6_filter_mask);
        if (v6f.n * GUARD_V6_FILTER_BLOCK_BITS <= bit) return false;
        __atomic_fetch_or(v6f.mem.as<std::uint64_t>() + bit / 64, std::uint64_t{1} << (bit % 64), __ATOMIC_RELEASE);
      }
    }
    if (1 + chain_length(rules.span(), cover) > GUARD_MAX_CHAIN) return false;  // the swap path names the problem

    // 1. The entry, complete, in a slot nothing points to yet.
    guard_rule e = make_rule_entry(rule);
    e.next = cover;
    if (e.action == GUARD_ACT_ALLOW || (cover && (rules.span()[cover].flags & GUARD_RF_ALLOW_AFTER)))
      e.flags |= GUARD_RF_ALLOW_AFTER;
    rules.span()[slot] = e;
    __atomic_thread_fence(__ATOMIC_RELEASE);

    // 2. Publish: the key first, then the head, in the first free slot on the probe path.
    bool placed = false;
    if (rule.prefix.family == 4) {
      std::uint32_t mask = static_cast<std::uint32_t>(h4.n - 1), home = guard_hash_v4(be, meta.seed);
      for (std::uint32_t p = 0; p < GUARD_MAX_PROBE && !placed; ++p) {
        auto& bk = h4.span()[(home + p) & mask];
        for (int i = 0; i < GUARD_H4_SLOTS && !placed; ++i) {
          if (bk.head[i]) continue;
          __atomic_store_n(&bk.addr[i], be, __ATOMIC_RELAXED);
          __atomic_store_n(&bk.head[i], slot, __ATOMIC_RELEASE);
          placed = true;
        }
      }
    } else {
      std::uint32_t mask = static_cast<std::uint32_t>(h6.n - 1), home = guard_hash_v6(w6, 128, meta.seed);
      for (std::uint32_t p = 0; p < GUARD_MAX_PROBE && !placed; ++p) {
        auto& bk = h6.span()[(home + p) & mask];
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
    return true;
  }

  // Switches an entry off: one store of its action byte; the walk passes over it.
  void disable(std::uint32_t slot, guard_gen_meta& meta) {
    __atomic_store_n(&rules.span()[slot].action, static_cast<std::uint8_t>(GUARD_ACT_NONE), __ATOMIC_RELEASE);
    __atomic_fetch_add(&meta.n_disabled, 1u, __ATOMIC_RELEASE);
  }
};

}  // namespace

// Returns true if the rule went in, false if the live tables cannot take it
// in place (the caller then swaps the whole set).
Result<bool> Guard::try_add_in_place(const GuardRule& rule) {
  if (!rule.prefix.is_host()) return false;
  auto* c = ctl_mem_.as<guard_ctl>();
  std::uint32_t gen = __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) & 1;
  guard_gen_meta& meta = c->meta[gen];
  if (rule_count() + 1 > max_rules_) return false;  // the swap path reports the limit
  auto t = LiveTables::map(*this, gen);
  if (!t) return t.error();
  if (!t->add_host(rule, meta)) return false;
  __atomic_fetch_add(&meta.version, 1, __ATOMIC_RELEASE);
  return true;
}

namespace {

struct KeyHash {
  std::size_t operator()(const RuleKey& k) const { return rule_uid(k); }
};

// Two entries that differ at most in their expiry (and chain links).
bool same_but_expiry(guard_rule a, guard_rule b) {
  constexpr std::uint8_t kKeep = GUARD_RF_PROTO | GUARD_RF_PORT;
  a.flags &= kKeep;
  b.flags &= kKeep;
  a.next = b.next = 0;
  a.expires_ns = b.expires_ns = 0;
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

}  // namespace

Result<std::optional<UpdateReport>> Guard::apply_in_place(const RuleChanges& ch) {
  const std::size_t n_changes = ch.upsert.size() + ch.remove.size();
  // Past this, one swap is cheaper than probing for every change.
  if (n_changes > std::max<std::size_t>(64, rule_count() / 16)) return std::optional<UpdateReport>();
  auto* c = ctl_mem_.as<guard_ctl>();
  std::uint32_t gen = __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) & 1;
  guard_gen_meta& meta = c->meta[gen];
  auto t = LiveTables::map(*this, gen);
  if (!t) return t.error();
  if (t->rules.n == 0) return std::optional<UpdateReport>();

  // Sort every change into what it needs, touching nothing yet.
  std::vector<std::uint32_t> off;                            // entries to switch off
  std::vector<std::pair<std::uint32_t, std::uint64_t>> exp;  // entries whose expiry changes
  std::vector<const GuardRule*> add;
  std::unordered_set<RuleKey, KeyHash> upserted;
  for (auto it = ch.upsert.rbegin(); it != ch.upsert.rend(); ++it) {  // the last change of a key wins
    if (!upserted.insert(it->key()).second) continue;
    std::uint32_t slot = t->find(it->key(), meta);
    if (!slot) {
      if (!it->prefix.is_host()) return std::optional<UpdateReport>();
      add.push_back(&*it);
      continue;
    }
    guard_rule want = make_rule_entry(*it);
    if (!same_but_expiry(want, t->rules.span()[slot])) return std::optional<UpdateReport>();
    if (t->rules.span()[slot].expires_ns != want.expires_ns) exp.emplace_back(slot, want.expires_ns);
  }
  for (const auto& k : ch.remove) {
    if (upserted.count(k)) continue;
    if (std::uint32_t slot = t->find(k, meta)) off.push_back(slot);
  }
  std::sort(off.begin(), off.end());
  off.erase(std::unique(off.begin(), off.end()), off.end());
  if (rule_count() + add.size() > max_rules_) return std::optional<UpdateReport>();  // the swap reports the limit
  if (meta.n_rules + add.size() > t->rules.n) return std::optional<UpdateReport>();  // not enough spare slots

  // Additions first: the only step that can find no room. If one does, the
  // ones made are switched off again and the caller swaps instead.
  std::vector<std::uint32_t> added;
  for (const GuardRule* r : add) {
    std::uint32_t slot = meta.n_rules;
    if (!t->add_host(*r, meta)) {
      for (std::uint32_t a : added) t->disable(a, meta);
      return std::optional<UpdateReport>();
    }
    added.push_back(slot);
  }
  for (auto [slot, e] : exp) __atomic_store_n(&t->rules.span()[slot].expires_ns, e, __ATOMIC_RELEASE);
  for (std::uint32_t slot : off) t->disable(slot, meta);
  if (!added.empty() || !exp.empty() || !off.empty()) __atomic_fetch_add(&meta.version, 1, __ATOMIC_RELEASE);
  UpdateReport rep;
  rep.in_place = true;
  rep.version = meta.version;
  rep.changed = added.size() + exp.size() + off.size();
  rep.rules = rule_count();
  return std::optional<UpdateReport>(rep);
}

Result<UpdateReport> Guard::apply(const RuleChanges& ch) {
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& r : ch.upsert)
    if (auto s = validate_rule(r); !s) return s.error();
  auto lock = lock_mutations();
  if (!lock) return lock.error();
  if (ch.empty()) return UpdateReport{true, active_meta().version, 0, ms_since(t0), rule_count()};
  auto in_place = apply_in_place(ch);
  if (!in_place) return in_place.error();
  if (*in_place) {
    (*in_place)->ms = ms_since(t0);
    return **in_place;
  }
  // One swap of the current rules (whoever put them there) with the changes made.
  auto cur = rules();
  if (!cur) return cur.error();
  // Keys sorted once rather than hashed one by one: a plan may carry a
  // million changes, and two hash sets of a million nodes cost more than
  // the compile that follows.
  std::vector<std::uint32_t> up(ch.upsert.size());
  std::iota(up.begin(), up.end(), 0u);
  // The executor hands its changes over in key order already: checked in one pass, not sorted again.
  auto by_key = [&](std::uint32_t a, std::uint32_t b) { return ch.upsert[a].key() < ch.upsert[b].key(); };
  if (!std::is_sorted(up.begin(), up.end(), by_key)) std::stable_sort(up.begin(), up.end(), by_key);
  std::vector<RuleKey> drop;
  drop.reserve(ch.remove.size() + ch.upsert.size());
  drop.insert(drop.end(), ch.remove.begin(), ch.remove.end());
  for (const auto& r : ch.upsert) drop.push_back(r.key());
  if (!std::is_sorted(drop.begin(), drop.end())) std::sort(drop.begin(), drop.end());
  std::vector<GuardRule> next;
  next.reserve(cur->size() + ch.upsert.size());
  for (auto& r : *cur)
    if (!std::binary_search(drop.begin(), drop.end(), r.key())) next.push_back(std::move(r));
  for (std::size_t i = 0; i < up.size(); ++i)  // the last change of a key wins
    if (i + 1 == up.size() || ch.upsert[up[i]].key() < ch.upsert[up[i + 1]].key()) next.push_back(ch.upsert[up[i]]);
  auto rep = replace(next);
  if (!rep) return rep.error();
  return UpdateReport{false, rep->version, ch.upsert.size() + ch.remove.size(), ms_since(t0), rep->rules};
}

Result<UpdateReport> Guard::upsert(const GuardRule& rule) {
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = validate_rule(rule); !s) return s.error();
  auto lock = lock_mutations();
  if (!lock) return lock.error();
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
  auto lock = lock_mutations();
  if (!lock) return lock.error();
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
