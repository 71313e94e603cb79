#pragma once
// TCP retransmits per interface: bpf/tcp_retrans.bpf.c counts the segments
// retransmitted, and the data segments sent, by sockets whose route leaves
// through each (namespace, interface); each tick turns the kernel's
// cumulative counts into RetransSummary (monitor/retrans_rate.h).

#include <map>
#include <memory>
#include <string>

#include "monitor/map_dump.h"
#include "monitor/map_full_watch.h"
#include "monitor/probe.h"
#include "monitor/retrans_rate.h"

struct tcp_retrans;

namespace reflex::monitor {

class TcpRetransProbe : public Probe {
 public:
  TcpRetransProbe();
  ~TcpRetransProbe() override;

  std::string name() const override { return "tcp_retrans"; }
  Status open(boost::asio::io_context& io) override;
  Status sample(TickContext& ctx, Observation& obs) override;
  void close() override;

 private:
  struct SkelDeleter {
    void operator()(tcp_retrans* s) const;
  };
  std::unique_ptr<tcp_retrans, SkelDeleter> skel_;
  std::uint32_t counts_id_ = 0;
  MapDumper dump_;
  std::map<std::string, RetransRate> rates_;  // by interface key, monotonic across reopens
  MapFullWatch map_full_;
};

}  // namespace reflex::monitor
