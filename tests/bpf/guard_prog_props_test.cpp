// Properties of the guard in the kernel beyond the table: the BPF program
// agrees with the reference classifier on random rule sets, per-rule
// counters and their carry-over across swaps, sampled events, top talkers.
#include "guard/classify.h"
#include "guard/events.h"
#include "guard/guard.h"
#include "guard/rule_text.h"
#include "guard/test_run.h"
#include "sim/packet.h"
#include "tests/support/detached_guard.h"
#include "tests/support/kernel_env.h"
#include "tests/support/random_guard.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <random>
#include <set>

using namespace reflex;
using namespace reflex::guard;

namespace {

using GuardProps = reflex::testing::DetachedGuardTest;

TEST_F(GuardProps, KernelAgreesWithTheReferenceOnRandomRuleSets) {
  // No limit rules: their verdict depends on token state the reference does not model.
  reflex::testing::RandomGuardInputs gen(777, {.v4_base = 0xc0a80000, .v4_span = 8192, .v4_min_len = 16,
                                               .v6_min_len = 100, .rate_limits = false});
  for (int round = 0; round < 12; ++round) {
    auto rules = gen.rules(120);
    auto rs = compile_rules(rules, boottime_ns());
    ASSERT_TRUE(rs) << rs.error().message();
    Classifier ref(*rs);
    ASSERT_TRUE(g().install(*rs));
    for (int k = 0; k < 300; ++k) {
      auto f = gen.packet();
      sim::PacketBuilder b;
      char src[INET6_ADDRSTRLEN];
      inet_ntop(f.family == 4 ? AF_INET : AF_INET6, f.saddr.data(), src, sizeof(src));
      if (f.family == 4)
        b.ipv4(src, "10.99.0.1");
      else
        b.ipv6(src, "2001:db8:ffff::1");
      // The reference's "no port" packets are fragments on the wire.
      if (!f.dport) b.fragment(10, false);
      std::uint16_t port = f.dport.value_or(1);
      if (f.proto == IPPROTO_TCP)
        b.tcp(999, port);
      else
        b.udp(999, port);
      auto want = ref.classify(f, boottime_ns());
      auto got = test_run(g().xdp_prog_fd(), b.build());
      ASSERT_TRUE(got);
      bool drop = want.reason == GUARD_R_DROP_RULE;
      ASSERT_EQ(got->retval, drop ? 1u : 2u) << "round " << round << " packet " << k << " expected "
                                             << reason_name(want.reason);
    }
  }
}

TEST_F(GuardProps, PerRuleCountersCountAndSurviveSwaps) {
  auto rules = parse_rules("192.0.2.0/24 drop\n198.51.100.0/24 shadow\n", "t", boottime_ns());
  ASSERT_TRUE(rules);
  ASSERT_TRUE(g().replace(*rules));
  auto blocked = sim::PacketBuilder().ipv4("192.0.2.9", "10.0.0.1").udp(1, 2).build();
  auto shadowed = sim::PacketBuilder().ipv4("198.51.100.9", "10.0.0.1").udp(1, 2).build();
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), blocked, 7));
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), shadowed, 3));
  auto count_of = [&](const char* prefix) -> std::uint64_t {
    auto stats = g().rule_stats();
    EXPECT_TRUE(stats);
    for (const auto& s : *stats)
      if (s.rule.prefix.to_string() == prefix) return s.packets;
    return ~0ull;
  };
  EXPECT_EQ(count_of("192.0.2.0/24"), 7u);
  EXPECT_EQ(count_of("198.51.100.0/24"), 3u);

  // Swap in a set that keeps one rule, drops one and adds one.
  auto next = parse_rules("192.0.2.0/24 drop\n203.0.113.0/24 drop\n", "t", boottime_ns());
  ASSERT_TRUE(next);
  auto rep = g().replace(*next);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->rules, 2u);
  EXPECT_EQ(count_of("192.0.2.0/24"), 7u);  // carried over
  EXPECT_EQ(count_of("203.0.113.0/24"), 0u);
  EXPECT_EQ(count_of("198.51.100.0/24"), ~0ull);  // gone
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), blocked, 2));
  EXPECT_EQ(count_of("192.0.2.0/24"), 9u);
}

