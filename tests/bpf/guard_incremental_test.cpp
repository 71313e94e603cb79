// Single-rule changes on the live tables: they must behave exactly as a
// fresh compile of the same rules would.
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

using namespace reflex;
using namespace reflex::guard;

namespace {

class GuardIncremental : public reflex::testing::DetachedGuardTest {
 protected:
  GuardRule rule(const char* text) {
    auto r = parse_rules(text, "t", boottime_ns());
    EXPECT_TRUE(r) << r.error().message();
    return r->at(0);
  }
  std::uint32_t verdict(const char* src, std::uint16_t dport = 53) {
    sim::PacketBuilder b;
    if (std::string(src).find(':') != std::string::npos)
      b.ipv6(src, "2001:db8:ffff::1");
    else
      b.ipv4(src, "10.99.0.1");
    auto r = test_run(g().xdp_prog_fd(), b.udp(1000, dport).build());
    EXPECT_TRUE(r);
    return r ? r->retval : 0;
  }
};

constexpr std::uint32_t kDrop = 1, kPass = 2;

TEST_F(GuardIncremental, HostRulesGoInPlaceAndLinkToTheirCover) {
  auto base = parse_rules("10.0.0.0/8 shadow\n10.1.0.0/16 allow proto=tcp\n2001:db8::/32 shadow\n2001:db8::9 drop\n",
                          "t", boottime_ns());
  ASSERT_TRUE(base);
  ASSERT_TRUE(g().replace(*base));
  auto v0 = g().active_meta().version;

  auto add = g().upsert(rule("10.1.2.3 drop"));
  ASSERT_TRUE(add) << add.error().message();
  EXPECT_TRUE(add->in_place);
  EXPECT_GT(add->version, v0);
  EXPECT_EQ(verdict("10.1.2.3"), kDrop);
  EXPECT_EQ(verdict("10.1.2.4"), kPass);
  EXPECT_EQ(g().rule_count(), 5u);

  // The cover's allow still wins over the new host rule where it matches.
  sim::PacketBuilder tcp;
  tcp.ipv4("10.1.2.3", "10.99.0.1").tcp(1, 22);
  EXPECT_EQ(test_run(g().xdp_prog_fd(), tcp.build())->retval, kPass);

  // IPv6 hosts go in place where /128 is already probed.
  auto add6 = g().upsert(rule("2001:db8::77 drop"));
  ASSERT_TRUE(add6);
  EXPECT_TRUE(add6->in_place);
  EXPECT_EQ(verdict("2001:db8::77"), kDrop);

  // A host in a /32 with no rules so far: the /32 filter must let it through.
  auto add6b = g().upsert(rule("2404:6800::1 drop"));
  ASSERT_TRUE(add6b);
  EXPECT_TRUE(add6b->in_place);
  EXPECT_EQ(verdict("2404:6800::1"), kDrop);
  EXPECT_EQ(verdict("2404:6800::2"), kPass);

  // Read back and counted like any other rule.
  auto rules = g().rules();
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->size(), 7u);
  auto stats = g().rule_stats();
  ASSERT_TRUE(stats);
  for (const auto& s : *stats) {
    if (s.rule.prefix.to_string() == "10.1.2.3") {
      EXPECT_EQ(s.packets, 1u);
    }
  }

  // Changing an existing rule is a swap.
  auto change = g().upsert(rule("10.1.2.3 shadow"));
  ASSERT_TRUE(change);
  EXPECT_FALSE(change->in_place);
  EXPECT_EQ(verdict("10.1.2.3"), kPass);
}

TEST_F(GuardIncremental, RemovalFallsBackToTheCoveringRules) {
  auto base = parse_rules("192.0.2.0/24 drop\n192.0.2.7 allow\n192.0.2.8 drop proto=udp port=53\n", "t", boottime_ns());
  ASSERT_TRUE(base);
  ASSERT_TRUE(g().replace(*base));
  EXPECT_EQ(verdict("192.0.2.7"), kPass);

  auto rm = g().remove([](const GuardRule& r) { return r.prefix.to_string() == "192.0.2.7"; });
  ASSERT_TRUE(rm);
  EXPECT_TRUE(rm->in_place);
  EXPECT_EQ(rm->changed, 1u);
  EXPECT_EQ(verdict("192.0.2.7"), kDrop);  // the /24 applies again
  EXPECT_EQ(g().rule_count(), 2u);
  EXPECT_EQ(g().count_matching([](const GuardRule& r) { return r.action == RuleAction::allow; }), 0u);

  // Removing the /24 leaves the port rule on .8 alone.
  ASSERT_TRUE(g().remove([](const GuardRule& r) { return r.prefix.len == 24; }));
  EXPECT_EQ(verdict("192.0.2.9"), kPass);
  EXPECT_EQ(verdict("192.0.2.8", 53), kDrop);
  EXPECT_EQ(verdict("192.0.2.8", 54), kPass);

  // Re-adding a host whose slot is switched off goes through a swap, which
  // also reclaims the switched-off entries.
  auto again = g().upsert(rule("192.0.2.7 allow"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->in_place);
  EXPECT_EQ(g().active_meta().n_disabled, 0u);
  EXPECT_EQ(g().rule_count(), 2u);
}

// Random in-place changes, then every packet must get what a fresh compile
// of the resulting rule list gives it.
TEST_F(GuardIncremental, AgreesWithAFreshCompileAfterRandomChanges) {
  reflex::testing::RandomGuardInputs gen(99, {.v4_base = 0xc0a80000, .v4_span = 1024, .v4_min_len = 20,
                                              .v6_min_len = 112, .rate_limits = false});
  auto base = gen.rules(60);
  // Make sure /128 is probed so IPv6 hosts can go in place too.
  GuardRule v6host;
  v6host.prefix = *Prefix::parse("2001:db8::ffff");
  base.push_back(v6host);
  ASSERT_TRUE(g().replace(base));
  int in_place = 0;
  for (int step = 0; step < 100; ++step) {
    if (gen.rng()() % 3 == 0) {
      auto victims = g().rules();
      ASSERT_TRUE(victims);
      if (victims->empty()) continue;
      RuleKey k = (*victims)[gen.rng()() % victims->size()].key();
      ASSERT_TRUE(g().remove([&](const GuardRule& r) { return r.key() == k; }));
    } else {
      auto r = gen.rules(1);
      if (r.empty()) continue;
      r[0].l4 = {};
      if (gen.rng()() % 2) r[0].prefix.len = r[0].prefix.max_len();  // mostly hosts: the in-place path
      mask_prefix(r[0].prefix);
      auto rep = g().upsert(r[0]);
      ASSERT_TRUE(rep) << rep.error().message();
      in_place += rep->in_place;
    }
  }
  EXPECT_GT(in_place, 15) << "the in-place path was hardly exercised";
  auto now_rules = g().rules();
  ASSERT_TRUE(now_rules);
  auto fresh = compile_rules(*now_rules, boottime_ns());
  ASSERT_TRUE(fresh);
  Classifier ref(*fresh);
  for (int k = 0; k < 1500; ++k) {
    auto f = gen.packet();
    f.proto = IPPROTO_UDP;
    f.dport = 1;
    char src[INET6_ADDRSTRLEN];
    inet_ntop(f.family == 4 ? AF_INET : AF_INET6, f.saddr.data(), src, sizeof(src));
    bool drop = ref.classify(f, boottime_ns()).reason == GUARD_R_DROP_RULE;
    ASSERT_EQ(verdict(src, 1), drop ? kDrop : kPass) << "packet from " << src;
  }
}

}  // namespace
