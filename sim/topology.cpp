#include "sim/topology.h"

#include "common/fd.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace reflex::sim {

std::string Topology::client_addr(unsigned n) { return "10.250.1." + std::to_string(n + 1); }

Result<Mac> interface_mac(const NetNs& ns, const std::string& ifname) {
  auto fd = socket_in(ns, AF_INET, SOCK_DGRAM, 0);
  if (!fd) return fd.error();
  Fd s(*fd);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(s.get(), SIOCGIFHWADDR, &ifr) < 0) return errno_error("read MAC of " + ifname + " in " + ns.name(), errno);
  Mac m;
  std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
  return m;
}

Status set_sysctl(const NetNs& ns, const std::string& key, const std::string& value) {
  int err = 0;
  auto st = ns.run([&] {
    int fd = ::open(("/proc/sys/" + key).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      return;
    }
    if (::write(fd, value.data(), value.size()) < 0) err = errno;
    ::close(fd);
  });
  if (!st) return st;
  if (err) return errno_error("sysctl " + key + "=" + value + " in " + ns.name(), err);
  return ok();
}

namespace {

Status quiet_namespace(const NetNs& ns) {
  // Crafted sources have no route back: reverse-path filtering would drop
  // them before the service saw them. IPv6 is off so router solicitations
  // and DAD do not show up as unclassified traffic.
  for (const char* key : {"net/ipv4/conf/all/rp_filter", "net/ipv4/conf/default/rp_filter"})
    if (auto s = set_sysctl(ns, key, "0"); !s) return s;
  for (const char* key : {"net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"})
    if (auto s = set_sysctl(ns, key, "1"); !s) return s;
  return ok();
}

}  // namespace

Result<std::unique_ptr<Topology>> Topology::build(const TopologyOptions& o) {
  std::unique_ptr<Topology> t(new Topology());
  auto make = [&](const char* role, std::optional<NetNs>& out) -> Status {
    auto ns = NetNs::create(unique_name(o.prefix + role));
    if (!ns) return ns.error();
    out.emplace(std::move(*ns));
    return quiet_namespace(*out);
  };
  if (auto s = make("n", t->node_); !s) return s.error();
  if (auto s = make("e", t->edge_); !s) return s.error();
  if (auto s = make("c", t->clients_); !s) return s.error();
  if (auto s = make("a", t->attackers_); !s) return s.error();

  const NetNs& edge = *t->edge_;
  const std::string br = "br0";
  if (auto s = edge.ip({"link", "add", br, "type", "bridge"}); !s) return s.error();
  if (auto s = edge.ip({"addr", "add", std::string(kGatewayAddr) + "/16", "dev", br}); !s) return s.error();
  if (auto s = edge.ip({"link", "set", br, "up"}); !s) return s.error();

  t->node_if_ = unique_name("rfxu");
  t->clients_if_ = unique_name("rfxc");
  t->attackers_if_ = unique_name("rfxa");
  t->edge_clients_if_ = unique_name("rfxec");
  const std::string edge_node_if = unique_name("rfxen"), edge_attackers_if = unique_name("rfxea");

  struct Port {
    const NetNs* host;
    std::string host_if, edge_if, addr;
  };
  for (const Port& p : {Port{&*t->node_, t->node_if_, edge_node_if, std::string(kNodeAddr) + "/16"},
                        Port{&*t->clients_, t->clients_if_, t->edge_clients_if_, client_addr(0) + "/16"},
                        Port{&*t->attackers_, t->attackers_if_, edge_attackers_if, "10.250.2.1/16"}}) {
    if (auto s = make_veth(*p.host, edge, {p.host_if, p.edge_if, p.addr, "", {}}); !s) return s.error();
    if (auto s = edge.ip({"link", "set", p.edge_if, "master", br}); !s) return s.error();
  }
  // More client addresses: one per TCP group, and the echo responder.
  for (unsigned n = 1; n < 8; ++n)
    if (auto s = add_address(*t->clients_, t->clients_if_, client_addr(n) + "/16"); !s) return s.error();
  if (auto s = add_address(*t->clients_, t->clients_if_, std::string(kEchoAddr) + "/16"); !s) return s.error();

  if (o.peer_mtu) {
    // A far end with jumbo frames: the veth refuses native XDP for a program
    // without multi-buffer support, as many real drivers refuse it.
    auto mtu = std::to_string(*o.peer_mtu);
    if (auto s = edge.ip({"link", "set", edge_node_if, "mtu", mtu}); !s) return s.error();
  }
  if (o.bottleneck) {
    // A slow hop with a deep buffer (the classic bufferbloat): tbf queues up
    // to `latency` worth of packets before dropping.
    auto rate = std::to_string(o.bottleneck->rate_bps) + "bit";
    auto lat = std::to_string(o.bottleneck->latency_ns / kNsPerMs) + "ms";
    if (auto s = edge.ip({"link", "set", t->edge_clients_if_, "txqueuelen", "10000"}); !s) return s.error();
    if (auto r = run_command({"tc", "-n", edge.name(), "qdisc", "replace", "dev", t->edge_clients_if_, "root", "tbf",
                              "rate", rate, "burst", "16kb", "latency", lat});
        !r)
      return r.error();
  }

  auto mac = interface_mac(*t->node_, t->node_if_);
  if (!mac) return mac.error();
  t->node_mac_ = *mac;
  // A static entry: the bridge never floods traffic for the node to every port.
  char m[18];
  std::snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", (*mac)[0], (*mac)[1], (*mac)[2], (*mac)[3], (*mac)[4],
                (*mac)[5]);
  if (auto r = run_command({"bridge", "-n", edge.name(), "fdb", "replace", m, "dev", edge_node_if, "master", "static"});
      !r)
    return r.error();
  if (auto s = t->node_->ip({"route", "add", "default", "via", kGatewayAddr}); !s) return s.error();
  if (auto s = t->clients_->ip({"route", "add", "default", "via", kGatewayAddr}); !s) return s.error();
  return t;
}

}  // namespace reflex::sim
