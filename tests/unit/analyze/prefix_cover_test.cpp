#include "analyze/prefix_cover.h"

#include <gtest/gtest.h>

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
}  // namespace reflex::analyze
