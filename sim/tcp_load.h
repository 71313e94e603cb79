#pragma once
// A bulk TCP transfer between two namespaces that runs until stopped: the
// standing load under which queueing delay shows up in RTT. A sender thread
// in a writes as fast as the path takes it; a receiver thread in b reads and
// discards.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/fd.h"
#include "common/result.h"
#include "sim/netns.h"

namespace reflex::sim {

class TcpLoad {
 public:
  // Connects a_addr (in a) to b_addr:port (in b) and starts sending.
  // rate_bps > 0 paces it instead: small writes every 2 ms, sent at once and
  // acknowledged at once, so the sender's RTT is sampled ~500 times a second
  // at a rate that fills no queue (the ordinary traffic a node has before
  // its bulk starts: what its RTT baseline is learned from).
  // congestion: the sender's TCP congestion control. Loss-based cubic fills
  // whatever buffer the path has, as most traffic does; BBR (a common
  // default) deliberately keeps queues short and would hide them.
  static Result<std::unique_ptr<TcpLoad>> start(const NetNs& a, const std::string& a_addr, const NetNs& b,
                                                const std::string& b_addr, std::uint16_t port,
                                                const std::string& congestion = "cubic", std::uint64_t rate_bps = 0);
  ~TcpLoad();  // stops
  TcpLoad(const TcpLoad&) = delete;
  TcpLoad& operator=(const TcpLoad&) = delete;

  void stop();
  std::uint64_t bytes_received() const { return received_.load(std::memory_order_relaxed); }

 private:
  TcpLoad() = default;
  Fd client_, server_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> received_{0};
  std::thread sender_, receiver_;
};

}  // namespace reflex::sim
