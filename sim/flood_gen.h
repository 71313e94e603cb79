#pragma once
// Crafted-packet traffic: UDP datagrams and TCP SYNs with source addresses
// picked from the scenario's prefixes, written to an AF_PACKET socket with
// sendmmsg, so one namespace can be one address, a /24 or thousands of
// sources without adding any address. One thread per generator paces every
// stream it carries by a schedule (start, stop, pulses), sending in batches.
// Each UDP payload starts with a tag (magic, class, sequence) so the victim
// tells classes apart without trusting addresses.

#include "common/fd.h"
#include "common/result.h"
#include "sim/netns.h"
#include "sim/scenario.h"
#include "sim/topology.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace reflex::sim {

inline constexpr std::uint32_t kPayloadMagic = 0x52464c58;  // "RFLX"

struct PayloadTag {  // network byte order on the wire
  std::uint32_t magic;
  std::uint32_t cls;  // the class index in the run
  std::uint32_t seq;
};

struct Stream {
  std::uint32_t cls = 0;  // class index (the victim counts by it)
  TrafficKind kind = TrafficKind::udp;
  std::vector<std::uint32_t> sources;  // host order
  double pps = 0;
  std::uint32_t payload = 64;
  TimeNs from_ns = 0, until_ns = 0;  // offsets from the generator's start
  std::optional<Pulse> pulse;
  std::optional<Wave> wave;
};

// The index in s.sources of the n-th packet's source at time t. The sources
// are cut into wave->size lanes; each wave takes the next source of every
// lane, so the sources sending at once are spread over the group's prefixes.
std::size_t source_index(const Stream& s, std::uint64_t n, TimeNs t);

class PacketGenerator {
 public:
  // An AF_PACKET socket on ifname inside ns; frames go to dst_mac/dst_addr.
  static Result<std::unique_ptr<PacketGenerator>> open(const NetNs& ns, const std::string& ifname, Mac dst_mac,
                                                       const std::string& dst_addr, std::uint16_t udp_port,
                                                       std::uint16_t tcp_port);
  ~PacketGenerator();
  PacketGenerator(const PacketGenerator&) = delete;
  PacketGenerator& operator=(const PacketGenerator&) = delete;

  std::size_t add(Stream s);  // before start(); returns the stream's index
  // Starts sending; stream times count from t0 (a steady_clock time).
  void start(std::chrono::steady_clock::time_point t0);
  void stop();

  std::uint64_t sent(std::size_t stream) const { return state_[stream]->sent.load(std::memory_order_relaxed); }
  // Packets the schedule asked for that the generator could not send in time
  // (the host was too busy): the offered load is what was sent, not asked.
  std::uint64_t missed(std::size_t stream) const { return state_[stream]->missed.load(std::memory_order_relaxed); }
  // First packet of a stream, as steady_clock nanoseconds since t0 (-1: none yet).
  TimeNs first_sent_ns(std::size_t stream) const { return state_[stream]->first_ns.load(std::memory_order_relaxed); }

 private:
  struct State {
    std::atomic<std::uint64_t> sent{0}, missed{0};
    std::atomic<TimeNs> first_ns{-1};
    std::uint64_t next_src = 0;
    std::uint64_t seq = 0;
    std::vector<std::uint8_t> frame;  // template
  };
  PacketGenerator() = default;
  void run();
  std::size_t fill(std::size_t stream, std::uint8_t* out, TimeNs now);  // one frame from the template, returns its length

  Fd fd_;
  Mac src_mac_{}, dst_mac_{};
  std::uint32_t dst_addr_ = 0;  // host order
  std::uint16_t udp_port_ = 0, tcp_port_ = 0;
  std::vector<Stream> streams_;
  std::vector<std::unique_ptr<State>> state_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Packets a paced stream owes by time t (offset from its start), counting
// only the "on" phases of a pulse.
std::uint64_t packets_due(const Stream& s, TimeNs t);

// The Internet checksum of a buffer, folded (RFC 1071), starting from sum.
std::uint16_t inet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t sum = 0);

}  // namespace reflex::sim
