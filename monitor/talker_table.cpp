#include "monitor/talker_table.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace reflex::monitor {
namespace {

std::uint32_t hash_key(const guard_addr_key& k) {
  std::uint32_t w[4];
  std::memcpy(w, k.addr, sizeof(w));
  std::uint32_t h = guard_mix32(k.family);
  for (std::uint32_t x : w) h = guard_mix32(h ^ x);
  return h;
}

bool same(const guard_addr_key& a, const guard_addr_key& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

}  // namespace

std::size_t TalkerTable::find_slot(const guard_addr_key& key, std::uint32_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (!s.pos || (s.tag == hash && same(entries_[s.pos - 1].key, key))) return i;
  }
}

void TalkerTable::reindex() {
  std::size_t want = 64;
  while (want < entries_.size() * 2 + 2) want *= 2;
  slots_.assign(want, Slot{});
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    std::uint32_t h = hash_key(entries_[i].key);
    slots_[find_slot(entries_[i].key, h)] = Slot{h, static_cast<std::uint32_t>(i + 1)};
  }
}

void TalkerTable::observe(const guard_addr_key& key, std::uint64_t packets, std::uint64_t bytes,
                          std::uint64_t dropped, TimeNs now, TimeNs unseen_since) {
  std::size_t idx;
  if (cursor_ < entries_.size() && same(entries_[cursor_].key, key)) {
    idx = cursor_;  // where the last walk saw it
  } else {
    if ((entries_.size() + 1) * 2 > slots_.size()) {
      entries_.reserve(entries_.size() * 2 + 16);
      reindex();
    }
    const std::uint32_t h = hash_key(key);
    Slot& slot = slots_[find_slot(key, h)];
    if (!slot.pos) {
      Entry e;
      e.key = key;
      // New since the walk last passed here: all its packets came since then.
      if (unseen_since && now > unseen_since)
        e.pps = static_cast<double>(packets) / (static_cast<double>(now - unseen_since) / 1e9);
      e.read_ns = now;
      entries_.push_back(e);
      rates_.push_back(e.pps);
      slot = Slot{h, static_cast<std::uint32_t>(entries_.size())};
      idx = entries_.size() - 1;
      order_.push_back(static_cast<std::uint32_t>(idx));
      Entry& fresh = entries_[idx];
      fresh.packets = packets;
      fresh.bytes = bytes;
      fresh.dropped = dropped;
      fresh.sweep = sweep_;
      return;  // the cursor stays: the next source is probably the one under it
    }
    idx = slot.pos - 1;
  }
  cursor_ = idx + 1;
  Entry& e = entries_[idx];
  if (now > e.read_ns && packets >= e.packets) {
    e.pps = static_cast<double>(packets - e.packets) / (static_cast<double>(now - e.read_ns) / 1e9);
    rates_[idx] = e.pps;
  }
  // Fewer than before: the source lost its slot on some CPU and the count
  // there started again, while other CPUs may have kept theirs (a reading is
  // the sum over CPUs). What came since the last reading cannot be told
  // apart from what the kept slots held before it; taking the whole sum as
  // new turned a client at 40 pps into a 5000 pps "flood" during a crowd's
  // slot churn. The rate holds for this reading; the next one counts from here.
  if (e.sweep != sweep_) order_.push_back(static_cast<std::uint32_t>(idx));
  e.packets = packets;
  e.bytes = bytes;
  e.dropped = dropped;
  e.read_ns = now;
  e.sweep = sweep_;
}

void TalkerTable::end_sweep() {
  // Keep what this walk saw, in the order it saw them (the next walk will
  // follow the same order), and index them again.
  std::vector<Entry> entries;
  std::vector<double> rates;
  entries.reserve(order_.size());
  rates.reserve(order_.size());
  for (auto i : order_) {
    entries.push_back(entries_[i]);
    rates.push_back(rates_[i]);
  }
  entries_ = std::move(entries);
  rates_ = std::move(rates);
  order_.clear();
  cursor_ = 0;
  reindex();
  ++sweep_;
}

void TalkerTable::idle() {
  for (auto& e : entries_) e.pps = 0;
  std::fill(rates_.begin(), rates_.end(), 0.0);
}

std::vector<const TalkerTable::Entry*> TalkerTable::top(std::size_t n) const {
  // One pass keeping the best n so far, sorted: most sources lose to the
  // current n-th on the packed rate alone.
  std::vector<std::uint32_t> best;
  best.reserve(n + 1);
  auto better = [&](std::uint32_t a, std::uint32_t b) {
    return rates_[a] != rates_[b] ? rates_[a] > rates_[b] : entries_[a].packets > entries_[b].packets;
  };
  for (std::uint32_t i = 0; i < rates_.size() && n > 0; ++i) {
    if (best.size() == n && rates_[i] < rates_[best.back()]) continue;
    if (best.size() == n && !better(i, best.back())) continue;
    best.insert(std::upper_bound(best.begin(), best.end(), i, better), i);
    if (best.size() > n) best.pop_back();
  }
  std::vector<const Entry*> out;
  out.reserve(best.size());
  for (auto i : best) out.push_back(&entries_[i]);
  return out;
}

std::vector<TalkerTable::Network> TalkerTable::top_networks(std::size_t n) const {
  std::vector<Network> nets;
  if (n == 0) return nets;
  // One word names a network: the /24's 3 bytes or the /64's 8, one index
  // per family.
  std::unordered_map<std::uint64_t, std::uint32_t> index[2];
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!(rates_[i] > 0)) continue;
    const Entry& e = entries_[i];
    const bool v6 = e.key.family == 6;
    std::uint64_t word = 0;
    std::memcpy(&word, e.key.addr, v6 ? 8 : 3);
    auto [it, fresh] = index[v6].try_emplace(word, static_cast<std::uint32_t>(nets.size()));
    if (fresh) {
      Network net;
      net.key.family = e.key.family;
      std::memcpy(net.key.addr, e.key.addr, v6 ? 8 : 3);
      net.len = v6 ? 64 : 24;
      nets.push_back(net);
    }
    Network& net = nets[it->second];
    ++net.sources;
    net.packets += e.packets;
    net.bytes += e.bytes;
    net.dropped += e.dropped;
    net.pps += rates_[i];
  }
  auto faster = [](const Network& a, const Network& b) {
    return a.pps != b.pps ? a.pps > b.pps : a.packets > b.packets;
  };
  if (nets.size() > n) {
    std::nth_element(nets.begin(), nets.begin() + static_cast<std::ptrdiff_t>(n), nets.end(), faster);
    nets.resize(n);
  }
  std::sort(nets.begin(), nets.end(), faster);
  return nets;
}

void TalkerTable::clear() {
  entries_.clear();
  rates_.clear();
  order_.clear();
  cursor_ = 0;
  slots_.clear();
  ++sweep_;
}

}  // namespace reflex::monitor
