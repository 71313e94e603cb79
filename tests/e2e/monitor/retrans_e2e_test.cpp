// TCP retransmits as a Monitor signal, on real TCP between namespaces
// through a router: none without loss; rising on the sender's interface
// towards the router (and only there) while a tbf with a tiny queue on the
// router drops part of the flow; every count equal to the kernel's own (the
// sender namespace's RetransSegs and OutSegs).
#include <fstream>
#include <sstream>

#include "sim/tcp_load.h"
#include "tests/e2e/monitor/monitor_fixture.h"

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::testing;

namespace {

// One family of the kernel's counters as seen from inside ns, e.g. "Tcp:"
// of /proc/net/snmp.
std::map<std::string, std::uint64_t> proc_counters(const sim::NetNs& ns, const std::string& file,
                                                   const std::string& family) {
  std::map<std::string, std::uint64_t> out;
  auto st = ns.run([&] {
    std::ifstream f("/proc/thread-self/net/" + file);  // this thread's namespace, not the process's
    std::string names, values;
    while (std::getline(f, names) && std::getline(f, values)) {
      if (names.rfind(family, 0) != 0) continue;
      std::istringstream n(names), v(values);
      std::string name, value;
      n >> name;
      v >> value;
      while (n >> name && v >> value) out[name] = std::stoull(value);
    }
  });
  EXPECT_TRUE(st) << st.error().message();
  EXPECT_FALSE(out.empty()) << "no " << family << " counters in /proc/net/" << file;
  return out;
}

// What the sender's namespace counted: RetransSegs every retransmitted
// segment handed to IP, OutSegs every first transmission, data or not.
struct KernelTcp {
  std::uint64_t retrans_segs = 0, out_segs = 0;
  static KernelTcp read(const sim::NetNs& ns) {
    auto tcp = proc_counters(ns, "snmp", "Tcp:");
    return {tcp["RetransSegs"], tcp["OutSegs"]};
  }
};

const RetransSummary& retrans_of(const Observation& o, const std::string& key) {
  static const RetransSummary none;
  const auto& i = o.interfaces.at(key);
  EXPECT_TRUE(i.retrans.has_value()) << key << " has no retransmit summary";
  return i.retrans ? *i.retrans : none;
}

}  // namespace

