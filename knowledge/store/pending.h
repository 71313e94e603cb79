#pragma once
// What the store holds in memory until it is written: rows in the order they
// came, and the newest value of each state key. While the disk cannot be
// written this is all there is, so it is bounded: past `max_bytes`,
// observations go first (oldest first), then other stream rows; decisions are
// never dropped, and what was dropped is counted.

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "knowledge/store/rows.h"

namespace reflex::store {

struct StateRow {
  std::string value;  // JSON text
  TimeNs loop_ns = 0, wall_ns = 0;
};

class PendingQueue {
 public:
  explicit PendingQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  void push(Row r);
  void set_state(const std::string& key, StateRow s);
  // After a successful write of everything held.
  void clear();

  const std::deque<Row>& rows() const { return rows_; }
  const std::map<std::string, StateRow>& states() const { return states_; }
  bool empty() const { return rows_.empty() && states_.empty(); }
  std::size_t bytes() const { return bytes_; }
  std::uint64_t dropped_observations() const { return dropped_obs_; }
  std::uint64_t dropped_other() const { return dropped_other_; }
  std::uint64_t dropped() const { return dropped_obs_ + dropped_other_; }
  // Forgets the drop counts once they are on record.
  void reset_dropped() { dropped_obs_ = dropped_other_ = 0; }

 private:
  void enforce_bound();
  std::size_t max_bytes_;
  std::deque<Row> rows_;
  std::map<std::string, StateRow> states_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_obs_ = 0, dropped_other_ = 0;
};

}  // namespace reflex::store
