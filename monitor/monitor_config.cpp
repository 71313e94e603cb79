#include "monitor/monitor_config.h"

#include <net/if.h>

#include <set>

namespace reflex::monitor {

Result<InterfaceRef> parse_interface_ref(const std::string& text, const std::string& default_netns) {
  InterfaceRef r;
  auto at = text.find('@');
  r.name = text.substr(0, at);
  r.netns = at == std::string::npos ? default_netns : text.substr(at + 1);
  if (r.name.empty() || r.name.size() >= IFNAMSIZ || r.name.find('/') != std::string::npos)
    return make_error("bad interface name '" + text + "'", "give IF or IF@NETNS, IF at most 15 characters");
  if (at != std::string::npos && r.netns.empty())
    return make_error("bad interface '" + text + "': empty namespace after '@'",
                      "give IF@NETNS (see `ip netns list`)");
  // The key names the interface in the Observation: a bare name unless the
  // operator spelled the namespace out for this one interface.
  r.key = at == std::string::npos ? r.name : text;
  return r;
}

Status validate(const MonitorConfig& c) {
  if (c.interval < MonitorConfig::kMinInterval)
    return make_error("interval " + std::to_string(c.interval.count()) + " ms is too short",
                      "use at least " + std::to_string(MonitorConfig::kMinInterval.count()) + " ms");
  if (c.backoff_initial.count() <= 0 || c.backoff_max < c.backoff_initial)
    return make_error("bad probe retry backoff", "initial must be positive and not above max");
  std::set<std::string> keys;
  for (const auto& i : c.interfaces)
    if (!keys.insert(i.key).second) return make_error("interface " + i.key + " given twice");
  return ok();
}

}  // namespace reflex::monitor
