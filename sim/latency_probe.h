#pragma once
// Round-trip time through the scenario's path: a prober in the node sends a
// timestamped UDP datagram every interval to an echo responder in the
// clients' namespace, through the same queue as the node's bulk traffic.

#include "common/fd.h"
#include "common/result.h"
#include "knowledge/time.h"
#include "sim/netns.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace reflex::sim {

struct RttSample {
  TimeNs sent_ns = 0;  // since t0
  TimeNs rtt_ns = 0;
};

class LatencyProbe {
 public:
  static Result<std::unique_ptr<LatencyProbe>> start(const NetNs& node, const std::string& node_addr,
                                                     const NetNs& clients, const std::string& echo_addr,
                                                     std::chrono::steady_clock::time_point t0,
                                                     TimeNs interval_ns = 10 * kNsPerMs);
  ~LatencyProbe();
  void stop();
  std::vector<RttSample> samples() const;  // answered probes so far

 private:
  LatencyProbe() = default;
  Fd probe_, echo_;
  std::chrono::steady_clock::time_point t0_;
  TimeNs interval_ns_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<RttSample> samples_;
  std::thread prober_, responder_;
};

}  // namespace reflex::sim
