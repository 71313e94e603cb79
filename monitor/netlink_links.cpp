#include "monitor/netlink_links.h"

#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace reflex::monitor {

Result<NetlinkLinks> NetlinkLinks::open(const NetnsHandle& ns) {
  auto fd = socket_in_netns(ns, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  if (!fd) return fd.error();
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd->get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0)
    return errno_error("bind rtnetlink socket", errno);
  int one = 1;
  // Error replies without a copy of the request: they stay small.
  setsockopt(fd->get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  // The kernel answers at once; a bound keeps a wedged socket from stalling the loop.
  timeval tv{1, 0};
  setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  NetlinkLinks l;
  l.sock_ = std::move(*fd);
  l.ns_name_ = ns.name;
  l.buf_.resize(32 * 1024);
  return l;
}

namespace {

struct GetLinkRequest {
  nlmsghdr nh;
  ifinfomsg ifi;
  char attrs[64];
};

void add_attr(nlmsghdr* nh, unsigned short type, const void* data, std::size_t len) {
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(nh) + NLMSG_ALIGN(nh->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(rta), data, len);
  nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

}  // namespace

Result<std::optional<LinkSample>> NetlinkLinks::get(const std::string& name) {
  if (name.size() >= IFNAMSIZ) return make_error("interface name too long: " + name);
  GetLinkRequest req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = ++seq_;
  req.ifi.ifi_family = AF_UNSPEC;
  add_attr(&req.nh, IFLA_IFNAME, name.c_str(), name.size() + 1);

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock_.get(), &req, req.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) <
      0)
    return errno_error("rtnetlink request for " + name, errno);

  for (;;) {
    ssize_t n = ::recv(sock_.get(), buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("rtnetlink reply for " + name, errno);
    }
    int len = static_cast<int>(n);
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data()); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_seq != seq_) continue;  // a stale reply to an earlier request
      if (nh->nlmsg_type == NLMSG_ERROR) {
        int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nh))->error;
        if (err == ENODEV) return std::optional<LinkSample>{};
        return errno_error("rtnetlink get link " + name + (ns_name_.empty() ? "" : " in netns " + ns_name_),
                           err);
      }
      if (nh->nlmsg_type != RTM_NEWLINK) continue;
      auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(nh));
      LinkSample s;
      s.ifindex = static_cast<std::uint32_t>(ifi->ifi_index);
      bool running = ifi->ifi_flags & IFF_RUNNING;
      int operstate = -1;
      int alen = static_cast<int>(IFLA_PAYLOAD(nh));
      bool have_stats = false;
      for (auto* rta = IFLA_RTA(ifi); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
        switch (rta->rta_type) {
          case IFLA_IFNAME:
            s.name.assign(static_cast<const char*>(RTA_DATA(rta)),
                          strnlen(static_cast<const char*>(RTA_DATA(rta)), RTA_PAYLOAD(rta)));
            break;
          case IFLA_OPERSTATE:
            operstate = *static_cast<const std::uint8_t*>(RTA_DATA(rta));
            break;
          case IFLA_STATS64:
            std::memcpy(&s.stats, RTA_DATA(rta), std::min<std::size_t>(RTA_PAYLOAD(rta), sizeof(s.stats)));
            have_stats = true;
            break;
        }
      }
      if (!have_stats) return make_error("rtnetlink: no IFLA_STATS64 for " + name, "kernel too old");
      s.oper_up = operstate == IF_OPER_UP || (operstate == IF_OPER_UNKNOWN && running);
      return std::optional<LinkSample>{std::move(s)};
    }
  }
}

}  // namespace reflex::monitor
