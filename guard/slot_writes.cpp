#include "guard/slot_writes.h"

#include <bpf/bpf.h>
#include <sched.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace reflex::guard {
namespace {

// The id of the map in the slot; 0 when empty, -errno on failure.
std::int64_t slot_id(int outer_fd, std::uint32_t slot) {
  std::uint32_t id = 0;
  if (bpf_map_lookup_elem(outer_fd, &slot, &id) == 0) return id;
  return errno == ENOENT ? 0 : -errno;
}

std::int64_t map_id(int fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) return -errno;
  return info.id;
}

Error slot_error(const SlotWrite& w, int err) {
  return errno_error((w.inner_fd < 0 ? "clear outer map slot " : "install inner map in slot ") + std::to_string(w.slot),
                     err);
}

}  // namespace

Status SlotWriter::start(std::span<const SlotWrite> writes) {
  for (const SlotWrite& w : writes) {
    std::int64_t want = w.inner_fd < 0 ? 0 : map_id(w.inner_fd);
    std::int64_t have = slot_id(w.outer_fd, w.slot);
    if (want < 0 || have < 0) {
      (void)finish();
      return slot_error(w, static_cast<int>(want < 0 ? -want : -have));
    }
    if (want == have) continue;  // already there (an empty slot cleared costs no grace period)
    auto job = std::make_unique<Job>();
    job->w = w;
    job->want_id = static_cast<std::uint32_t>(want);
    Job* j = job.get();
    auto run = [j] {
      std::uint32_t slot = j->w.slot;
      int r;
      if (j->w.inner_fd < 0) {
        r = bpf_map_delete_elem(j->w.outer_fd, &slot);
        if (r < 0 && errno == ENOENT) r = 0;
      } else {
        std::uint32_t fd = static_cast<std::uint32_t>(j->w.inner_fd);
        r = bpf_map_update_elem(j->w.outer_fd, &slot, &fd, BPF_ANY);
      }
      j->rc.store(r < 0 ? errno : 0, std::memory_order_release);
    };
    try {
      j->thread = std::thread(run);
    } catch (const std::system_error&) {
      run();  // no thread to be had: the write (and its wait) on the caller's
    }
    jobs_.push_back(std::move(job));
  }
  // Until every slot shows its write (or a write failed). The threads need
  // the CPU to get into the kernel: yield it to them between rounds.
  for (;;) {
    bool all = true;
    for (const auto& j : jobs_) {
      int rc = j->rc.load(std::memory_order_acquire);
      if (rc > 0) {
        (void)finish();
        return slot_error(j->w, rc);
      }
      if (rc == 0) continue;  // returned: written, and its grace period is over
      std::int64_t have = slot_id(j->w.outer_fd, j->w.slot);
      if (have != j->want_id) all = false;
    }
    if (all) return ok();
    sched_yield();
  }
}

Status SlotWriter::finish() {
  Status st = ok();
  for (auto& j : jobs_) {
    if (j->thread.joinable()) j->thread.join();
    int rc = j->rc.load(std::memory_order_acquire);
    if (rc != 0 && st) st = slot_error(j->w, rc);
  }
  jobs_.clear();
  return st;
}

Status clear_slots(std::span<const SlotWrite> slots) {
  SlotWriter w;
  if (auto s = w.start(slots); !s) return s;
  return w.finish();
}

}  // namespace reflex::guard
