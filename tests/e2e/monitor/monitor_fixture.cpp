#include "tests/e2e/monitor/monitor_fixture.h"

#include <boost/asio/steady_timer.hpp>

namespace reflex::testing {

void must_run(const std::vector<std::string>& argv) {
  auto r = sim::run_command(argv);
  ASSERT_TRUE(r) << r.error().message();
}

void ScopedQdisc::add(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip", "netns", "exec", ns_.name(), "tc", "qdisc", "add", "dev", dev_, "root"};
  argv.insert(argv.end(), args.begin(), args.end());
  must_run(argv);
  on_ = !::testing::Test::HasFatalFailure();
}

void ScopedQdisc::del() {
  if (on_)
    (void)sim::run_command({"ip", "netns", "exec", ns_.name(), "tc", "qdisc", "del", "dev", dev_, "root"});
  on_ = false;
}

void MonitorE2E::SetUp() {
  REFLEX_REQUIRE_BPF();
  auto a = sim::NetNs::create(sim::unique_name("rfxma"));
  ASSERT_TRUE(a) << a.error().message();
  a_ = std::make_unique<sim::NetNs>(std::move(*a));
  auto b = sim::NetNs::create(sim::unique_name("rfxmb"));
  ASSERT_TRUE(b) << b.error().message();
  b_ = std::make_unique<sim::NetNs>(std::move(*b));
  // No IPv6: no router solicitations or MLD reports on the link, so every
  // packet counted is one the test sent (or ARP for it).
  for (const auto* ns : {a_.get(), b_.get()})
    for (const char* key : {"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"})
      ASSERT_NO_FATAL_FAILURE(must_run({"ip", "netns", "exec", ns->name(), "sysctl", "-qw", key}));
  if_a_ = sim::unique_name("rfxma");
  if_b_ = sim::unique_name("rfxmb");
  auto st =
      sim::make_veth(*a_, *b_,
                     {if_a_,
                      if_b_,
                      std::string(kA) + "/24",
                      std::string(kB) + "/24",
                      {std::string(kA11) + "/24", std::string(kA12) + "/24", std::string(kA13) + "/24"}});
  ASSERT_TRUE(st) << st.error().message();
}

void MonitorE2E::TearDown() {
  // The Monitor first (its programs and guard fds), then the guard's pins, then the namespaces.
  if (mon_) mon_->stop();
  mon_.reset();
  if (b_) (void)guard::Guard::unload(key_b(), guard::GuardOptions{test_pin_root()});
  b_.reset();
  a_.reset();
}

guard::Guard MonitorE2E::load_guard(guard::LoadMode mode) {
  // The guard attaches inside b itself; its pins are named IF@b.
  auto g = guard::Guard::load(key_b(), mode, guard::GuardOptions{test_pin_root()});
  if (!g) throw std::runtime_error("load guard: " + g.error().message());
  return std::move(*g);
}

guard::Guard MonitorE2E::open_guard() const {
  auto g = guard::Guard::open(key_b(), guard::GuardOptions{test_pin_root()});
  if (!g) throw std::runtime_error(g.error().message());
  return std::move(*g);
}

void MonitorE2E::make_monitor(const std::vector<std::string>& ifaces,
                              const std::function<void(monitor::MonitorConfig&)>& tweak) {
  monitor::MonitorConfig c;
  for (const auto& i : ifaces) {
    auto ref = monitor::parse_interface_ref(i);
    ASSERT_TRUE(ref) << ref.error().message();
    c.interfaces.push_back(*ref);
  }
  c.pin_root = test_pin_root();
  c.interval = std::chrono::milliseconds(50);
  c.backoff_initial = std::chrono::milliseconds(50);
  c.backoff_max = std::chrono::milliseconds(200);
  if (tweak) tweak(c);
  auto m = monitor::Monitor::create(io_, c, {});
  ASSERT_TRUE(m) << m.error().message();
  mon_ = std::move(*m);
}

Observation MonitorE2E::tick(std::chrono::milliseconds wait) {
  io_.restart();
  if (wait.count() > 0) {
    // A sampling interval, on the loop: ring buffers are consumed as they wake it meanwhile.
    boost::asio::steady_timer t(io_, wait);
    bool due = false;
    t.async_wait([&](const boost::system::error_code&) { due = true; });
    while (!due) io_.run_one();
  } else {
    io_.poll();
  }
  return mon_->tick();
}

Observation MonitorE2E::tick_until(const std::function<bool(const Observation&)>& pred,
                                   const std::string& what, std::chrono::milliseconds every,
                                   std::chrono::seconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  Observation o = tick();
  while (!pred(o)) {
    if (std::chrono::steady_clock::now() > end) {
      ADD_FAILURE() << "timed out after " << deadline.count() << " s waiting for " << what;
      return o;
    }
    o = tick(every);
  }
  return o;
}

std::size_t MonitorE2E::send_udp(const std::string& src, std::size_t n, std::uint16_t port, bool receive) {
  std::unique_ptr<sim::UdpPeer> rx;
  if (receive) {
    auto r = sim::UdpPeer::open(*b_, kB, port);
    EXPECT_TRUE(r) << r.error().message();
    if (!r) return 0;
    rx = std::make_unique<sim::UdpPeer>(std::move(*r));
  }
  auto tx = sim::UdpPeer::open(*a_, src, 0);
  EXPECT_TRUE(tx) << tx.error().message();
  if (!tx) return 0;
  // In rounds the receive buffer holds whole: the kernel would otherwise
  // drop the overflow (SOCKET_RCVBUFF), and the test wants every datagram.
  constexpr std::size_t kRound = 1000;
  std::size_t got = 0;
  for (std::size_t first = 0; first < n; first += kRound) {
    std::size_t m = std::min(kRound, n - first);
    auto sent = tx->send_many(kB, port, static_cast<std::uint32_t>(first), m);
    EXPECT_TRUE(sent);
    EXPECT_EQ(sent ? *sent : 0, m);
    // Waits for the datagrams themselves (a quiet gap ends it early only if some were lost).
    if (rx) got += rx->receive(m, std::chrono::milliseconds(500));
  }
  return got;
}

bool MonitorE2E::degraded(const Observation& o, const std::string& probe, std::string* reason) {
  for (const auto& d : o.degraded)
    if (d.probe == probe) {
      if (reason) *reason = d.reason;
      return true;
    }
  return false;
}

}  // namespace reflex::testing
