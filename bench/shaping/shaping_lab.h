#pragma once
// The shaping tests' and benchmarks' bench-top: two namespaces joined by a
// veth pair, the sender's end shaped, traffic measured where it arrives.
//
//   ns a: a_if 10.71.0.1/24          ns b: b_if 10.71.0.2/24, 10.71.1.2/24
//   a reaches 10.71.1.0/24 on-link through a_if, so "the prefix" and "the
//   rest" leave through the same shaped interface.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "sim/netns.h"

namespace reflex::bench::shaping {

struct Lab {
  sim::NetNs a, b;
  std::string a_if, b_if;
  std::string a_addr = "10.71.0.1", b_addr = "10.71.0.2";
  std::string prefix = "10.71.1.0/24", prefix_addr = "10.71.1.2";  // a second destination on b

  static Result<std::unique_ptr<Lab>> create();
};

// Bytes a UDP datagram of `payload` bytes occupies in the qdisc (Ethernet + IPv4 + UDP headers):
// what htb counts, so what a receiver-side rate is compared with.
constexpr std::uint64_t kUdpOverhead = 14 + 20 + 8;

// A paced UDP flow from ns a to dst in ns b. Each datagram carries a sequence
// number; the receiver thread counts what arrives and, on request, keeps the
// arrival times. Sent but not received = lost on the way (the only drops on
// this path are the qdisc's: the receive buffer is sized so the socket does not drop).
class UdpFlow {
 public:
  static Result<std::unique_ptr<UdpFlow>> start(const Lab& lab, const std::string& dst,
                                                std::uint64_t offered_bps, std::size_t payload = 1200,
                                                bool keep_arrivals = false);
  ~UdpFlow();
  UdpFlow(const UdpFlow&) = delete;
  UdpFlow& operator=(const UdpFlow&) = delete;

  // Stops sending, then waits until what is still queued has arrived (no
  // datagram for `quiet`) and stops the receiver.
  void stop(std::chrono::milliseconds quiet = std::chrono::milliseconds(300));
  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t received() const { return received_.load(); }
  std::uint64_t lost() const { return sent() > received() ? sent() - received() : 0; }
  // Bytes received at L2 (payload + kUdpOverhead per datagram).
  std::uint64_t wire_bytes() const { return received() * (payload_ + kUdpOverhead); }
  std::size_t payload() const { return payload_; }
  // Arrival times (CLOCK_MONOTONIC ns) of datagrams received at or after t0.
  std::vector<std::int64_t> arrivals_since(std::int64_t t0) const;

 private:
  UdpFlow() = default;
  Fd tx_, rx_;
  std::size_t payload_ = 0;
  std::uint64_t offered_bps_ = 0;
  bool keep_ = false;
  std::atomic<bool> stop_tx_{false}, stop_rx_{false};
  std::atomic<std::uint64_t> sent_{0}, received_{0};
  std::atomic<std::int64_t> last_rx_ns_{0};
  mutable std::mutex mu_;
  std::vector<std::int64_t> arrivals_;
  std::thread tx_thread_, rx_thread_;
};

std::int64_t now_ns();  // CLOCK_MONOTONIC

// The L2 rate (bit/s) a flow delivers over `window`, after `warmup` (which
// lets a queue fill and htb's burst drain first).
double measure_rate_bps(const UdpFlow& f, std::chrono::milliseconds warmup, std::chrono::milliseconds window);

// The same, with the L2 rate the sender managed to offer in the window: on a
// starved host it can fall short of what was asked, and then the delivered
// rate says nothing about the shaper.
struct FlowRates {
  double offered_bps = 0, delivered_bps = 0;
};
FlowRates measure_rates(const UdpFlow& f, std::chrono::milliseconds warmup, std::chrono::milliseconds window);

// The goodput (bit/s) a byte counter grows at over `window`, after `warmup`.
template <class Counter>
double measure_goodput_bps(const Counter& bytes, std::chrono::milliseconds warmup,
                           std::chrono::milliseconds window) {
  std::this_thread::sleep_for(warmup);  // a measurement interval, not synchronisation
  auto b0 = bytes();
  auto t0 = now_ns();
  std::this_thread::sleep_for(window);
  auto b1 = bytes();
  auto t1 = now_ns();
  return static_cast<double>(b1 - b0) * 8e9 / static_cast<double>(t1 - t0);
}

// Runs `tc -n NS ARGS...` (benchmarks' and tests' stand-in for an operator or another tool).
Status tc(const sim::NetNs& ns, const std::vector<std::string>& args);

}  // namespace reflex::bench::shaping
