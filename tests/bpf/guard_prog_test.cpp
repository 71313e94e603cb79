// The guard in the kernel, through BPF_PROG_TEST_RUN: the test is data
// (Katran style). Each row is a rule set, a packet from the packet builder,
// the verdict, and the counter deltas it must cause. Every row runs through
// both the XDP program and its tc twin.
#include "guard/classify.h"
#include "guard/events.h"
#include "guard/guard.h"
#include "guard/rule_text.h"
#include "guard/test_run.h"
#include "sim/packet.h"
#include "tests/support/kernel_env.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

using namespace reflex;
using namespace reflex::guard;
using sim::PacketBuilder;

namespace {

constexpr std::uint32_t kXdpDrop = 1, kXdpPass = 2, kTcOk = 0, kTcShot = 2;

struct Row {
  const char* name;
  const char* rules;
  std::vector<std::uint8_t> packet;
  bool drop;                                    // expected verdict
  std::map<std::uint32_t, std::uint64_t> delta;  // verdict/fact counter -> packets, all others 0
  int repeat = 1;                                // packets sent (rate limits)
  int drops = -1;                                // with repeat: how many of them drop (-1: all or none per `drop`)
  // BPF_PROG_TEST_RUN for tc refuses frames whose IP header is shorter than
  // the ethertype promises (EINVAL), so those rows run through XDP only.
  bool xdp_only = false;
};

PacketBuilder v4(const char* src) {
  PacketBuilder b;
  b.ipv4(src, "10.99.0.1");
  return b;
}
PacketBuilder v6(const char* src) {
  PacketBuilder b;
  b.ipv6(src, "2001:db8:ffff::1");
  return b;
}

std::vector<Row> rows() {
  using R = std::map<std::uint32_t, std::uint64_t>;
  return {
      {"ipv4 udp, no rules", "", v4("192.0.2.1").udp(1000, 53).build(), false, R{{GUARD_R_PASS_NO_MATCH, 1}}},
      {"ipv4 udp blocked by /24", "192.0.2.0/24 drop", v4("192.0.2.1").udp(1000, 53).build(), true,
       R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv4 tcp blocked by /32", "192.0.2.1 drop", v4("192.0.2.1").tcp(1000, 80).build(), true,
       R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv4 icmp passes a tcp-only rule", "192.0.2.0/24 drop proto=tcp", v4("192.0.2.1").icmp().build(), false,
       R{{GUARD_R_PASS_NO_MATCH, 1}}},
      {"ipv6 udp blocked by /48", "2001:db8:1::/48 drop", v6("2001:db8:1::5").udp(1, 53).build(), true,
       R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv6 exact", "2001:db8::5 drop", v6("2001:db8::5").tcp(1, 443).build(), true, R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv6 other address passes", "2001:db8::5 drop", v6("2001:db8::6").tcp(1, 443).build(), false,
       R{{GUARD_R_PASS_NO_MATCH, 1}}},
      // The /32 filter lets a source skip every length of 32 or more, not the shorter ones.
      {"ipv6 filter skips to a short prefix", "2001::/16 shadow\n2001:db9:1::/48 drop\n2001:db9:2::7 drop",
       v6("2001:db8:5::1").udp(1, 53).build(), false, R{{GUARD_R_PASS_SHADOW, 1}}},
      {"ipv6 filter lets a long prefix match", "2001::/16 shadow\n2001:db9:1::/48 drop\n2001:db9:2::7 drop",
       v6("2001:db9:1::5").udp(1, 53).build(), true, R{{GUARD_R_DROP_RULE, 1}}},
      {"shadow counts, drops nothing", "198.51.100.0/24 shadow", v4("198.51.100.9").udp(1, 53).build(), false,
       R{{GUARD_R_PASS_SHADOW, 1}}},
      {"allow beats a more specific drop", "10.0.0.0/8 allow\n10.1.2.3 drop", v4("10.1.2.3").udp(1, 53).build(),
       false, R{{GUARD_R_PASS_ALLOW, 1}}},
      {"allow /32 inside a blocked /8", "10.0.0.0/8 drop\n10.1.2.3 allow", v4("10.1.2.3").udp(1, 53).build(), false,
       R{{GUARD_R_PASS_ALLOW, 1}}},
      {"port rule matches its port", "192.0.2.0/24 drop proto=udp port=53", v4("192.0.2.7").udp(9, 53).build(), true,
       R{{GUARD_R_DROP_RULE, 1}}},
      {"port rule skips other ports", "192.0.2.0/24 drop proto=udp port=53", v4("192.0.2.7").udp(9, 54).build(),
       false, R{{GUARD_R_PASS_NO_MATCH, 1}}},
      {"port rule falls back to the prefix rule", "192.0.2.0/24 shadow\n192.0.2.0/24 drop proto=udp port=53",
       v4("192.0.2.7").udp(9, 54).build(), false, R{{GUARD_R_PASS_SHADOW, 1}}},
      {"rate limit: burst 2, then drops", "198.51.100.7 limit pps=1 burst=2", v4("198.51.100.7").udp(1, 53).build(),
       false, R{{GUARD_R_PASS_RATE_OK, 2}, {GUARD_R_DROP_RATE, 3}}, 5, 3},
      {"rate limit is per source", "198.51.100.0/24 limit pps=1 burst=1", v4("198.51.100.8").udp(1, 53).build(),
       false, R{{GUARD_R_PASS_RATE_OK, 1}, {GUARD_R_DROP_RATE, 1}}, 2, 1},
      {"expired rule does not match", "EXPIRED 203.0.113.0/24 drop", v4("203.0.113.1").udp(1, 53).build(), false,
       R{{GUARD_R_PASS_NO_MATCH, 1}}},
      {"non-IP (ARP) passes", "0.0.0.0/0 drop", PacketBuilder().ethertype(0x0806).payload(28).build(), false,
       R{{GUARD_R_PASS_NON_IP, 1}}},
      {"truncated IPv4 header passes", "0.0.0.0/0 drop", v4("192.0.2.1").udp(1, 53).truncate(20).build(), false,
       R{{GUARD_R_PASS_MALFORMED, 1}}, 1, -1, true},
      {"truncated IPv6 header passes", "::/0 drop", v6("2001:db8::1").udp(1, 53).truncate(40).build(), false,
       R{{GUARD_R_PASS_MALFORMED, 1}}, 1, -1, true},
      {"bad IHL passes", "0.0.0.0/0 drop", [] {
         auto p = v4("192.0.2.1").udp(1, 53).build();
         p[14] = 0x43;  // IHL 3 < 5
         return p;
       }(),
       false, R{{GUARD_R_PASS_MALFORMED, 1}}},
      {"truncated UDP: prefix rule still drops", "192.0.2.0/24 drop", v4("192.0.2.1").udp(1, 53).truncate(36).build(),
       true, R{{GUARD_R_DROP_RULE, 1}, {GUARD_F_L4_TRUNC, 1}}},
      {"truncated UDP: port rule cannot match", "192.0.2.0/24 drop port=53",
       v4("192.0.2.1").udp(1, 53).truncate(36).build(), false, R{{GUARD_R_PASS_NO_MATCH, 1}, {GUARD_F_L4_TRUNC, 1}}},
      {"vlan tagged ipv4 blocked", "192.0.2.0/24 drop", v4("192.0.2.1").vlan(100).udp(1, 53).build(), true,
       R{{GUARD_R_DROP_RULE, 1}}},
      {"QinQ ipv4 blocked", "192.0.2.0/24 drop", v4("192.0.2.1").vlan(10, 0x88A8).vlan(20).udp(1, 53).build(), true,
       R{{GUARD_R_DROP_RULE, 1}}},
      {"vlan tagged ipv6 port rule", "2001:db8::/32 drop proto=tcp port=22",
       v6("2001:db8::1").vlan(7).tcp(1, 22).build(), true, R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv4 non-first fragment: prefix rule drops", "192.0.2.0/24 drop", v4("192.0.2.1").fragment(100, false).udp(1, 53).build(),
       true, R{{GUARD_R_DROP_RULE, 1}, {GUARD_F_FRAGMENT, 1}}},
      {"ipv4 non-first fragment: port rule cannot match", "192.0.2.0/24 drop port=53",
       v4("192.0.2.1").fragment(100, false).udp(1, 53).build(), false,
       R{{GUARD_R_PASS_NO_MATCH, 1}, {GUARD_F_FRAGMENT, 1}}},
      {"ipv4 first fragment carries ports", "192.0.2.0/24 drop port=53",
       v4("192.0.2.1").fragment(0, true).udp(1, 53).build(), true, R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv4 options before ports", "192.0.2.0/24 drop proto=udp port=53", v4("192.0.2.1").ip_options(3).udp(1, 53).build(),
       true, R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv6 hop-by-hop then udp port", "2001:db8::/32 drop proto=udp port=53",
       v6("2001:db8::1").ipv6_ext(0).ipv6_ext(60, 1).udp(1, 53).build(), true, R{{GUARD_R_DROP_RULE, 1}}},
      {"ipv6 non-first fragment", "2001:db8::/32 drop proto=udp", v6("2001:db8::1").fragment(20, true).udp(1, 53).build(),
       true, R{{GUARD_R_DROP_RULE, 1}, {GUARD_F_FRAGMENT, 1}}},
      {"ipv6 first fragment carries ports", "2001:db8::/32 drop proto=udp port=53",
       v6("2001:db8::1").fragment(0, true).udp(1, 53).build(), true, R{{GUARD_R_DROP_RULE, 1}}},
  };
}

class GuardProgTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() {
    if (!reflex::testing::bpf_unavailable_reason().empty()) return;
    auto g = Guard::create_detached();
    ASSERT_TRUE(g) << g.error().message();
    guard_ = new Guard(std::move(*g));
    // Every packet makes an event, so the ring buffer path is exercised too.
    ASSERT_TRUE(guard_->set_sample_every(1));
  }
  static void TearDownTestSuite() {
    delete guard_;
    guard_ = nullptr;
  }
  void SetUp() override {
    REFLEX_REQUIRE_BPF();
    ASSERT_NE(guard_, nullptr);
    // Fresh rate-limiter buckets for every row.
    int fd = guard_->map_fd(Guard::kRlState);
    guard_rl_key key{}, next{};
    while (bpf_map_get_next_key(fd, nullptr, &next) == 0) {
      key = next;
      bpf_map_delete_elem(fd, &key);
    }
  }

