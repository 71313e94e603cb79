#include "knowledge/store/pending.h"

namespace reflex::store {

void PendingQueue::push(Row r) {
  bytes_ += r.bytes();
  rows_.push_back(std::move(r));
  if (bytes_ > max_bytes_) enforce_bound();
}

void PendingQueue::set_state(const std::string& key, StateRow s) {
  auto [it, fresh] = states_.try_emplace(key);
  if (!fresh) bytes_ -= it->second.value.size();
  bytes_ += s.value.size();
  it->second = std::move(s);
  if (bytes_ > max_bytes_) enforce_bound();
}

void PendingQueue::clear() {
  rows_.clear();
  states_.clear();
  bytes_ = 0;
}

void PendingQueue::enforce_bound() {
  // Down to 90% at once, so a full queue does not sweep on every push.
  const std::size_t target = max_bytes_ - max_bytes_ / 10;
  // Oldest first: the front of the queue is the oldest.
  auto sweep = [&](auto droppable, std::uint64_t& counter) {
    if (bytes_ <= target) return;
    std::deque<Row> kept;
    for (auto& r : rows_) {
      if (bytes_ > target && droppable(r)) {
        bytes_ -= r.bytes();
        ++counter;
      } else {
        kept.push_back(std::move(r));
      }
    }
    rows_.swap(kept);
  };
  sweep([](const Row& r) { return r.kind == RecordKind::observation; }, dropped_obs_);
  sweep([](const Row& r) { return !r.decision; }, dropped_other_);
}

}  // namespace reflex::store
