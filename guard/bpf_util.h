#pragma once
// Small RAII and error-as-value wrappers over the libbpf low-level API
// (bpf/bpf.h): file descriptors, mmapped map memory, inner-map creation.

#include "common/fd.h"
#include "common/result.h"

#include <bpf/bpf.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reflex::guard {

using reflex::Fd;

// A MAP_SHARED mapping of an mmapable array map's values.
class MapMemory {
 public:
  MapMemory() = default;
  static Result<MapMemory> map(int map_fd, std::size_t bytes, bool writable, const std::string& what);
  MapMemory(const MapMemory&) = delete;
  MapMemory& operator=(const MapMemory&) = delete;
  MapMemory(MapMemory&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
  MapMemory& operator=(MapMemory&& o) noexcept;
  ~MapMemory();
  template <class T>
  T* as() const { return static_cast<T*>(addr_); }
  bool valid() const { return addr_ != nullptr; }

 private:
  void* addr_ = nullptr;
  std::size_t len_ = 0;
};

Result<Fd> create_map(enum bpf_map_type type, const std::string& name, std::uint32_t key_size,
                      std::uint32_t value_size, std::uint32_t max_entries, std::uint32_t flags);

// Opens a pinned object (map, program, link).
Result<Fd> open_pinned(const std::string& path);
Status pin(int fd, const std::string& path);

// For outer maps: the inner map fd at slot, or an invalid Fd if empty.
Result<Fd> inner_map(int outer_fd, std::uint32_t slot);
Status set_inner_map(int outer_fd, std::uint32_t slot, const Fd& inner);  // invalid inner clears the slot

struct MapInfo {
  std::uint32_t id = 0, type = 0, key_size = 0, value_size = 0, max_entries = 0, flags = 0;
  std::string name;
};
Result<MapInfo> map_info(int map_fd);

// Sum of a per-CPU value of `Words` u64 counters, over all possible CPUs.
Result<std::vector<std::uint64_t>> percpu_sum(int map_fd, std::uint32_t key, std::size_t words);

int possible_cpus();

// Why the verifier refused a program, from its log (log_level 1): the
// message lines after the last instruction it checked, then that instruction
// and the source line it came from. "" for an empty log.
std::string verifier_verdict(std::string_view log);

// True if path is on a bpf filesystem.
bool is_bpffs(const std::string& path);

}  // namespace reflex::guard