  static Status install(const char* text) {
    std::string t = text;
    bool expired = t.rfind("EXPIRED ", 0) == 0;
    if (expired) t = t.substr(8);
    std::uint64_t now = boottime_ns();
    auto rules = parse_rules(t, "row", now);
    if (!rules) return rules.error();
    // An "EXPIRED" row installs a rule whose expiry passed after the build:
    // only the datapath's own check can stop it from matching.
    std::uint64_t build_time = now;
    if (expired) {
      for (auto& r : *rules) r.expires_ns = now - 1'000'000'000ull;
      build_time = now - 2'000'000'000ull;
    }
    auto rs = compile_rules(*rules, build_time);
    if (!rs) return rs.error();
    auto rep = guard_->install(std::move(*rs));
    if (!rep) return rep.error();
    return ok();
  }

  static Guard* guard_;
};

Guard* GuardProgTest::guard_ = nullptr;

TEST_P(GuardProgTest, VerdictAndCounters) {
  Row row = rows()[GetParam()];
  SCOPED_TRACE(row.name);
  for (bool tc : {false, true}) {
    if (tc && row.xdp_only) continue;
    SCOPED_TRACE(tc ? "tc program" : "xdp program");
    SetUp();  // fresh rate-limit state for the tc pass too
    ASSERT_TRUE(install(row.rules));
    auto before = guard_->verdicts();
    ASSERT_TRUE(before);
    auto rules_before = guard_->rule_stats();
    ASSERT_TRUE(rules_before);
    int fd = tc ? guard_->tc_prog_fd() : guard_->xdp_prog_fd();
    int dropped = 0;
    for (int i = 0; i < row.repeat; ++i) {
      auto r = test_run(fd, row.packet);
      ASSERT_TRUE(r) << r.error().message();
      bool drop = tc ? r->retval == kTcShot : r->retval == kXdpDrop;
      ASSERT_TRUE(drop || r->retval == (tc ? kTcOk : kXdpPass)) << "unexpected retval " << r->retval;
      dropped += drop;
    }
    int want_drops = row.drops >= 0 ? row.drops : (row.drop ? row.repeat : 0);
    EXPECT_EQ(dropped, want_drops);
    auto after = guard_->verdicts();
    ASSERT_TRUE(after);
    for (std::uint32_t i = 0; i < GUARD_R_MAX; ++i) {
      std::uint64_t want = row.delta.count(i) ? row.delta.at(i) : 0;
      EXPECT_EQ((*after)[i].packets - (*before)[i].packets, want) << "counter " << reason_name(i);
    }
    // Bytes are counted with packets.
    std::uint64_t bytes = 0;
    for (std::uint32_t i = 0; i <= GUARD_R_PASS_MALFORMED; ++i) bytes += (*after)[i].bytes - (*before)[i].bytes;
    EXPECT_EQ(bytes, row.packet.size() * row.repeat);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, GuardProgTest, ::testing::Range<std::size_t>(0, rows().size()),
                         [](const auto& info) {
                           std::string n = rows()[info.param].name;
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
