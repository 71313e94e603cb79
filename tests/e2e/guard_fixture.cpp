#include "tests/e2e/guard_fixture.h"

#include <thread>

namespace reflex::testing {

void GuardE2E::SetUp() {
  REFLEX_REQUIRE_BPF();
  auto a = sim::NetNs::create(sim::unique_name("rfxta"));
  ASSERT_TRUE(a) << a.error().message();
  auto b = sim::NetNs::create(sim::unique_name("rfxtb"));
  ASSERT_TRUE(b) << b.error().message();
  a_ = std::make_unique<sim::NetNs>(std::move(*a));
  b_ = std::make_unique<sim::NetNs>(std::move(*b));
  if_a_ = sim::unique_name("rfxa");
  if_b_ = sim::unique_name("rfxb");
  auto st = sim::make_veth(*a_, *b_, {if_a_, if_b_, std::string(kA) + "/24", std::string(kB) + "/24",
                                       {std::string(kA11) + "/24", std::string(kA12) + "/24",
                                        std::string(kA13) + "/24", std::string(kA6) + "/64"}});
  ASSERT_TRUE(st) << st.error().message();
  ASSERT_TRUE(sim::add_address(*b_, if_b_, std::string(kB6) + "/64"));
}

void GuardE2E::TearDown() {
  // Pins first (they hold the links), then the namespaces with their links.
  if (b_) (void)guard::Guard::unload(key_b(if_b_), guard::GuardOptions{test_pin_root()});
  b_.reset();
  a_.reset();
}

CliResult GuardE2E::cli_b(std::vector<std::string> args) {
  args.insert(args.begin(), {"--netns", b_->name()});
  return guard_cli(args);
}

guard::Guard GuardE2E::open_guard() const {
  auto g = guard::Guard::open(key_b(if_b_), guard::GuardOptions{test_pin_root()});
  EXPECT_TRUE(g) << g.error().message();
  if (!g) throw std::runtime_error(g.error().message());
  return std::move(*g);
}

guard::VerdictCounters GuardE2E::counters() const {
  auto v = open_guard().verdicts();
  EXPECT_TRUE(v);
  return v ? *v : guard::VerdictCounters{};
}

std::uint64_t GuardE2E::ip_total(const guard::VerdictCounters& v) {
  std::uint64_t t = 0;
  for (std::uint32_t r : {GUARD_R_PASS_NO_MATCH, GUARD_R_PASS_ALLOW, GUARD_R_DROP_RULE, GUARD_R_DROP_RATE,
                          GUARD_R_PASS_SHADOW, GUARD_R_PASS_RATE_OK})
    t += v[r].packets;
  return t;
}

guard::VerdictCounters GuardE2E::wait_counters(const std::function<bool(const guard::VerdictCounters&)>& done,
                                               const std::string& what) const {
  auto g = open_guard();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto v = g.verdicts();
    EXPECT_TRUE(v);
    if (!v) return {};
    if (done(*v)) return *v;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "the guard's counters never showed " << what << " (waited 10 s)";
      return *v;
    }
    std::this_thread::yield();
  }
}

guard::VerdictCounters GuardE2E::wait_judged(const guard::VerdictCounters& since, std::uint64_t n) const {
  return wait_counters([&](const guard::VerdictCounters& v) { return ip_total(v) >= ip_total(since) + n; },
                       std::to_string(n) + " packets judged");
}

std::size_t GuardE2E::udp_round(const std::string& src, std::size_t n, std::uint16_t port) {
  bool v6 = src.find(':') != std::string::npos;
  auto rx = sim::UdpPeer::open(*b_, v6 ? kB6 : kB, port);
  EXPECT_TRUE(rx) << rx.error().message();
  auto tx = sim::UdpPeer::open(*a_, src, 0);
  EXPECT_TRUE(tx) << tx.error().message();
  if (!rx || !tx) return 0;
  // Neighbour discovery first, so the datagrams are not held back by ARP/ND.
  auto before = counters();
  auto sent = tx->send_many(v6 ? kB6 : kB, port, 0, n);
  EXPECT_TRUE(sent);
  EXPECT_EQ(*sent, n);
  wait_judged(before, n);
  // Everything the guard passed is now in flight to the socket or there already.
  return rx->receive(n, std::chrono::milliseconds(300));
}

}  // namespace reflex::testing