TEST_F(MonitorE2E, RetransmitsRiseOnTheSendersInterfaceUnderLossAndNotWithout) {
  // a --ar-- r --rb-- b, beside the fixture's direct a--b pair, which carries
  // no TCP: the flow's counts belong to a's interface towards r alone.
  auto r = sim::NetNs::create(sim::unique_name("rfxmr"));
  ASSERT_TRUE(r) << r.error().message();
  const std::string if_ar = sim::unique_name("rfxma"), if_ra = sim::unique_name("rfxmr");
  const std::string if_rb = sim::unique_name("rfxmr"), if_br = sim::unique_name("rfxmb");
  ASSERT_TRUE(sim::make_veth(*a_, *r, {if_ar, if_ra, "10.78.2.1/24", "10.78.2.2/24", {}}));
  ASSERT_TRUE(sim::make_veth(*r, *b_, {if_rb, if_br, "10.78.3.1/24", "10.78.3.2/24", {}}));
  ASSERT_NO_FATAL_FAILURE(
      must_run({"ip", "netns", "exec", r->name(), "sysctl", "-qw", "net.ipv4.ip_forward=1"}));
  ASSERT_TRUE(a_->ip({"route", "add", "10.78.3.0/24", "via", "10.78.2.2"}));
  ASSERT_TRUE(b_->ip({"route", "add", "10.78.2.0/24", "via", "10.78.3.1"}));

  const std::string ka = if_ar + "@" + a_->name(), kb = if_br + "@" + b_->name(), kdirect = key_a();
  make_monitor({ka, kb, kdirect}, [](monitor::MonitorConfig& c) {
    c.guard = false;
    c.tcp_rtt = false;
  });
  Observation o = tick();
  ASSERT_TRUE(o.degraded.empty()) << o.degraded[0].probe << ": " << o.degraded[0].reason;
  const KernelTcp k0 = KernelTcp::read(*a_);

  // Sums over ticks of what the rates say was sent and retransmitted.
  struct Sums {
    double sent = 0, retrans = 0;
  };
  std::map<std::string, Sums> sums;
  auto add = [&](const Observation& o) {
    const double dt = static_cast<double>(o.interval_ns) / 1e9;
    for (const auto& k : {ka, kb, kdirect}) {
      sums[k].sent += retrans_of(o, k).segments_per_s * dt;
      sums[k].retrans += retrans_of(o, k).per_s * dt;
    }
  };

  // No loss: a bulk flow sends tens of thousands of segments and retransmits
  // (almost) none. A tail loss probe may resend a segment that was not lost,
  // and the host is shared: a softirq that falls behind drops a few packets
  // at the router's backlog.
  auto load = sim::TcpLoad::start(*a_, "10.78.2.1", *b_, "10.78.3.2", 7200);
  ASSERT_TRUE(load) << load.error().message();
  o = tick_until(
      [&](const Observation& o) {
        add(o);
        return sums[ka].sent >= 20000;
      },
      "20000 segments counted on " + ka, 100ms);
  const double clean_share = static_cast<double>(retrans_of(o, ka).retransmits) / sums[ka].sent;
  EXPECT_LT(clean_share, 0.001) << retrans_of(o, ka).retransmits << " retransmits without loss";
  EXPECT_EQ(retrans_of(o, kb).retransmits, 0u);  // the receiver only ACKs
  EXPECT_EQ(sums[kb].sent, 0);
  EXPECT_EQ(sums[kdirect].sent, 0);

  // Loss on the path: a 50 Mbit/s bottleneck on the router with room for
  // ten packets. Cubic overfills it, the tail is dropped, a retransmits.
  ScopedQdisc q(*r, if_rb);
  ASSERT_NO_FATAL_FAILURE(q.add({"tbf", "rate", "50mbit", "burst", "15kb", "limit", "15kb"}));
  const std::uint64_t before = retrans_of(o, ka).retransmits;
  o = tick_until(
      [&](const Observation& o) {
        add(o);
        return retrans_of(o, ka).retransmits >= before + 200;
      },
      "200 retransmits on " + ka, 100ms);
  EXPECT_GT(retrans_of(o, ka).per_s, 0);
  EXPECT_EQ(retrans_of(o, kb).retransmits, 0u);
  EXPECT_EQ(retrans_of(o, kdirect).retransmits, 0u);
  EXPECT_EQ(sums[kdirect].sent, 0);
  RecordProperty("retransmits_under_loss", std::to_string(retrans_of(o, ka).retransmits - before));

  // Back to no loss, then the flow ends: every segment is accounted for
  // (those sent after the socket's last ACK when it closes).
  q.del();
  (*load)->stop();
  std::uint64_t kernel_retrans = 0, kernel_sent = 0;
  o = tick_until(
      [&](const Observation& o) {
        add(o);
        const KernelTcp k = KernelTcp::read(*a_);
        kernel_retrans = k.retrans_segs - k0.retrans_segs;
        // Data segments sent: first transmissions and retransmits.
        kernel_sent = k.out_segs - k0.out_segs + kernel_retrans;
        return retrans_of(o, ka).retransmits == kernel_retrans &&
               sums[ka].sent + 20 >= static_cast<double>(kernel_sent);
      },
      "the counts to match the kernel's", 100ms, 5s);
  // The whole namespace's TCP is this one flow, so the probe saw all of it.
  EXPECT_EQ(retrans_of(o, ka).retransmits, kernel_retrans);
  EXPECT_NEAR(sums[ka].retrans, static_cast<double>(kernel_retrans), 0.5);  // the rates add up to the total
  // Only the handshake, FIN and pure ACKs are in OutSegs but carry no data.
  EXPECT_NEAR(sums[ka].sent, static_cast<double>(kernel_sent), 20) << "kernel sent " << kernel_sent;
  RecordProperty("segments_sent", std::to_string(kernel_sent));
  RecordProperty("retransmits", std::to_string(kernel_retrans));
}
