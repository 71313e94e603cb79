#include "monitor/map_dump.h"

#include "guard/bpf_util.h"

#include <bpf/bpf.h>

#include <cerrno>

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
  // The resume token is opaque; hash maps use a u32 bucket index, 8 bytes covers every map type.
  std::uint64_t in_batch = 0, out_batch = 0;
  bool first = true;
  std::size_t total = 0;
  for (;;) {
    std::uint32_t count = batch_;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(map_fd, first ? nullptr : &in_batch, &out_batch, keys_.data(), values_.data(),
                                   &count, &opts);
    int e = err < 0 ? errno : 0;
    if (err < 0 && e == ENOSPC && count == 0) {
      // One hash bucket holds more entries than the batch: grow and retry the same bucket.
      batch_ *= 2;
      keys_.resize(key_size_ * batch_);
      values_.resize(entry_bytes_ * batch_);
      continue;
    }
    for (std::uint32_t i = 0; i < count; ++i)
      fn(keys_.data() + static_cast<std::size_t>(i) * key_size_, values_.data() + static_cast<std::size_t>(i) * entry_bytes_);
    total += count;
    if (err < 0) {
      if (e == ENOENT) return total;  // the walk reached the end
      return errno_error("batch lookup of map", e);
    }
    in_batch = out_batch;
    first = false;
  }
}

}  // namespace reflex::monitor