TEST_F(GuardProps, SampledDropEventsReachTheRingBuffer) {
  auto rules = parse_rules("192.0.2.0/24 drop proto=udp port=53\n", "t", boottime_ns());
  ASSERT_TRUE(rules);
  ASSERT_TRUE(g().replace(*rules));
  ASSERT_TRUE(g().set_sample_every(1));
  std::vector<DropEvent> seen;
  EventReader reader([&](const DropEvent& e) { seen.push_back(e); });
  ASSERT_TRUE(reader.add(g().events_fd(), "test"));
  auto pkt = sim::PacketBuilder().ipv4("192.0.2.77", "10.0.0.1").udp(4000, 53).payload(10).build();
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), pkt, 5));
  auto n = reader.consume();
  ASSERT_TRUE(n);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].reason, static_cast<std::uint32_t>(GUARD_R_DROP_RULE));
  EXPECT_EQ(seen[0].source.to_string(), "192.0.2.77");
  EXPECT_EQ(seen[0].proto, IPPROTO_UDP);
  EXPECT_EQ(seen[0].dport, 53);
  EXPECT_EQ(seen[0].pkt_len, pkt.size());
  EXPECT_EQ(seen[0].rule_uid, rule_uid((*rules)[0].key()));

  // Sampling is set at run time: 1 in 0 means off.
  seen.clear();
  ASSERT_TRUE(g().set_sample_every(0));
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), pkt, 50));
  ASSERT_TRUE(reader.consume());
  EXPECT_TRUE(seen.empty());
  // 1 in 10 over many packets: about a tenth, never all.
  ASSERT_TRUE(g().set_sample_every(10));
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(test_run(g().xdp_prog_fd(), pkt, 1));
  ASSERT_TRUE(reader.consume());
  EXPECT_GT(seen.size(), 100u);
  EXPECT_LT(seen.size(), 320u);
}

// A reader that falls behind loses samples, and the guard says how many:
// every sampled drop is either in the ring or counted as lost.
TEST_F(GuardProps, EventsLostToAFullRingAreCounted) {
  auto rules = parse_rules("192.0.2.0/24 drop\n", "t", boottime_ns());
  ASSERT_TRUE(rules);
  ASSERT_TRUE(g().replace(*rules));
  ASSERT_TRUE(g().set_sample_every(1));
  std::size_t seen = 0;
  EventReader reader([&](const DropEvent&) { ++seen; });
  ASSERT_TRUE(reader.add(g().events_fd(), "test"));
  ASSERT_TRUE(reader.consume());  // start from an empty ring
  seen = 0;
  auto before = g().verdicts();
  ASSERT_TRUE(before);
  auto pkt = sim::PacketBuilder().ipv4("192.0.2.9", "10.0.0.1").udp(1, 2).build();
  // Far more events than the ring holds (it is a few thousand records).
  constexpr std::uint32_t kDrops = 100000;
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), pkt, kDrops));
  ASSERT_TRUE(reader.consume());
  auto after = g().verdicts();
  ASSERT_TRUE(after);
  auto delta = [&](std::uint32_t r) { return (*after)[r].packets - (*before)[r].packets; };
  EXPECT_EQ(delta(GUARD_R_DROP_RULE), kDrops);
  EXPECT_GT(delta(GUARD_F_EVENT_LOST), 0u);
  EXPECT_GT(seen, 0u);
  EXPECT_EQ(seen + delta(GUARD_F_EVENT_LOST), kDrops);
  EXPECT_EQ(reason_name(GUARD_F_EVENT_LOST), "events_lost");
}

TEST_F(GuardProps, TopTalkersRankSourcesByPackets) {
  ASSERT_TRUE(g().replace(std::vector<GuardRule>{}));
  auto a = sim::PacketBuilder().ipv4("203.0.113.1", "10.0.0.1").udp(1, 2).build();
  auto b = sim::PacketBuilder().ipv6("2001:db8::2", "2001:db8::ffff").udp(1, 2).build();
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), a, 30));
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), b, 12));
  auto top = g().top_talkers(10);
  ASSERT_TRUE(top);
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].source.to_string(), "203.0.113.1");
  EXPECT_EQ((*top)[0].packets, 30u);
  EXPECT_EQ((*top)[0].bytes, 30u * a.size());
  EXPECT_EQ((*top)[1].source.to_string(), "2001:db8::2");
  EXPECT_EQ((*top)[1].packets, 12u);
  // Off at run time: no more accounting.
  ASSERT_TRUE(g().set_talkers(false));
  ASSERT_TRUE(test_run(g().xdp_prog_fd(), a, 5));
  EXPECT_EQ((*g().top_talkers(10))[0].packets, 30u);
}

TEST_F(GuardProps, AFailedSwapLeavesTheRuleSetInForce) {
  auto good = parse_rules("192.0.2.0/24 drop\n", "t", boottime_ns());
  ASSERT_TRUE(good);
  ASSERT_TRUE(g().replace(*good));
  auto version = g().active_meta().version;
  GuardRule bad;  // a limit without a rate: refused before anything is built
  bad.prefix = *Prefix::parse("10.0.0.0/8");
  bad.action = RuleAction::rate_limit;
  std::vector<GuardRule> bad_set{bad};
  EXPECT_FALSE(g().replace(bad_set));
  EXPECT_EQ(g().active_meta().version, version);
  auto pkt = sim::PacketBuilder().ipv4("192.0.2.9", "10.0.0.1").udp(1, 2).build();
  EXPECT_EQ(test_run(g().xdp_prog_fd(), pkt)->retval, 1u);
  auto back = g().rules();
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *good);
}

}  // namespace
