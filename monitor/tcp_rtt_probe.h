#pragma once
// TCP round-trip times per interface: bpf/tcp_rtt.bpf.c keeps a log2
// histogram of senders' smoothed RTT per (namespace, ingress interface);
// each tick takes the difference since the last and reads p50/p90/p99 off it.

#include <array>
#include <map>
#include <memory>

#include "bpf/tcp_rtt_kern_user.h"
#include "monitor/map_dump.h"
#include "monitor/probe.h"

struct tcp_rtt;

namespace reflex::monitor {

class TcpRttProbe : public Probe {
 public:
  TcpRttProbe();
  ~TcpRttProbe() override;

  std::string name() const override { return "tcp_rtt"; }
  Status open(boost::asio::io_context& io) override;
  Status sample(TickContext& ctx, Observation& obs) override;
  void close() override;

 private:
  struct SkelDeleter {
    void operator()(tcp_rtt* s) const;
  };
  struct Hist {
    std::array<std::uint64_t, RTT_SLOTS> slots{};
    std::uint64_t count = 0, sum_us = 0;
  };
  struct Seen {
    Hist last;                        // the kernel's cumulative histogram at the previous tick
    std::uint64_t samples_total = 0;  // monotonic across reopens
  };
  std::unique_ptr<tcp_rtt, SkelDeleter> skel_;
  std::uint32_t hists_id_ = 0;
  MapDumper dump_;
  std::map<std::string, Seen> seen_;  // by interface key
};

}  // namespace reflex::monitor
