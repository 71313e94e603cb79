#include "execute/desired_edit.h"

#include "common/huge_pages.h"
#include "plan/action_text.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <string_view>
#include <tuple>

namespace reflex::execute {

std::size_t PrefixHash::operator()(const Prefix& p) const {
  static_assert(sizeof(Prefix) == 18, "Prefix is hashed as its bytes");
  return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(&p), sizeof(Prefix)));
}

namespace {
std::size_t key_hash(const Prefix& p, const L4Match& l4) {
  std::size_t h = PrefixHash()(p);
  const std::size_t l = (l4.proto ? 0x100u | *l4.proto : 0u) << 17 | (l4.port ? 0x10000u | *l4.port : 0u);
  return h ^ (l * 0x9e3779b97f4a7c15ull);
}
}  // namespace

std::size_t RuleKeyHash::operator()(const DesiredRule& k) const { return key_hash(k.prefix, k.l4); }
std::size_t RuleEdits::KeyHash::operator()(const Key& k) const { return key_hash(k.prefix, k.l4); }

std::optional<DesiredRule> find_rule(const std::vector<DesiredRule>& rules, const DesiredRule& key) {
  auto it = std::lower_bound(rules.begin(), rules.end(), key, rule_key_less);
  if (it != rules.end() && !rule_key_less(key, *it)) return *it;
  return std::nullopt;
}

std::optional<DesiredRule> RuleEdits::get(const DesiredRule& key) const {
  if (auto it = latest_.find(Key{key.prefix, key.l4}); it != latest_.end()) return pending_[it->second].second;
  return find_rule(list(), key);
}

std::optional<DesiredRule> RuleEdits::set(const DesiredRule& key, std::optional<DesiredRule> rule) {
  auto prev = get(key);
  if (covers_) {
    if (prev)
      for (const auto& h : prev->absorbed) covers_->erase(h);
    if (rule)
      for (const auto& h : rule->absorbed) (*covers_)[h] = *rule;
  }
  count_ = count_ + (rule ? 1 : 0) - (prev ? 1 : 0);
  DesiredRule k;
  k.prefix = key.prefix;
  k.l4 = key.l4;
  latest_[Key{key.prefix, key.l4}] = static_cast<std::uint32_t>(pending_.size());
  pending_.emplace_back(std::move(k), std::move(rule));
  return prev;
}

std::optional<DesiredRule> RuleEdits::cover_of(const Prefix& host) {
  if (!covers_) {
    flush();
    covers_.emplace();
    for (const auto& r : list())
      for (const auto& h : r.absorbed) (*covers_)[h] = r;
  }
  auto it = covers_->find(host);
  if (it == covers_->end()) return std::nullopt;
  return get(it->second);
}

void RuleEdits::flush() {
  if (pending_.empty()) return;
  // The last edit of each key wins: order by key, then by when it was made.
  std::vector<std::size_t> order(pending_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return rule_key_less(pending_[a].first, pending_[b].first); });
  std::vector<DesiredRule> merged;
  merged.reserve(count_);
  // From `from`, copied; from our own list, moved.
  auto merge = [&](auto& src) {
    auto it = src.begin();
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& [key, rule] = pending_[order[i]];
      if (i + 1 < order.size() && !rule_key_less(key, pending_[order[i + 1]].first)) continue;  // a later edit of it
      while (it != src.end() && rule_key_less(*it, key)) merged.push_back(std::move(*it++));
      if (it != src.end() && !rule_key_less(key, *it)) ++it;  // replaced or removed
      if (rule) merged.push_back(*rule);
    }
    while (it != src.end()) merged.push_back(std::move(*it++));
  };
  if (from_) merge(*std::exchange(from_, nullptr));
  else merge(rules_);
  rules_ = std::move(merged);
  pending_.clear();
  latest_.clear();  // it indexes pending_; the list holds every edit now
}

std::vector<DesiredRule> RuleEdits::set_batch(const std::vector<Prefix>& keys, const L4Match& l4,
                                              const std::optional<DesiredRule>& rule) {
  flush();
  auto before = from_ ? execute::set_batch(*std::exchange(from_, nullptr), rules_, keys, l4, rule)
                      : execute::set_batch(rules_, keys, l4, rule);
  count_ = rules_.size();
  covers_.reset();  // rebuilt on next use: a batch may have replaced a cover
  return before;
}

