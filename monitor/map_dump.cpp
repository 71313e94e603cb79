#include "monitor/map_dump.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "guard/bpf_util.h"

namespace reflex::monitor {

MapDumper::MapDumper(std::size_t key_size, std::size_t value_size, bool percpu, std::uint32_t batch)
    : key_size_(key_size),
      stride_(percpu ? (value_size + 7) / 8 * 8 : value_size),
      ncpu_(percpu ? guard::possible_cpus() : 1),
      batch_(batch ? batch : 1) {
  entry_bytes_ = stride_ * static_cast<std::size_t>(ncpu_);
  keys_.resize(key_size_ * batch_);
  values_.resize(entry_bytes_ * batch_);
}

Result<std::size_t> MapDumper::dump(int map_fd, const Visit& fn) {
  std::optional<std::uint64_t> token;
  auto step = dump_from(map_fd, token, SIZE_MAX, fn);
  if (!step) return step.error();
  return step->entries;
}

Result<MapDumper::Step> MapDumper::dump_from(int map_fd, std::optional<std::uint64_t>& token, std::size_t max,
                                             const Visit& fn) {
  // The resume token is opaque; hash maps use a u32 bucket index, 8 bytes covers every map type.
  std::uint64_t in_batch = token.value_or(0), out_batch = 0;
  bool first = !token.has_value();
  Step step;
  std::uint32_t want =
      static_cast<std::uint32_t>(std::min<std::size_t>(batch_, std::max<std::size_t>(max, 1)));
  while (step.entries < max) {
    std::uint32_t count = want;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(map_fd, first ? nullptr : &in_batch, &out_batch, keys_.data(),
                                   values_.data(), &count, &opts);
    int e = err < 0 ? errno : 0;
    if (err < 0 && e == ENOSPC && count == 0) {
      // One hash bucket holds more entries than we asked for: ask for more.
      want *= 2;
      if (want > batch_) {
        batch_ = want;
        keys_.resize(key_size_ * batch_);
        values_.resize(entry_bytes_ * batch_);
      }
      continue;
    }
    for (std::uint32_t i = 0; i < count; ++i)
      fn(keys_.data() + static_cast<std::size_t>(i) * key_size_,
         values_.data() + static_cast<std::size_t>(i) * entry_bytes_);
    step.entries += count;
    if (err < 0) {
      if (e != ENOENT) return errno_error("batch lookup of map", e);
      token.reset();  // the walk reached the end
      step.done = true;
      return step;
    }
    in_batch = out_batch;
    token = out_batch;
    first = false;
    want = static_cast<std::uint32_t>(
        std::min<std::size_t>(batch_, std::max<std::size_t>(max - std::min(max, step.entries), 1)));
  }
  return step;
}

}  // namespace reflex::monitor
