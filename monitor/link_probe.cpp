#include "monitor/link_probe.h"

namespace reflex::monitor {

LinkProbe::LinkProbe(std::string netns, std::vector<InterfaceRef> ifaces)
    : netns_(std::move(netns)), ifaces_(std::move(ifaces)) {}

std::string LinkProbe::name() const { return netns_.empty() ? "link_stats" : "link_stats@" + netns_; }

Status LinkProbe::open(boost::asio::io_context&) {
  auto ns = open_netns(netns_);
  if (!ns) return ns.error();
  auto nl = NetlinkLinks::open(*ns);
  if (!nl) return nl.error();
  ns_ = std::move(*ns);
  nl_ = std::move(*nl);
  return ok();
}

void LinkProbe::close() {
  nl_.reset();
  ns_.reset();
}

Status LinkProbe::sample(TickContext& ctx, Observation& obs) {
  for (const auto& ref : ifaces_) {
    auto got = nl_->get(ref.name);
    if (!got) return got.error();
    auto& io = obs.interfaces[ref.key];
    if (!*got) {
      // A namespace deleted and made again under the same name: our socket
      // still sits in the old one. Reopen in the new one.
      if (!netns_.empty())
        if (auto now = open_netns(netns_); now && now->ino != ns_->ino)
          return make_error("network namespace " + netns_ + " was recreated");
      io.present = false;
      ctx.degrade("link:" + ref.key, "interface " + ref.name + " not found" +
                                         (netns_.empty() ? "" : " in network namespace " + netns_) +
                                         " (check `ip" + (netns_.empty() ? "" : " -n " + netns_) + " link`)");
      continue;
    }
    const LinkSample& s = **got;
    State& st = state_[ref.key];
    if (st.ifindex && st.ifindex != s.ifindex) {
      // Deleted and created again: a new device whose counters start at zero.
      for (auto& c : st.counters) c.rebase();
    }
    st.ifindex = s.ifindex;
    const std::uint64_t raw[kFields] = {s.stats.rx_packets, s.stats.rx_bytes,  s.stats.tx_packets,
                                        s.stats.tx_bytes,   s.stats.rx_errors, s.stats.rx_dropped,
                                        s.stats.tx_errors,  s.stats.tx_dropped};
    std::uint64_t delta[kFields];
    for (int f = 0; f < kFields; ++f) delta[f] = st.counters[f].update(raw[f]);

    io.present = true;
    io.oper_up = s.oper_up;
    io.rx_packets = st.counters[kRxPackets].total();
    io.rx_bytes = st.counters[kRxBytes].total();
    io.tx_packets = st.counters[kTxPackets].total();
    io.tx_bytes = st.counters[kTxBytes].total();
    io.rx_errors = st.counters[kRxErrors].total();
    io.rx_dropped = st.counters[kRxDropped].total();
    io.tx_errors = st.counters[kTxErrors].total();
    io.tx_dropped = st.counters[kTxDropped].total();
    if (ctx.dt_s > 0) {
      io.rx_pps = static_cast<double>(delta[kRxPackets]) / ctx.dt_s;
      io.rx_bps = 8.0 * static_cast<double>(delta[kRxBytes]) / ctx.dt_s;  // bits, as plan/ reads it
      io.tx_pps = static_cast<double>(delta[kTxPackets]) / ctx.dt_s;
      io.tx_bps = 8.0 * static_cast<double>(delta[kTxBytes]) / ctx.dt_s;
    }
    ctx.ifaces[ref.key] = IfaceId{ns_->ino, s.ifindex};
  }
  return ok();
}

}  // namespace reflex::monitor
