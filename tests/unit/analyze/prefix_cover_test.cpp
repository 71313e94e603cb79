#include "analyze/prefix_cover.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace reflex::analyze {
namespace {

std::vector<Prefix> parse_all(std::initializer_list<const char*> texts) {
  std::vector<Prefix> out;
  for (const char* t : texts) out.push_back(Prefix::parse(t).value());
  return out;
}

std::vector<std::string> strings(const std::vector<Prefix>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.to_string());
  return out;
}

struct CoverCase {
  const char* name;
  std::initializer_list<const char*> attackers;
  std::initializer_list<const char*> benign;
  std::vector<std::string> want;
};

TEST(PrefixCover, Table) {
  const std::vector<CoverCase> cases = {
      {"one host stays a host", {"198.51.100.7"}, {}, {"198.51.100.7"}},
      {"a /24 of attackers, no benign: their common prefix",
       {"198.51.100.1", "198.51.100.130", "198.51.100.77"}, {}, {"198.51.100.0/24"}},
      {"benign host inside: split around it",
       {"198.51.100.1", "198.51.100.200"}, {"198.51.100.100"}, {"198.51.100.1", "198.51.100.200"}},
      {"benign elsewhere does not matter: widened to the floor", {"198.51.100.1", "198.51.100.2"}, {"203.0.113.9"},
       {"198.51.100.0/24"}},
      {"widened only as far as no benign host is reached", {"198.51.100.1", "198.51.100.2"}, {"198.51.100.9"},
       {"198.51.100.0/29"}},
      {"two /24s far apart: never aggregated past the floor",
       {"198.51.100.1", "198.51.100.2", "203.0.113.1", "203.0.113.2"}, {},
       {"198.51.100.0/24", "203.0.113.0/24"}},
      {"two neighbouring /24s: never merged past the /24 floor (the widest block a policy allows by default)",
       {"198.18.0.5", "198.18.0.200", "198.18.1.7", "198.18.1.99"}, {},
       {"198.18.0.0/24", "198.18.1.0/24"}},
      {"halves split at the first differing bit",
       {"10.1.0.1", "10.1.0.2", "10.1.128.1", "10.1.128.2"}, {"10.1.64.1"}, {"10.1.0.0/24", "10.1.128.0/24"}},
      {"an attacking host that was benign is still covered", {"198.51.100.5"}, {"198.51.100.5"}, {"198.51.100.5"}},
      {"IPv6 attackers, no benign: widened to the /48 floor", {"2001:db8:1:2::1", "2001:db8:1:2::ff"}, {}, {"2001:db8:1::/48"}},
      {"mixed families are covered separately", {"198.51.100.1", "2001:db8::1"}, {},
       {"198.51.100.1", "2001:db8::1"}},
  };
  for (const auto& c : cases) {
    const auto got = cover_without(parse_all(c.attackers), parse_all(c.benign));
    EXPECT_EQ(strings(got), c.want) << c.name;
    // Invariants: every attacker covered, no benign (other than attackers) covered.
    for (const auto& a : parse_all(c.attackers)) {
      bool covered = false;
      for (const auto& p : got) covered |= p.contains(a);
      EXPECT_TRUE(covered) << c.name << ": " << a.to_string();
    }
  }
}

TEST(PrefixCover, CommonPrefix) {
  EXPECT_EQ(common_prefix(Prefix::parse("10.0.0.1").value(), Prefix::parse("10.0.0.3").value()).to_string(),
            "10.0.0.0/30");
  EXPECT_EQ(common_prefix(Prefix::parse("10.0.0.0/8").value(), Prefix::parse("10.1.2.3").value()).to_string(),
            "10.0.0.0/8");
}

}  // namespace
// Prefix::contains compares two words instead of masking a copy: it must
// answer as the masked copy does, for both families, every length, and
// prefixes with bits set past their length (which contain nothing).
TEST(PrefixContains, AnswersAsTheMaskedCopyOnRandomPrefixes) {
  std::mt19937_64 rng(7);
  auto random_prefix = [&] {
    Prefix p;
    p.family = rng() % 5 == 0 ? 6 : 4;
    p.len = static_cast<std::uint8_t>(rng() % (p.max_len() + 1));
    for (unsigned i = 0; i < (p.family == 4 ? 4u : 16u); ++i) p.addr[i] = static_cast<std::uint8_t>(rng());
    if (rng() % 4 != 0) mask_prefix(p);  // mostly normalised, some not
    return p;
  };
  auto reference = [](const Prefix& a, const Prefix& b) {
    if (a.family != b.family || b.len < a.len) return false;
    Prefix o = b;
    o.len = a.len;
    mask_prefix(o);
    return o.addr == a.addr;
  };
  int inside = 0;
  for (int i = 0; i < 200000; ++i) {
    Prefix a = random_prefix(), b = random_prefix();
    if (i % 2) {  // b inside a, or a near miss
      b = a;
      b.len = static_cast<std::uint8_t>(a.len + rng() % (a.max_len() - a.len + 1));
      b.addr[rng() % (a.family == 4 ? 4 : 16)] ^= static_cast<std::uint8_t>(rng() % 3 == 0 ? 1u << (rng() % 8) : 0);
    }
    ASSERT_EQ(a.contains(b), reference(a, b)) << a.to_string() << " contains " << b.to_string();
    inside += reference(a, b);
  }
  EXPECT_GT(inside, 20000);  // the pairs exercised both answers
}

}  // namespace reflex::analyze
