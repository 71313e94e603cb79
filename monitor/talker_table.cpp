#include "monitor/talker_table.h"

#include <algorithm>
#include <cstring>

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
    entries_.push_back(e);
    slot = Slot{h, static_cast<std::uint32_t>(entries_.size())};
  } else {
    Entry& e = entries_[slot.pos - 1];
    if (now > e.read_ns) {
      // Evicted from the LRU and back: its count restarted from zero.
      std::uint64_t delta = packets >= e.packets ? packets - e.packets : packets;
      e.pps = static_cast<double>(delta) / (static_cast<double>(now - e.read_ns) / 1e9);
    }
  }
  Entry& e = entries_[slot.pos - 1];
  e.packets = packets;
  e.bytes = bytes;
  e.dropped = dropped;
  e.read_ns = now;
  e.sweep = sweep_;
}

void TalkerTable::end_sweep() {
  // Keep the survivors in their order (the walk's order), then index them again.
  std::erase_if(entries_, [&](const Entry& e) { return e.sweep != sweep_; });
  reindex();
  ++sweep_;
}

void TalkerTable::idle() {
  for (auto& e : entries_) e.pps = 0;
}

std::vector<const TalkerTable::Entry*> TalkerTable::top(std::size_t n) const {
  std::vector<const Entry*> all;
  all.reserve(entries_.size());
  for (const auto& e : entries_) all.push_back(&e);
  std::size_t k = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(),
                    [](const Entry* a, const Entry* b) {
                      return a->pps != b->pps ? a->pps > b->pps : a->packets > b->packets;
                    });
  all.resize(k);
  return all;
}

void TalkerTable::clear() {
  entries_.clear();
  slots_.clear();
  ++sweep_;
}

}  // namespace reflex::monitor