std::size_t RuleEdits::restore_batch(const std::vector<Prefix>& keys, const L4Match& l4,
                                     const std::optional<DesiredRule>& after, const std::vector<DesiredRule>& before) {
  rules();  // flushed, and `from` copied if need be
  std::size_t n = execute::restore_batch(rules_, keys, l4, after, before);
  count_ = rules_.size();
  covers_.reset();
  return n;
}

namespace {

// Sorts integers below 2^39 in three passes of 13 bits (least significant
// first): a million keys in a few milliseconds, where a comparison sort
// takes tens.
void radix_sort_39(std::vector<std::uint64_t>& v) {
  constexpr unsigned kBits = 13, kPasses = 3;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  std::vector<std::uint64_t> tmp;
  reserve_huge(tmp, v.size());
  tmp.resize(v.size());
  std::vector<std::uint32_t> count(kBuckets + 1);
  for (unsigned pass = 0; pass < kPasses; ++pass) {
    const unsigned shift = pass * kBits;
    std::fill(count.begin(), count.end(), 0u);
    for (auto x : v) ++count[((x >> shift) & (kBuckets - 1)) + 1];
    std::partial_sum(count.begin(), count.end(), count.begin());
    for (auto x : v) tmp[count[(x >> shift) & (kBuckets - 1)]++] = x;
    v.swap(tmp);
  }
}

}  // namespace

