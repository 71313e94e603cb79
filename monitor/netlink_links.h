#pragma once
// Interface counters over rtnetlink (RTM_GETLINK, IFLA_STATS64), from a
// socket that lives in the interface's namespace: one request per interface
// per tick, no sysfs (which shows the namespace it was mounted in).

#include <linux/if_link.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "monitor/netns.h"

namespace reflex::monitor {

struct LinkSample {
  std::uint32_t ifindex = 0;
  std::string name;
  bool oper_up = false;  // IF_OPER_UP (or UNKNOWN with IFF_RUNNING, as for lo and tunnels)
  rtnl_link_stats64 stats{};
};

class NetlinkLinks {
 public:
  static Result<NetlinkLinks> open(const NetnsHandle& ns);

  // The link named `name`, or nullopt if the namespace has none by that name.
  Result<std::optional<LinkSample>> get(const std::string& name);

 private:
  Fd sock_;
  std::uint32_t seq_ = 0;
  std::string ns_name_;
  std::vector<std::uint8_t> buf_;
};

}  // namespace reflex::monitor
