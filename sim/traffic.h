#pragma once
// Real UDP and TCP traffic between namespaces, for tests, the demo and the
// benchmarks. Payloads carry a sequence number so a receiver can tell which
// packets arrived.

#include "common/result.h"
#include "common/fd.h"
#include "sim/netns.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace reflex::sim {

class UdpPeer {
 public:
  // A UDP socket in ns bound to addr:port (port 0 = any). addr may be IPv4 or IPv6.
  static Result<UdpPeer> open(const NetNs& ns, const std::string& addr, std::uint16_t port);

  Status send_seq(const std::string& dst, std::uint16_t port, std::uint32_t seq, std::size_t size = 64);
  // Sends n datagrams with seq first..first+n-1; returns how many the kernel took.
  Result<std::size_t> send_many(const std::string& dst, std::uint16_t port, std::uint32_t first, std::size_t n,
                                std::size_t size = 64);

  using OnDatagram = std::function<void(std::uint32_t seq, const std::string& from)>;
  // Receives until `want` datagrams arrived, or until `quiet` passes with none
  // arriving. Returns the number received.
  std::size_t receive(std::size_t want, std::chrono::milliseconds quiet, const OnDatagram& on = {});

  int fd() const { return fd_.get(); }
  std::uint16_t port() const { return port_; }

 private:
  Fd fd_;
  int family_ = 0;
  std::uint16_t port_ = 0;
};

// One TCP connection from ns a to a listener in ns b; echoes `bytes` through it.
// Returns an error if the connection cannot be made or the data does not
// arrive within the timeout.
Status tcp_exchange(const NetNs& a, const std::string& a_addr, const NetNs& b, const std::string& b_addr,
                    std::uint16_t port, std::size_t bytes, std::chrono::milliseconds timeout);

}  // namespace reflex::sim
