#pragma once
// Interface counters (rx/tx packets, bytes, errors, drops) for the monitored
// interfaces of one network namespace, over rtnetlink. Also resolves each
// interface to (namespace inode, ifindex) for the probes that run after it.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "monitor/counter.h"
#include "monitor/monitor_config.h"
#include "monitor/netlink_links.h"
#include "monitor/netns.h"
#include "monitor/probe.h"

namespace reflex::monitor {

class LinkProbe : public Probe {
 public:
  LinkProbe(std::string netns, std::vector<InterfaceRef> ifaces);

  std::string name() const override;
  Status open(boost::asio::io_context& io) override;
  Status sample(TickContext& ctx, Observation& obs) override;
  void close() override;

 private:
  enum Field {
    kRxPackets,
    kRxBytes,
    kTxPackets,
    kTxBytes,
    kRxErrors,
    kRxDropped,
    kTxErrors,
    kTxDropped,
    kFields
  };
  struct State {
    std::uint32_t ifindex = 0;
    std::array<Counter, kFields> counters;
  };

  std::string netns_;
  std::vector<InterfaceRef> ifaces_;
  std::optional<NetnsHandle> ns_;
  std::optional<NetlinkLinks> nl_;
  std::map<std::string, State> state_;  // by interface key; survives a reopen
};

}  // namespace reflex::monitor
