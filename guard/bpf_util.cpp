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

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "12: (71) r1 = *(u8 *)(r2 +64)": an instruction the verifier checked.
bool is_insn_line(std::string_view l) {
  std::size_t i = 0;
  while (i < l.size() && l[i] >= '0' && l[i] <= '9') ++i;
  return i > 0 && l.substr(i).starts_with(": (");
}

// Statistics the verifier prints after its verdict.
bool is_stats_line(std::string_view l) {
  return l.starts_with("processed ") || l.starts_with("verification time") || l.starts_with("stack depth");
}

}  // namespace

std::string verifier_verdict(std::string_view log) {
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < log.size();) {
    auto nl = log.find('\n', pos);
    if (nl == std::string_view::npos) nl = log.size();
    if (auto l = trim(log.substr(pos, nl - pos)); !l.empty()) lines.push_back(l);
    pos = nl + 1;
  }
  while (!lines.empty() && is_stats_line(lines.back())) lines.pop_back();
  std::size_t insn = lines.size();
  for (std::size_t i = lines.size(); i-- > 0;)
    if (is_insn_line(lines[i])) {
      insn = i;
      break;
    }
  constexpr std::size_t kMaxMessages = 4;
  std::size_t first = insn == lines.size() ? (lines.size() > 3 ? lines.size() - 3 : 0) : insn + 1;
  if (lines.size() - first > kMaxMessages) first = lines.size() - kMaxMessages;
  std::string out;
  for (std::size_t i = first; i < lines.size(); ++i) (out += out.empty() ? "" : "; ") += lines[i];
  if (insn == lines.size()) return out;
  // The instruction without the register state a checked one is annotated with.
  std::string_view at = lines[insn];
  if (auto semi = at.find("  ;"); semi != std::string_view::npos) at = trim(at.substr(0, semi));
  (out += out.empty() ? "at insn " : " (at insn ") += at;
  // The verifier prints a source line where the line info changes: the
  // nearest one above is the statement the instruction belongs to.
  for (std::size_t i = insn; i-- > 0;)
    if (lines[i].starts_with(";")) {
      (out += ", source: ") += trim(lines[i].substr(1));
      break;
    }
  if (first < lines.size()) out += ")";
  return out;
}

bool is_bpffs(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) < 0) return false;
  return st.f_type == BPF_FS_MAGIC;
}

}  // namespace reflex::guard
