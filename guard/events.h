#pragma once
// Sampled drop events from the guard's ring buffer, decoded.

#include "bpf/xdp_guard_kern_user.h"
#include "common/prefix.h"
#include "common/result.h"

#include <bpf/libbpf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::guard {

struct DropEvent {
  std::string iface;
  std::uint64_t ts_ns = 0;  // CLOCK_BOOTTIME
  std::uint32_t rule_uid = 0;
  std::uint32_t reason = 0;
  Prefix source;
  std::uint8_t proto = 0;
  std::uint16_t dport = 0;
  std::uint16_t pkt_len = 0;
};

// Stable names of the guard_reason codes ("drop_rule", "rate_limited", ...).
std::string_view reason_name(std::uint32_t reason);

DropEvent decode_event(const guard_event& e, const std::string& iface);

// Consumes one or more guard ring buffers. poll() blocks up to timeout_ms;
// epoll_fd() lets an event loop wait instead (libbpf's ring_buffer__epoll_fd).
class EventReader {
 public:
  using Callback = std::function<void(const DropEvent&)>;
  explicit EventReader(Callback cb);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  Status add(int ringbuf_fd, const std::string& iface);
  Result<int> poll(int timeout_ms);  // events consumed
  Result<int> consume();             // without waiting
  int epoll_fd() const;

 private:
  struct Source {
    EventReader* self;
    std::string iface;
  };
  static int on_sample(void* ctx, void* data, std::size_t size);

  Callback cb_;
  ring_buffer* rb_ = nullptr;
  std::vector<std::unique_ptr<Source>> sources_;
};

}  // namespace reflex::guard
