#pragma once
// The victim: the services the node under test offers, and the counters
// that say what reached them. A UDP service (a request per datagram, with
// a finite capacity, as a real resolver or game server has) and a TCP
// service (clients stream data to it; SYN floods aim at its port). A BPF
// socket filter on both counts every packet that reached the sockets, by
// the class of its source; the services count what they served.

#include "common/prefix.h"
#include "common/fd.h"
#include "common/result.h"
#include "sim/netns.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

struct victim_count;  // the skeleton

namespace reflex::sim {

inline constexpr std::size_t kMaxClasses = 64;
inline constexpr std::uint16_t kUdpServicePort = 5300;
inline constexpr std::uint16_t kTcpServicePort = 5301;

struct ClassCount {
  std::uint64_t packets = 0, bytes = 0;
};

// The socket filter and its maps: which prefix is which class, and the counts.
class ArrivalCounter {
 public:
  static Result<std::unique_ptr<ArrivalCounter>> load();
  ~ArrivalCounter();
  ArrivalCounter(const ArrivalCounter&) = delete;
  ArrivalCounter& operator=(const ArrivalCounter&) = delete;

  Status add_class(const Prefix& p, std::uint32_t cls);  // longest prefix wins
  Status attach(int socket_fd) const;                     // SO_ATTACH_BPF
  // Counts per class (index = class), summed over CPUs.
  Result<std::vector<ClassCount>> read() const;

 private:
  ArrivalCounter() = default;
  ::victim_count* skel_ = nullptr;
};

struct VictimOptions {
  std::string addr;                  // the node's address the services bind
  std::uint32_t udp_capacity_pps = 0;  // 0: serve as fast as possible
  int udp_rcvbuf = 256 * 1024;       // a service's usual receive buffer: a flood fills it
};

class Victim {
 public:
  // Binds both services in ns and attaches the counter to them.
  static Result<std::unique_ptr<Victim>> start(const NetNs& ns, const VictimOptions& opts,
                                               const ArrivalCounter& counter);
  ~Victim();
  Victim(const Victim&) = delete;
  Victim& operator=(const Victim&) = delete;
  void stop();

  // Which class a TCP peer address belongs to (for the bytes served).
  void set_tcp_class(std::uint32_t peer_addr_host_order, std::uint32_t cls);

  std::uint64_t udp_served(std::uint32_t cls) const { return udp_served_[cls].load(std::memory_order_relaxed); }
  std::uint64_t tcp_bytes(std::uint32_t cls) const { return tcp_bytes_[cls].load(std::memory_order_relaxed); }

 private:
  Victim() = default;
  void udp_loop();
  void tcp_loop();

  VictimOptions opts_;
  Fd udp_, tcp_listen_;
  std::atomic<bool> stop_{false};
  std::array<std::atomic<std::uint64_t>, kMaxClasses> udp_served_{}, tcp_bytes_{};
  std::array<std::atomic<std::uint32_t>, 256> tcp_class_by_last_octet_{};  // peers are 10.250.1.x
  std::thread udp_thread_, tcp_thread_;
};

}  // namespace reflex::sim
