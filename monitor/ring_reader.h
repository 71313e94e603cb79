#pragma once
// A BPF ring buffer consumed on an asio loop: libbpf's ring_buffer gives an
// epoll fd that turns readable when records are waiting; an
// asio::posix::stream_descriptor waits on it (async_wait, no busy polling,
// no extra thread), and the handler consumes every record before waiting
// again. The producer side wakes the consumer only when it had caught up
// (the kernel's adaptive notification), so a busy ring costs few wakeups.

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/result.h"

struct ring_buffer;

namespace reflex::monitor {

class RingReader {
 public:
  // Called for each record, on the loop's thread. The data is only valid during the call.
  using OnRecord = std::function<void(const void* data, std::size_t size)>;

  // Subscribes to the ring buffer map ringbuf_fd (the fd is not taken over).
  static Result<std::unique_ptr<RingReader>> open(boost::asio::io_context& io, int ringbuf_fd,
                                                  OnRecord on_record);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Starts waiting on the loop. Records are delivered from then on.
  void start();
  // Consumes what is waiting now (up to one turn's budget), without waiting:
  // the tick calls it as a safety net, and tests read synchronously with it.
  // Returns the records read.
  Result<std::size_t> drain();

  std::uint64_t records() const;  // consumed so far
  std::uint64_t wakeups() const;  // times the loop woke up for this ring

 private:
  struct State;
  explicit RingReader(std::shared_ptr<State> st) : st_(std::move(st)) {}
  static void arm(const std::shared_ptr<State>& st);
  std::shared_ptr<State> st_;
};

}  // namespace reflex::monitor
