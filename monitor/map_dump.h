#pragma once
// Reading whole BPF hash maps with BPF_MAP_LOOKUP_BATCH: thousands of
// entries per syscall instead of two syscalls per key (get_next_key +
// lookup). Per-CPU maps return one value per possible CPU, each padded to 8
// bytes; the callers sum them.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"

namespace reflex::monitor {

// Reusable buffers for dumps of one map shape, so a tick allocates nothing.
class MapDumper {
 public:
  // value_size as the map declares it; percpu: the map is a per-CPU type.
  MapDumper(std::size_t key_size, std::size_t value_size, bool percpu, std::uint32_t batch = 4096);

  // Calls fn(key, values) for every entry; values holds one value (ncpu for
  // per-CPU maps, each stride() bytes apart). Returns the entry count.
  using Visit = std::function<void(const std::uint8_t* key, const std::uint8_t* values)>;
  Result<std::size_t> dump(int map_fd, const Visit& fn);

  // A slice of a walk: about `max` entries (more if one hash bucket holds
  // more) from where `token` left off, or from the start when it is empty.
  // The walk may span many calls, also while the map changes (the kernel's
  // resume token is a bucket position). done: the walk reached the end, and
  // token is cleared for the next one.
  struct Step {
    std::size_t entries = 0;
    bool done = false;
  };
  Result<Step> dump_from(int map_fd, std::optional<std::uint64_t>& token, std::size_t max, const Visit& fn);

  std::size_t stride() const { return stride_; }
  int ncpu() const { return ncpu_; }

 private:
  std::size_t key_size_, stride_, entry_bytes_;
  int ncpu_;
  std::uint32_t batch_;
  std::vector<std::uint8_t> keys_, values_;
};

// Sum of a per-CPU value made of u64 counters: out[w] = sum over CPUs of word w.
template <std::size_t Words>
void sum_percpu_words(const std::uint8_t* values, int ncpu, std::size_t stride, std::uint64_t (&out)[Words]) {
  for (std::size_t w = 0; w < Words; ++w) out[w] = 0;
  for (int c = 0; c < ncpu; ++c) {
    std::uint64_t words[Words];
    std::memcpy(words, values + static_cast<std::size_t>(c) * stride, sizeof(words));
    for (std::size_t w = 0; w < Words; ++w) out[w] += words[w];
  }
}

}  // namespace reflex::monitor
