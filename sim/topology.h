#pragma once
// The scenario's network, built from namespaces and veth pairs: a mesh node
// whose uplink carries the guard, an edge namespace bridging that uplink to
// a clients' namespace (benign traffic) and an attackers' namespace. Every
// packet a scenario sends starts and ends inside these namespaces. RAII:
// deleting the namespaces deletes every link, address and qdisc in them.
//
//   clients ──┐
//             ├── edge (bridge) ── uplink ──[guard]── node
//   attackers ┘

#include "common/result.h"
#include "sim/netns.h"
#include "sim/scenario.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace reflex::sim {

struct TopologyOptions {
  std::string prefix = "rfxsim";          // namespace names: <prefix><role><pid>x<n>
  std::optional<std::uint32_t> peer_mtu;  // MTU of the uplink's edge side (and the bridge)
  std::optional<PathBottleneck> bottleneck;  // tbf on the edge's port toward the clients
};

using Mac = std::array<std::uint8_t, 6>;

class Topology {
 public:
  static Result<std::unique_ptr<Topology>> build(const TopologyOptions& opts);

  const NetNs& node() const { return *node_; }
  const NetNs& edge() const { return *edge_; }
  const NetNs& clients() const { return *clients_; }
  const NetNs& attackers() const { return *attackers_; }

  const std::string& node_if() const { return node_if_; }  // the guarded uplink, in node()
  const std::string& clients_if() const { return clients_if_; }
  const std::string& attackers_if() const { return attackers_if_; }
  const std::string& edge_clients_if() const { return edge_clients_if_; }
  Mac node_mac() const { return node_mac_; }

  static constexpr const char* kNodeAddr = "10.250.0.1";
  static constexpr const char* kGatewayAddr = "10.250.0.254";  // the bridge, in edge()
  static constexpr const char* kEchoAddr = "10.250.1.200";     // latency probe responder, in clients()
  // The address the clients' n-th TCP group connects from (n from 0).
  static std::string client_addr(unsigned n);

 private:
  Topology() = default;
  std::optional<NetNs> node_, edge_, clients_, attackers_;
  std::string node_if_, clients_if_, attackers_if_, edge_clients_if_;
  Mac node_mac_{};
};

// Reads an interface's MAC address inside ns.
Result<Mac> interface_mac(const NetNs& ns, const std::string& ifname);
// Writes a sysctl (e.g. "net/ipv4/conf/all/rp_filter") inside ns.
Status set_sysctl(const NetNs& ns, const std::string& key, const std::string& value);

}  // namespace reflex::sim
