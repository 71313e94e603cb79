#include "guard/bpf_util.h"

#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace reflex::guard {

Result<MapMemory> MapMemory::map(int map_fd, std::size_t bytes, bool writable, const std::string& what) {
  long page = sysconf(_SC_PAGESIZE);
  std::size_t len = (bytes + page - 1) / page * page;
  void* p = ::mmap(nullptr, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, map_fd, 0);
  if (p == MAP_FAILED) return errno_error("mmap " + what, errno);
  MapMemory m;
  m.addr_ = p;
  m.len_ = len;
  return m;
}

MapMemory& MapMemory::operator=(MapMemory&& o) noexcept {
  if (this != &o) {
    if (addr_) ::munmap(addr_, len_);
    addr_ = std::exchange(o.addr_, nullptr);
    len_ = std::exchange(o.len_, 0);
  }
  return *this;
}

MapMemory::~MapMemory() {
  if (addr_) ::munmap(addr_, len_);
}

Result<Fd> create_map(enum bpf_map_type type, const std::string& name, std::uint32_t key_size,
                      std::uint32_t value_size, std::uint32_t max_entries, std::uint32_t flags) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  int fd = bpf_map_create(type, name.c_str(), key_size, value_size, max_entries, &opts);
  if (fd < 0) {
    int err = errno;
    return errno_error("create map " + name + " (" + std::to_string(max_entries) + " entries)", err,
                       err == ENOMEM || err == E2BIG ? "the rule set is too large for kernel memory limits" : "");
  }
  return Fd(fd);
}

Result<Fd> open_pinned(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return errno_error("open pinned " + path, errno);
  return Fd(fd);
}

Status pin(int fd, const std::string& path) {
  if (bpf_obj_pin(fd, path.c_str()) < 0) return errno_error("pin " + path, errno);
  return ok();
}

Result<Fd> inner_map(int outer_fd, std::uint32_t slot) {
  std::uint32_t id = 0;
  if (bpf_map_lookup_elem(outer_fd, &slot, &id) < 0) {
    if (errno == ENOENT) return Fd();
    return errno_error("read outer map slot " + std::to_string(slot), errno);
  }
  int fd = bpf_map_get_fd_by_id(id);
  if (fd < 0) return errno_error("open inner map id " + std::to_string(id), errno);
  return Fd(fd);
}

Status set_inner_map(int outer_fd, std::uint32_t slot, const Fd& inner) {
  if (!inner.valid()) {
    if (bpf_map_delete_elem(outer_fd, &slot) < 0 && errno != ENOENT)
      return errno_error("clear outer map slot " + std::to_string(slot), errno);
    return ok();
  }
  std::uint32_t fd = static_cast<std::uint32_t>(inner.get());
  if (bpf_map_update_elem(outer_fd, &slot, &fd, BPF_ANY) < 0)
    return errno_error("install inner map in slot " + std::to_string(slot), errno);
  return ok();
}

Result<MapInfo> map_info(int map_fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0) return errno_error("map info", errno);
  return MapInfo{info.id, info.type, info.key_size, info.value_size, info.max_entries, info.map_flags, info.name};
}

int possible_cpus() {
  static int n = libbpf_num_possible_cpus();
  return n;
}

Result<std::vector<std::uint64_t>> percpu_sum(int map_fd, std::uint32_t key, std::size_t words) {
  int ncpu = possible_cpus();
  std::vector<std::uint64_t> buf(static_cast<std::size_t>(ncpu) * words);
  if (bpf_map_lookup_elem(map_fd, &key, buf.data()) < 0) return errno_error("read per-CPU counters", errno);
  std::vector<std::uint64_t> sum(words, 0);
  for (int c = 0; c < ncpu; ++c)
    for (std::size_t w = 0; w < words; ++w) sum[w] += buf[c * words + w];
  return sum;
}

bool is_bpffs(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) < 0) return false;
  return st.f_type == BPF_FS_MAGIC;
}

}  // namespace reflex::guard
