// The compiler and the reference classifier, without a kernel: each table
// case is checked against a brute-force reading of the rules themselves, so
// the tables, chains and hashes are tested against the semantics, not
// against themselves.
#include "guard/classify.h"
#include "guard/compiler.h"
#include "guard/rule_text.h"
#include "tests/support/random_guard.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <random>
#include <set>

using namespace reflex;
using namespace reflex::guard;

namespace {

constexpr std::uint64_t kNow = 5'000'000'000'000ull;

std::vector<GuardRule> rules_of(const char* text, std::uint64_t now = kNow) {
  auto r = parse_rules(text, "test", now);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : std::vector<GuardRule>{};
}

PacketFacts pkt(const char* src, std::uint8_t proto = IPPROTO_UDP, std::optional<std::uint16_t> dport = 53) {
  auto p = Prefix::parse(src);
  EXPECT_TRUE(p);
  PacketFacts f;
  f.family = p->family;
  f.saddr = p->addr;
  f.proto = proto;
  f.dport = dport;
  return f;
}

// The semantics, read straight off the rule list: allow anywhere wins; else
// the longest matching prefix, then the most specific L4 filter.
std::uint32_t brute_force(const std::vector<GuardRule>& rules, const PacketFacts& p, std::uint64_t now) {
  Prefix host;
  host.family = p.family;
  host.len = p.family == 4 ? 32 : 128;
  host.addr = p.saddr;
  const GuardRule* best = nullptr;
  for (const auto& r : rules) {
    if (!r.prefix.contains(host)) continue;
    if (r.expires_ns && r.expires_ns <= now) continue;
    if (r.l4.proto && *r.l4.proto != p.proto) continue;
    if (r.l4.port && (!p.dport || *r.l4.port != *p.dport)) continue;
    if (r.action == RuleAction::allow) return GUARD_R_PASS_ALLOW;
    auto spec = [](const GuardRule& x) { return (x.l4.port ? 2 : 0) + (x.l4.proto ? 1 : 0); };
    if (!best || r.prefix.len > best->prefix.len || (r.prefix.len == best->prefix.len && spec(r) > spec(*best)))
      best = &r;
  }
  if (!best) return GUARD_R_PASS_NO_MATCH;
  switch (best->action) {
    case RuleAction::drop: return GUARD_R_DROP_RULE;
    case RuleAction::shadow: return GUARD_R_PASS_SHADOW;
    case RuleAction::rate_limit: return GUARD_R_PASS_RATE_OK;
    case RuleAction::allow: break;
  }
  return GUARD_R_PASS_ALLOW;
}

struct Case {
  const char* name;
  const char* rules;
  const char* src;
  std::uint8_t proto;
  std::optional<std::uint16_t> dport;
  std::uint32_t want;
};

class CompilerTable : public ::testing::TestWithParam<Case> {};

TEST_P(CompilerTable, ClassifiesAsTheRulesSay) {
  const Case& c = GetParam();
  auto rules = rules_of(c.rules);
  auto rs = compile_rules(rules, kNow);
  ASSERT_TRUE(rs) << rs.error().message();
  Classifier cl(*rs);
  auto p = pkt(c.src, c.proto, c.dport);
  EXPECT_EQ(cl.classify(p, kNow).reason, c.want) << c.name;
  EXPECT_EQ(brute_force(rules, p, kNow), c.want) << c.name << " (the expectation disagrees with the semantics)";
}

INSTANTIATE_TEST_SUITE_P(
    Semantics, CompilerTable,
    ::testing::Values(
        Case{"no rules", "", "10.0.0.1", IPPROTO_UDP, 53, GUARD_R_PASS_NO_MATCH},
        Case{"exact v4", "10.0.0.1 drop", "10.0.0.1", IPPROTO_UDP, 53, GUARD_R_DROP_RULE},
        Case{"exact v4 neighbour", "10.0.0.1 drop", "10.0.0.2", IPPROTO_UDP, 53, GUARD_R_PASS_NO_MATCH},
        Case{"/8", "10.0.0.0/8 drop", "10.200.3.4", IPPROTO_TCP, 80, GUARD_R_DROP_RULE},
        Case{"/0 catches all v4", "0.0.0.0/0 drop", "192.0.2.9", IPPROTO_TCP, 80, GUARD_R_DROP_RULE},
        Case{"/0 v4 not v6", "0.0.0.0/0 drop", "2001:db8::9", IPPROTO_TCP, 80, GUARD_R_PASS_NO_MATCH},
        Case{"/20 in a chunk", "10.16.0.0/12 shadow\n10.20.16.0/20 drop", "10.20.31.1", 6, 1, GUARD_R_DROP_RULE},
        Case{"/20 sibling falls to /12", "10.16.0.0/12 shadow\n10.20.16.0/20 drop", "10.20.32.1", 6, 1,
             GUARD_R_PASS_SHADOW},
        Case{"/28 long prefix", "10.0.0.0/8 shadow\n10.1.1.16/28 drop", "10.1.1.20", 17, 53, GUARD_R_DROP_RULE},
        Case{"/28 neighbour in same /24", "10.0.0.0/8 shadow\n10.1.1.16/28 drop", "10.1.1.40", 17, 53,
             GUARD_R_PASS_SHADOW},
        Case{"/31 and /25 nest", "10.1.1.0/25 shadow\n10.1.1.2/31 drop", "10.1.1.3", 17, 53, GUARD_R_DROP_RULE},
        Case{"/25 outer", "10.1.1.0/25 shadow\n10.1.1.2/31 drop", "10.1.1.9", 17, 53, GUARD_R_PASS_SHADOW},
        Case{"/32 under /28", "10.1.1.16/28 shadow\n10.1.1.17 drop", "10.1.1.17", 17, 53, GUARD_R_DROP_RULE},
        Case{"allow /8 beats drop /32", "10.0.0.0/8 allow\n10.1.2.3 drop", "10.1.2.3", 17, 53, GUARD_R_PASS_ALLOW},
        Case{"allow /32 beats drop /8", "10.0.0.0/8 drop\n10.1.2.3 allow", "10.1.2.3", 17, 53, GUARD_R_PASS_ALLOW},
        Case{"allow narrowed by port, other port", "10.0.0.0/8 drop\n10.0.0.0/8 allow proto=tcp port=22", "10.9.9.9",
             IPPROTO_TCP, 23, GUARD_R_DROP_RULE},
        Case{"allow narrowed by port, its port", "10.0.0.0/8 drop\n10.0.0.0/8 allow proto=tcp port=22", "10.9.9.9",
             IPPROTO_TCP, 22, GUARD_R_PASS_ALLOW},
        Case{"port rule falls back to prefix rule", "192.0.2.0/24 shadow\n192.0.2.0/24 drop proto=udp port=53",
             "192.0.2.1", IPPROTO_UDP, 123, GUARD_R_PASS_SHADOW},
        Case{"port rule matches", "192.0.2.0/24 shadow\n192.0.2.0/24 drop proto=udp port=53", "192.0.2.1",
             IPPROTO_UDP, 53, GUARD_R_DROP_RULE},
        Case{"port rule, tcp not udp", "192.0.2.0/24 drop proto=udp port=53", "192.0.2.1", IPPROTO_TCP, 53,
             GUARD_R_PASS_NO_MATCH},
        Case{"port rule, fragment has no port", "192.0.2.0/24 drop port=53", "192.0.2.1", IPPROTO_UDP,
             std::nullopt, GUARD_R_PASS_NO_MATCH},
        Case{"proto rule on fragment", "192.0.2.0/24 drop proto=udp", "192.0.2.1", IPPROTO_UDP, std::nullopt,
             GUARD_R_DROP_RULE},
        Case{"limit", "198.51.100.0/24 limit pps=10", "198.51.100.7", IPPROTO_UDP, 53, GUARD_R_PASS_RATE_OK},
        Case{"more specific limit beats broader drop", "198.51.100.0/24 drop\n198.51.100.7 limit pps=10",
             "198.51.100.7", IPPROTO_UDP, 53, GUARD_R_PASS_RATE_OK},
        Case{"v6 exact", "2001:db8::1 drop", "2001:db8::1", IPPROTO_UDP, 53, GUARD_R_DROP_RULE},
        Case{"v6 /32", "2001:db8::/32 drop", "2001:db8:ffff::1", IPPROTO_UDP, 53, GUARD_R_DROP_RULE},
        Case{"v6 /0", "::/0 shadow", "2001:db8:ffff::1", IPPROTO_UDP, 53, GUARD_R_PASS_SHADOW},
        Case{"v6 odd length /61", "2001:db8:0:8::/61 drop", "2001:db8:0:f::1", IPPROTO_UDP, 53, GUARD_R_DROP_RULE},
        Case{"v6 odd length /61 outside", "2001:db8:0:8::/61 drop", "2001:db8:0:10::1", IPPROTO_UDP, 53,
             GUARD_R_PASS_NO_MATCH},
        Case{"v6 nested lengths", "2001:db8::/32 shadow\n2001:db8:1::/48 drop\n2001:db8:1:2::/64 allow",
             "2001:db8:1:3::1", IPPROTO_UDP, 53, GUARD_R_DROP_RULE},
        Case{"v6 nested allow", "2001:db8::/32 shadow\n2001:db8:1::/48 drop\n2001:db8:1:2::/64 allow",
             "2001:db8:1:2::1", IPPROTO_UDP, 53, GUARD_R_PASS_ALLOW}));

TEST(Compiler, ExpiredRulesStopMatchingAndAreCollected) {
  auto rules = rules_of("10.0.0.0/8 drop ttl=10\n10.0.0.0/16 shadow", kNow);
  auto rs = compile_rules(rules, kNow);
  ASSERT_TRUE(rs);
  Classifier cl(*rs);
  EXPECT_EQ(cl.classify(pkt("10.0.9.9"), kNow).reason, GUARD_R_PASS_SHADOW);
  EXPECT_EQ(cl.classify(pkt("10.9.9.9"), kNow).reason, GUARD_R_DROP_RULE);
  // After expiry, with the same tables: the datapath's own check.
  EXPECT_EQ(cl.classify(pkt("10.9.9.9"), kNow + 11'000'000'000ull).reason, GUARD_R_PASS_NO_MATCH);
  // A later compile leaves it out altogether.
  auto later = compile_rules(rules, kNow + 11'000'000'000ull);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->expired_dropped, 1u);
  EXPECT_EQ(later->meta.n_rules, 2u);
}

TEST(Compiler, RejectsDuplicatesAndTooDeepNesting) {
  GuardRule a;
  a.prefix = *Prefix::parse("10.0.0.0/8");
  std::vector<GuardRule> dup{a, a};
  EXPECT_FALSE(compile_rules(dup, kNow));

  std::vector<GuardRule> deep;
  for (int len = 1; len <= 32; ++len)
    for (int port : {1, 2}) {
      GuardRule r;
      r.prefix = Prefix::v4(0x0a000001, static_cast<std::uint8_t>(len));
      r.l4.port = static_cast<std::uint16_t>(port);
      deep.push_back(r);
    }
  auto rs = compile_rules(deep, kNow);
  ASSERT_FALSE(rs);
  EXPECT_NE(rs.error().what.find("nest too deep"), std::string::npos);
}

TEST(Compiler, RulesReadBackFromEntries) {
  auto rules = rules_of("10.0.0.0/8 allow\n198.51.100.7 limit pps=1000 burst=2000\n2001:db8::/32 shadow\n"
                        "192.0.2.0/24 drop proto=udp port=53 ttl=600");
  auto rs = compile_rules(rules, kNow);
  ASSERT_TRUE(rs);
  auto back = rules_from_entries(rs->rules);
  auto key_sort = [](std::vector<GuardRule> v) {
    std::sort(v.begin(), v.end(), [](const GuardRule& a, const GuardRule& b) { return a.key() < b.key(); });
    return v;
  };
  EXPECT_EQ(key_sort(back), key_sort(rules));
}

TEST(Compiler, DirTableStaysBoundedForLongPrefixes) {
  std::vector<GuardRule> rules;
  std::mt19937 rng(3);
  for (int i = 0; i < 20000; ++i) {
    GuardRule r;
    r.prefix = Prefix::v4(rng(), static_cast<std::uint8_t>(25 + i % 7));
    rules.push_back(r);
  }
  std::sort(rules.begin(), rules.end(), [](auto& a, auto& b) { return a.key() < b.key(); });
  rules.erase(std::unique(rules.begin(), rules.end(), [](auto& a, auto& b) { return a.key() == b.key(); }), rules.end());
  auto rs = compile_rules(rules, kNow);
  ASSERT_TRUE(rs);
  // One chunk per distinct /16 at most: long prefixes live in the prefix hash.
  EXPECT_LE(rs->v4_table.size(), GUARD_V4_L1_SIZE + 65536ull * GUARD_V4_CHUNK);
  EXPECT_LE(rs->v4_table.size(), GUARD_V4_L1_SIZE + rules.size() * GUARD_V4_CHUNK);
}

// Random rule sets against random packets: the compiled tables must agree
// with the brute-force semantics everywhere.
TEST(Compiler, RandomRuleSetsAgreeWithTheSemantics) {
  reflex::testing::RandomGuardInputs gen(12345, {.expiry_around_ns = kNow});
  for (int round = 0; round < 40; ++round) {
    auto rules = gen.rules(1 + gen.rng()() % 60);
    auto rs = compile_rules(rules, kNow - 2'000'000'000ull);  // keep the soon-expired ones in the tables
    ASSERT_TRUE(rs) << rs.error().message();
    Classifier cl(*rs);
    for (int k = 0; k < 400; ++k) {
      auto p = gen.packet();
      ASSERT_EQ(cl.classify(p, kNow).reason, brute_force(rules, p, kNow)) << "round " << round << " packet " << k;
    }
  }
}

}  // namespace

TEST(Compiler, RefusesMoreRulesThanTheLimit) {
  std::vector<GuardRule> rules;
  for (std::uint32_t i = 0; i < 11; ++i) {
    GuardRule r;
    r.prefix = Prefix::v4(0x0a000000 + i, 32);
    rules.push_back(r);
  }
  auto rs = compile_rules(rules, kNow, CompileOptions{0, 10});
  ASSERT_FALSE(rs);
  EXPECT_NE(rs.error().what.find("11 rules, more than the guard's limit of 10"), std::string::npos);
  rules.pop_back();
  EXPECT_TRUE(compile_rules(rules, kNow, CompileOptions{0, 10}));
}

// A rule's uid keys its counters and rate-limiter bucket across swaps (and
// across versions of reflex, through the pins), so it must stay FNV-1a over
// the key's bytes exactly as first defined, whatever shortcut computes it.
TEST(RuleUid, IsFnv1aOfTheKeyBytes) {
  auto reference = [](const RuleKey& k) {
    std::uint32_t h = 2166136261u;
    auto mix = [&h](std::uint8_t b) {
      h ^= b;
      h *= 16777619u;
    };
    mix(k.prefix.family);
    mix(k.prefix.len);
    for (auto b : k.prefix.addr) mix(b);
    mix(k.l4.proto ? 1 : 0);
    mix(k.l4.proto.value_or(0));
    mix(k.l4.port ? 1 : 0);
    mix(static_cast<std::uint8_t>(k.l4.port.value_or(0) >> 8));
    mix(static_cast<std::uint8_t>(k.l4.port.value_or(0)));
    return h ? h : 1u;
  };
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    RuleKey k;
    std::uint64_t r = rng();
    if (r & 1) {
      k.prefix = Prefix::v4(static_cast<std::uint32_t>(rng()), static_cast<std::uint8_t>(rng() % 33));
    } else {
      k.prefix.family = 6;
      k.prefix.len = static_cast<std::uint8_t>(rng() % 129);
      for (auto& b : k.prefix.addr) b = static_cast<std::uint8_t>(rng());
      if (r & 2) std::fill(k.prefix.addr.begin() + 4, k.prefix.addr.end(), 0);  // an IPv6 key shaped like IPv4's
    }
    if (r & 4) k.l4.proto = static_cast<std::uint8_t>(r >> 8);
    if (r & 8) k.l4.port = static_cast<std::uint16_t>(r >> 16);
    ASSERT_EQ(rule_uid(k), reference(k)) << k.prefix.to_string();
  }
  // Pinned values: a change here resets every rule's counters on upgrade.
  RuleKey host{*Prefix::parse("192.0.2.1"), {}};
  RuleKey narrowed{*Prefix::parse("2001:db8::/32"), {17, 53}};
  EXPECT_EQ(rule_uid(host), 1229931720u);
  EXPECT_EQ(rule_uid(narrowed), 3812978961u);
}
