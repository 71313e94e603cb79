#include "monitor/map_pressure_probe.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpf/map_count_kern_user.h"
#include "map_count.skel.h"

namespace reflex::monitor {

Result<std::unique_ptr<MapCounter>> MapCounter::open() {
  std::unique_ptr<MapCounter> c(new MapCounter());
  c->skel_ = map_count__open_and_load();
  if (!c->skel_)
    return errno_error("load the map_count BPF iterator", errno,
                       "needs a kernel with bpf_map_sum_elem_count (6.6+) and CAP_BPF");
  c->link_ = bpf_program__attach_iter(c->skel_->progs.map_count_iter, nullptr);
  if (!c->link_) return errno_error("attach the bpf_map iterator", errno);
  c->buf_.resize(64 * 1024);
  return c;
}

MapCounter::~MapCounter() {
  if (link_) bpf_link__destroy(link_);
  if (skel_) map_count__destroy(skel_);
}

Result<std::unordered_map<std::uint32_t, std::int64_t>> MapCounter::counts() {
  int fd = bpf_iter_create(bpf_link__fd(link_));
  if (fd < 0) return errno_error("start the bpf_map iterator", errno);
  std::unordered_map<std::uint32_t, std::int64_t> out;
  std::size_t have = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf_.data() + have, buf_.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return errno_error("read the bpf_map iterator", e);
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t whole = have / sizeof(map_count_rec) * sizeof(map_count_rec);
    for (std::size_t off = 0; off < whole; off += sizeof(map_count_rec)) {
      map_count_rec r;
      std::memcpy(&r, buf_.data() + off, sizeof(r));
      out[r.id] = r.entries;
    }
    // Records never straddle reads (the iterator flushes whole records), but be safe.
    std::memmove(buf_.data(), buf_.data() + whole, have - whole);
    have -= whole;
  }
  ::close(fd);
  return out;
}

Status MapPressureProbe::open(boost::asio::io_context&) {
  auto c = MapCounter::open();
  if (!c) return c.error();
  counter_ = std::move(*c);
  return ok();
}

void MapPressureProbe::close() { counter_.reset(); }

Status MapPressureProbe::sample(TickContext& ctx, Observation& obs) {
  bool need_counts = false;
  for (const auto& m : ctx.maps) need_counts |= !m.entries.has_value() && m.map_id;
  std::unordered_map<std::uint32_t, std::int64_t> counts;
  if (need_counts) {
    auto c = counter_->counts();
    if (!c) return c.error();
    counts = std::move(*c);
  }
  for (const auto& m : ctx.maps) {
    MapObservation mo;
    mo.max_entries = m.max_entries;
    if (m.entries) {
      mo.entries = *m.entries;
    } else {
      auto it = counts.find(m.map_id);
      if (it == counts.end()) continue;  // gone between the owner's listing and now
      mo.entries = it->second > 0 ? static_cast<std::uint64_t>(it->second) : 0;
    }
    auto [p, fresh] = prev_.try_emplace(m.name);
    if (!fresh && ctx.now_ns > p->second.at)
      mo.growth_per_s = (static_cast<double>(mo.entries) - static_cast<double>(p->second.entries)) /
                        (static_cast<double>(ctx.now_ns - p->second.at) / 1e9);
    p->second = Prev{mo.entries, ctx.now_ns};
    obs.maps[m.name] = mo;
  }
  return ok();
}

}  // namespace reflex::monitor