std::vector<Prefix> batch_keys(const RuleBatch& b) {
  const auto& in = b.prefixes;
  std::vector<Prefix> keys;
  if (std::all_of(in.begin(), in.end(), [](const Prefix& p) { return p.family == 4 && p.len <= 32; })) {
    // IPv4 only (a feed, a block list): each key masked into one integer in
    // the prefixes' order (length, then address), sorted as integers.
    std::vector<std::uint64_t> packed;
    reserve_huge(packed, in.size());
    for (const auto& p : in) {
      const std::uint32_t a = std::uint32_t{p.addr[0]} << 24 | std::uint32_t{p.addr[1]} << 16 |
                              std::uint32_t{p.addr[2]} << 8 | p.addr[3];
      const std::uint32_t mask = p.len == 0 ? 0 : ~std::uint32_t{0} << (32 - p.len);
      packed.push_back(std::uint64_t{p.len} << 32 | (a & mask));
    }
    static_assert(32 + 6 <= 39, "a length and an IPv4 address fit the radix sort's 39 bits");
    if (!std::is_sorted(packed.begin(), packed.end())) radix_sort_39(packed);
    packed.erase(std::unique(packed.begin(), packed.end()), packed.end());
    reserve_huge(keys, packed.size());
    for (auto k : packed) keys.push_back(Prefix::v4(static_cast<std::uint32_t>(k), static_cast<std::uint8_t>(k >> 32)));
    return keys;
  }
  keys = in;
  for (auto& p : keys) mask_prefix(p);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::size_t batch_key_count(const RuleBatch& b) {
  const auto& in = b.prefixes;
  bool keys = true;
  for (std::size_t i = 0; i < in.size() && keys; ++i) {
    Prefix m = in[i];
    mask_prefix(m);
    keys = m == in[i] && (i == 0 || in[i - 1] < in[i]);
  }
  return keys ? in.size() : batch_keys(b).size();
}

namespace {

DesiredRule probe_of(const Prefix& p, const L4Match& l4) {
  DesiredRule k;
  k.prefix = p;
  k.l4 = l4;
  return k;
}

// What the batch put at a key: the same effect (verb, rate, action) as `after`.
bool holds_batch(const DesiredRule& r, const DesiredRule& after) {
  return r.verb == after.verb && r.pps == after.pps && r.burst == after.burst && r.action_id == after.action_id &&
         r.expires_ns == after.expires_ns;
}

// Walks the sorted rule list and the sorted keys together, building the new
// list: at each key, fn(the rule there or nullptr) says what it holds after.
// A const list is copied from (it is somebody else's: the state the plan
// started from), an owned one moved from.
template <class Vec, class Fn>
std::vector<DesiredRule> merge_keys(Vec& rules, const std::vector<Prefix>& keys, const L4Match& l4, Fn fn) {
  std::vector<DesiredRule> out;
  reserve_huge(out, rules.size() + keys.size());
  auto it = rules.begin();
  for (const auto& k : keys) {
    const DesiredRule probe = probe_of(k, l4);
    while (it != rules.end() && rule_key_less(*it, probe)) out.push_back(std::move(*it++));
    auto* here = it != rules.end() && !rule_key_less(probe, *it) ? &*it : nullptr;
    std::optional<DesiredRule> next = fn(k, here);
    if (here) ++it;
    if (next) out.push_back(std::move(*next));
  }
  while (it != rules.end()) out.push_back(std::move(*it++));
  return out;
}

template <class Vec>
std::vector<DesiredRule> merge_batch(Vec& rules, std::vector<DesiredRule>& before, const std::vector<Prefix>& keys,
                                     const L4Match& l4, const std::optional<DesiredRule>& rule) {
  reserve_huge(before, std::min(rules.size(), keys.size()));
  return merge_keys(rules, keys, l4, [&](const Prefix& k, auto* here) -> std::optional<DesiredRule> {
    if (!rule) {
      if (!here) return std::nullopt;
      if (here->verb == RuleVerb::allow) return std::move(*here);
      before.push_back(std::move(*here));
      return std::nullopt;
    }
    if (here) before.push_back(std::move(*here));
    DesiredRule r = *rule;
    r.prefix = k;
    r.l4 = l4;
    return r;
  });
}

}  // namespace

std::vector<DesiredRule> set_batch(std::vector<DesiredRule>& rules, const std::vector<Prefix>& keys,
                                   const L4Match& l4, const std::optional<DesiredRule>& rule) {
  std::vector<DesiredRule> before;
  rules = merge_batch(rules, before, keys, l4, rule);
  return before;
}

std::vector<DesiredRule> set_batch(const std::vector<DesiredRule>& from, std::vector<DesiredRule>& to,
                                   const std::vector<Prefix>& keys, const L4Match& l4,
                                   const std::optional<DesiredRule>& rule) {
  std::vector<DesiredRule> before;
  to = merge_batch(from, before, keys, l4, rule);
  return before;
}

std::size_t restore_batch(std::vector<DesiredRule>& rules, const std::vector<Prefix>& keys, const L4Match& l4,
                          const std::optional<DesiredRule>& after, const std::vector<DesiredRule>& before) {
  std::size_t restored = 0;
  auto b = before.begin();
  rules = merge_keys(rules, keys, l4, [&](const Prefix& k, DesiredRule* here) -> std::optional<DesiredRule> {
    const DesiredRule probe = probe_of(k, l4);
    while (b != before.end() && rule_key_less(*b, probe)) ++b;
    const DesiredRule* was = b != before.end() && !rule_key_less(probe, *b) ? &*b : nullptr;
    // Ours: the key still holds what the batch put there (a removal: nothing).
    const bool ours = after ? here && holds_batch(*here, *after) : !here;
    if (!ours) return here ? std::optional<DesiredRule>(std::move(*here)) : std::nullopt;
    if (was) {
      ++restored;
      return *was;
    }
    if (here) ++restored;  // a key the batch made: it goes
    return std::nullopt;
  });
  return restored;
}

bool batch_in_force(const std::vector<DesiredRule>& rules, const std::vector<Prefix>& keys, const L4Match& l4,
                    const std::optional<DesiredRule>& after) {
  auto it = rules.begin();
  for (const auto& k : keys) {
    const DesiredRule probe = probe_of(k, l4);
    while (it != rules.end() && rule_key_less(*it, probe)) ++it;
    const bool here = it != rules.end() && !rule_key_less(probe, *it);
    if (after ? here && holds_batch(*it, *after) : !here) return true;
  }
  return false;
}

std::vector<ActionSpec> batch_inverse(const std::string& iface, const std::vector<Prefix>& keys, const L4Match& l4,
                                      const std::vector<DesiredRule>& before, bool removed) {
  std::vector<ActionSpec> out;
  if (!removed) {
    RuleBatch fresh{iface, {}, l4};
    fresh.remove = true;
    reserve_huge(fresh.prefixes, keys.size() - std::min(keys.size(), before.size()));
    if (before.empty()) {
      fresh.prefixes.assign(keys.begin(), keys.end());
    } else {
      auto b = before.begin();
      for (const auto& k : keys) {
        while (b != before.end() && b->prefix < k) ++b;
        if (b == before.end() || b->prefix != k) fresh.prefixes.push_back(k);
      }
    }
    if (!fresh.prefixes.empty()) out.push_back(std::move(fresh));
  }
  // The rules that were there, one batch per kind (allow rules: no action makes one).
  std::map<std::tuple<RuleVerb, std::uint32_t, std::uint32_t>, RuleBatch> back;
  std::map<std::tuple<RuleVerb, std::uint32_t, std::uint32_t>, std::size_t> sizes;
  for (const auto& r : before)
    if (r.verb != RuleVerb::allow) ++sizes[{r.verb, r.pps, r.burst}];
  for (const auto& [k, n] : sizes) back[k].prefixes.reserve(n);
  for (const auto& r : before) {
    if (r.verb == RuleVerb::allow) continue;
    auto& bt = back[{r.verb, r.pps, r.burst}];
    if (bt.prefixes.empty()) {
      auto room = std::move(bt.prefixes);
      bt = RuleBatch{iface, std::move(room), l4, r.verb, r.pps, r.burst, false};
    }
    bt.prefixes.push_back(r.prefix);
  }
  for (auto& [k, bt] : back) out.push_back(std::move(bt));
  return out;
}

std::vector<Cover> plan_covers(const AggregateRules& a, const std::vector<DesiredRule>& rules,
                               const std::string& action_id) {
  // Host rules of the verb, grouped by (cover, l4, rate).
  struct Cand {
    Prefix cover;
    const DesiredRule* host;
  };
  std::vector<Cand> cands;
  for (const auto& r : rules) {
    if (!r.prefix.is_host() || r.verb != a.verb || !r.absorbed.empty()) continue;
    Prefix c = r.prefix;
    c.len = c.family == 4 ? a.len_v4 : a.len_v6;
    mask_prefix(c);
    cands.push_back({c, &r});
  }
  auto group_less = [](const Cand& x, const Cand& y) {
    return std::tie(x.cover, x.host->l4, x.host->pps, x.host->burst) <
           std::tie(y.cover, y.host->l4, y.host->pps, y.host->burst);
  };
  std::stable_sort(cands.begin(), cands.end(), group_less);
  auto find = [&](const DesiredRule& key) -> const DesiredRule* {
    auto it = std::lower_bound(rules.begin(), rules.end(), key, rule_key_less);
    return it != rules.end() && !rule_key_less(key, *it) ? &*it : nullptr;
  };
  std::vector<Cover> out;
  for (std::size_t i = 0; i < cands.size();) {
    std::size_t j = i + 1;
    while (j < cands.size() && !group_less(cands[i], cands[j])) ++j;
    const Prefix& cover = cands[i].cover;
    const DesiredRule& first = *cands[i].host;
    const std::size_t n = j - i;
    const bool protected_range = std::any_of(a.keep_out.begin(), a.keep_out.end(), [&](const Prefix& k) {
      return k.contains(cover) || cover.contains(k);
    });
    DesiredRule key;
    key.prefix = cover;
    key.l4 = first.l4;
    const DesiredRule* existing = find(key);
    // An earlier cover of the same kind grows; any other rule at the prefix is left alone.
    const bool mergeable = existing && !existing->absorbed.empty() && existing->verb == first.verb &&
                           existing->pps == first.pps && existing->burst == first.burst;
    if (n >= a.min_hosts && !protected_range && (!existing || mergeable)) {
      Cover c;
      c.rule = key;
      c.rule.verb = first.verb;
      c.rule.pps = first.pps;
      c.rule.burst = first.burst;
      c.rule.action_id = action_id;
      bool forever = false;
      TimeNs last = 0;
      if (mergeable) {
        c.merged = *existing;
        c.rule.absorbed = existing->absorbed;
        forever = existing->expires_ns == 0;
        last = existing->expires_ns;
      }
      for (std::size_t k = i; k < j; ++k) {
        const DesiredRule& h = *cands[k].host;
        c.replaced.push_back(h);
        c.rule.absorbed.push_back(h.prefix);
        forever = forever || h.expires_ns == 0;
        last = std::max(last, h.expires_ns);
      }
      // It stands in for the hosts: it lasts as long as the longest of them.
      c.rule.expires_ns = forever ? 0 : last;
      std::sort(c.rule.absorbed.begin(), c.rule.absorbed.end());
      out.push_back(std::move(c));
    }
    i = j;
  }
  return out;
}

std::string describe(const DesiredRule& r) {
  const char* verb = r.verb == RuleVerb::drop         ? "drop"
                     : r.verb == RuleVerb::allow      ? "allow"
                     : r.verb == RuleVerb::rate_limit ? "limit"
                                                      : "shadow";
  std::string s = r.prefix.to_string() + " " + verb + plan::l4_text(r.l4);
  if (r.verb == RuleVerb::rate_limit) s += " pps=" + std::to_string(r.pps);
  if (!r.absorbed.empty()) s += " (for " + std::to_string(r.absorbed.size()) + " hosts)";
  return s;
}

}  // namespace reflex::execute
