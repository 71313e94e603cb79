#include "guard/events.h"

#include <cerrno>
#include <cstring>

namespace reflex::guard {

std::string_view reason_name(std::uint32_t reason) {
  switch (reason) {
    case GUARD_R_PASS_NO_MATCH: return "pass";
    case GUARD_R_PASS_ALLOW: return "allowed";
    case GUARD_R_DROP_RULE: return "drop";
    case GUARD_R_DROP_RATE: return "rate_limited";
    case GUARD_R_PASS_SHADOW: return "shadow";
    case GUARD_R_PASS_RATE_OK: return "rate_ok";
    case GUARD_R_PASS_NON_IP: return "non_ip";
    case GUARD_R_PASS_MALFORMED: return "malformed";
    case GUARD_F_EVENT_LOST: return "events_lost";
    case GUARD_F_FRAGMENT: return "fragment";
    case GUARD_F_L4_TRUNC: return "l4_truncated";
    case GUARD_F_CHAIN_LONG: return "chain_too_long";
  }
  return "unknown";
}

DropEvent decode_event(const guard_event& e, const std::string& iface) {
  DropEvent d;
  d.iface = iface;
  d.ts_ns = e.ts_ns;
  d.rule_uid = e.rule_uid;
  d.reason = e.reason;
  d.source.family = e.family == 6 ? 6 : 4;
  d.source.len = d.source.family == 4 ? 32 : 128;
  std::memcpy(d.source.addr.data(), e.saddr, d.source.family == 4 ? 4 : 16);
  d.proto = e.proto;
  d.dport = e.dport;
  d.pkt_len = e.pkt_len;
  return d;
}

EventReader::EventReader(Callback cb) : cb_(std::move(cb)) {}

EventReader::~EventReader() {
  if (rb_) ring_buffer__free(rb_);
}

int EventReader::on_sample(void* ctx, void* data, std::size_t size) {
  auto* src = static_cast<Source*>(ctx);
  if (size < sizeof(guard_event)) return 0;
  guard_event e;
  std::memcpy(&e, data, sizeof(e));
  src->self->cb_(decode_event(e, src->iface));
  return 0;
}

Status EventReader::add(int ringbuf_fd, const std::string& iface) {
  sources_.push_back(std::make_unique<Source>(Source{this, iface}));
  void* ctx = sources_.back().get();
  if (!rb_) {
    rb_ = ring_buffer__new(ringbuf_fd, &EventReader::on_sample, ctx, nullptr);
    if (!rb_) return errno_error("open events ring buffer of " + iface, errno);
  } else if (ring_buffer__add(rb_, ringbuf_fd, &EventReader::on_sample, ctx) < 0) {
    return errno_error("add events ring buffer of " + iface, errno);
  }
  return ok();
}

Result<int> EventReader::poll(int timeout_ms) {
  if (!rb_) return make_error("no ring buffer added");
  int n = ring_buffer__poll(rb_, timeout_ms);
  if (n < 0 && n != -EINTR) return errno_error("poll events", -n);
  return n < 0 ? 0 : n;
}

Result<int> EventReader::consume() {
  if (!rb_) return make_error("no ring buffer added");
  int n = ring_buffer__consume(rb_);
  if (n < 0) return errno_error("consume events", -n);
  return n;
}

int EventReader::epoll_fd() const { return rb_ ? ring_buffer__epoll_fd(rb_) : -1; }

}  // namespace reflex::guard
