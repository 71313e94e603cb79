#include "monitor/ring_reader.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace reflex::monitor {
namespace {

// Records handled per turn of the loop before yielding to timers and other
// handlers: a producer faster than us must not starve the tick.
constexpr std::uint64_t kBudget = 1 << 16;
// What the record callback returns to stop libbpf's consume loop early; the
// record it was called for is already consumed.
constexpr int kBudgetSpent = -EAGAIN;

}  // namespace

struct RingReader::State {
  explicit State(boost::asio::io_context& io) : io(io), sd(io) {}
  ~State() {
    boost::system::error_code ec;
    sd.close(ec);
    if (rb) ring_buffer__free(rb);
  }
  boost::asio::io_context& io;
  boost::asio::posix::stream_descriptor sd;
  ring_buffer* rb = nullptr;
  OnRecord on_record;
  std::uint64_t records = 0, wakeups = 0, budget = kBudget;
  bool armed = false;

  static int on_sample(void* ctx, void* data, std::size_t size) {
    auto* st = static_cast<State*>(ctx);
    ++st->records;
    st->on_record(data, size);
    return --st->budget == 0 ? kBudgetSpent : 0;
  }

  // Consumes up to the budget. True if records may be left.
  bool consume_some() {
    budget = kBudget;
    int n = ring_buffer__consume(rb);
    if (n == kBudgetSpent) return true;
    if (n < 0) spdlog::warn("ring buffer consume: {}", std::strerror(-n));
    return false;
  }
};

Result<std::unique_ptr<RingReader>> RingReader::open(boost::asio::io_context& io, int ringbuf_fd,
                                                     OnRecord on_record) {
  auto st = std::make_shared<State>(io);
  st->on_record = std::move(on_record);
  st->rb = ring_buffer__new(ringbuf_fd, &State::on_sample, st.get(), nullptr);
  if (!st->rb) return errno_error("open ring buffer", errno);
  // asio owns (and closes) what it is given: hand it a duplicate of libbpf's epoll fd.
  int efd = ::fcntl(ring_buffer__epoll_fd(st->rb), F_DUPFD_CLOEXEC, 3);
  if (efd < 0) return errno_error("dup ring buffer epoll fd", errno);
  boost::system::error_code ec;
  st->sd.assign(efd, ec);
  if (ec) {
    ::close(efd);
    return make_error("register ring buffer with the event loop: " + ec.message());
  }
  return std::unique_ptr<RingReader>(new RingReader(std::move(st)));
}

RingReader::~RingReader() = default;

void RingReader::start() {
  if (st_->armed) return;
  st_->armed = true;
  arm(st_);
}

void RingReader::arm(const std::shared_ptr<State>& st) {
  // Handlers hold a weak reference: a reader destroyed while a wait is
  // pending cancels it, and the cancelled handler must not touch it.
  std::weak_ptr<State> weak = st;
  st->sd.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [weak](const boost::system::error_code& ec) {
                      auto s = weak.lock();
                      if (!s || ec == boost::asio::error::operation_aborted) return;
                      if (ec) {
                        spdlog::warn("ring buffer wait failed: {}", ec.message());
                        s->armed = false;
                        return;
                      }
                      ++s->wakeups;
                      if (!s->consume_some()) {
                        // Empty: wait again. A record that lands after libbpf's last check
                        // finds the consumer caught up, so the kernel wakes us for it.
                        arm(s);
                        return;
                      }
                      // Budget spent with records left: no wakeup will come for them (the
                      // kernel only wakes a consumer that had caught up), so keep going from
                      // the back of the loop's queue.
                      struct Continue {
                        std::weak_ptr<State> weak;
                        void operator()() const {
                          auto s = weak.lock();
                          if (!s) return;
                          if (s->consume_some())
                            boost::asio::post(s->io, Continue{weak});
                          else
                            arm(s);
                        }
                      };
                      boost::asio::post(s->io, Continue{weak});
                    });
}

Result<std::size_t> RingReader::drain() {
  std::uint64_t before = st_->records;
  (void)st_->consume_some();
  return static_cast<std::size_t>(st_->records - before);
}

std::uint64_t RingReader::records() const { return st_->records; }
std::uint64_t RingReader::wakeups() const { return st_->wakeups; }

}  // namespace reflex::monitor
