#pragma once
// Writes to the slots of outer (map-in-map) maps without paying the kernel's
// grace periods one after another.
//
// Every BPF_MAP_UPDATE_ELEM, and every DELETE_ELEM that removes something,
// on an ARRAY_OF_MAPS returns only after an RCU grace period
// (maybe_wait_bpf_programs() in kernel/bpf/syscall.c calls synchronize_rcu()
// after the write). The write itself is done before that wait, and a lookup
// of the slot (which does not wait) shows it. So each write is issued from a
// thread of its own, and start() returns as soon as every slot reads back
// what was written: the caller goes on (e.g. flips the generation) while the
// kernel's waits run side by side, where concurrent synchronize_rcu() callers
// share grace periods. finish() joins them.

#include "common/fd.h"
#include "common/result.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

namespace reflex::guard {

struct SlotWrite {
  int outer_fd = -1;
  std::uint32_t slot = 0;
  int inner_fd = -1;  // -1: clear the slot
};

class SlotWriter {
 public:
  SlotWriter() = default;
  SlotWriter(const SlotWriter&) = delete;
  SlotWriter& operator=(const SlotWriter&) = delete;
  ~SlotWriter() { (void)finish(); }

  // Issues the writes a slot does not already reflect and returns once every
  // slot reads back its new value, or with the first failure (the threads
  // joined; slots written before it stay written). The inner fds must stay
  // open until it returns.
  Status start(std::span<const SlotWrite> writes);
  // Waits for the writes' grace periods to end.
  Status finish();
  // Writes that went to the kernel (each one waits for a grace period there).
  std::size_t issued() const { return jobs_.size(); }

 private:
  struct Job {
    SlotWrite w;
    std::uint32_t want_id = 0;   // 0: the slot is to be empty
    std::atomic<int> rc{-1};     // -1: in the kernel, 0: done, else errno
    std::thread thread;
  };
  std::vector<std::unique_ptr<Job>> jobs_;
};

// Clears the slots, concurrently, and waits for their grace periods.
Status clear_slots(std::span<const SlotWrite> slots);

}  // namespace reflex::guard
