#pragma once
// What the Monitor knows about one guard's talkers: per-source counters
// read from the guard's talker table (bpf/xdp_guard_kern_user.h), once a
// tick. A source's rate comes from its own two latest readings; a source
// first seen is rated over the time since the previous reading. A source
// absent from a reading lost its slot (or went quiet long ago) and is
// forgotten.
//
// Layout for readings that come in the same order every time: entries sit
// in a dense vector in the order the last reading saw them, and a cursor
// follows along, so a reading usually matches the entry under the cursor
// with one compare and no hashing. A hash index (8 bytes a slot) finds the
// rest: sources new to the table, or ones that moved.

#include <cstdint>
#include <vector>

#include "bpf/xdp_guard_kern_user.h"
#include "knowledge/time.h"

namespace reflex::monitor {

class TalkerTable {
 public:
  struct Entry {
    guard_addr_key key{};
    std::uint32_t sweep = 0;  // the walk that last saw it
    std::uint64_t packets = 0, bytes = 0, dropped = 0;
    TimeNs read_ns = 0;
    double pps = 0;
  };

  // A reading of one source during the current walk. `unseen_since`: when
  // the previous walk passed this entry's place (0 if there was none).
  void observe(const guard_addr_key& key, std::uint64_t packets, std::uint64_t bytes, std::uint64_t dropped,
               TimeNs now, TimeNs unseen_since);
  // The walk reached the end of the map: sources it did not see were evicted.
  void end_sweep();
  // Known without reading the map: no packet reached the guard during the
  // last tick, so every source's rate over it is 0. (Readings stay as they
  // were: the next one rates each source over its own interval.)
  void idle();
  std::uint32_t sweep() const { return sweep_; }
  std::size_t size() const { return entries_.size(); }
  // The n fastest sources, fastest first (ties: most packets).
  std::vector<const Entry*> top(std::size_t n) const;

  // The hosts of one network summed: IPv4 /24, IPv6 /64 (the unit an ISP
  // hands one customer), so a flood spread thin over a network's hosts
  // shows as the network's rate.
  struct Network {
    guard_addr_key key{};  // the network address (host bits zero)
    std::uint8_t len = 0;  // 24 or 64
    std::uint32_t sources = 0;
    std::uint64_t packets = 0, bytes = 0, dropped = 0;
    double pps = 0;
  };
  // The n fastest networks with traffic this tick, fastest first (ties:
  // most packets).
  std::vector<Network> top_networks(std::size_t n) const;
  void clear();

 private:
  struct Slot {
    std::uint32_t tag = 0;  // the key's hash (the top bits pick the slot, these tell keys apart cheaply)
    std::uint32_t pos = 0;  // 1 + index into entries_; 0 = empty
  };
  // The slot holding key, or the empty slot where it would go.
  std::size_t find_slot(const guard_addr_key& key, std::uint32_t hash) const;
  void reindex();

  std::vector<Entry> entries_;
  // entries_[i].pps again, packed: choosing the top scans 8 bytes a source, not 64.
  std::vector<double> rates_;
  std::vector<Slot> slots_;           // open addressing, linear probing, power-of-two size, at most half full
  std::size_t cursor_ = 0;            // where the current walk is expected next, in entries_
  std::vector<std::uint32_t> order_;  // entries_ positions in the order the current walk saw them
  std::uint32_t sweep_ = 1;
};

}  // namespace reflex::monitor
