#include "guard/rule_text.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

using namespace reflex;
using namespace reflex::guard;

namespace {
constexpr std::uint64_t kNow = 1'000'000'000'000ull;
}

TEST(RuleText, ParsesTheIssueExamples) {
  auto rules = parse_rules(R"(
# a comment line
203.0.113.0/24 drop
198.51.100.7 limit pps=1000 burst=2000
2001:db8::/32 shadow      # trailing comment
192.0.2.0/24 drop proto=udp port=53 ttl=600
10.0.0.0/8 allow
)",
                           "rules.txt", kNow);
  ASSERT_TRUE(rules) << rules.error().message();
  ASSERT_EQ(rules->size(), 5u);
  EXPECT_EQ((*rules)[0].prefix.to_string(), "203.0.113.0/24");
  EXPECT_EQ((*rules)[0].action, RuleAction::drop);
  EXPECT_EQ((*rules)[1].prefix.to_string(), "198.51.100.7");
  EXPECT_EQ((*rules)[1].prefix.len, 32);  // a bare address is a /32
  EXPECT_EQ((*rules)[1].action, RuleAction::rate_limit);
  EXPECT_EQ((*rules)[1].pps, 1000u);
  EXPECT_EQ((*rules)[1].burst, 2000u);
  EXPECT_EQ((*rules)[2].prefix.family, 6);
  EXPECT_EQ((*rules)[2].action, RuleAction::shadow);
  EXPECT_EQ((*rules)[3].l4.proto, IPPROTO_UDP);
  EXPECT_EQ((*rules)[3].l4.port, 53);
  EXPECT_EQ((*rules)[3].expires_ns, kNow + 600ull * 1'000'000'000ull);
  EXPECT_EQ((*rules)[4].action, RuleAction::allow);
}

TEST(RuleText, BareIpv6AddressIsAHostRoute) {
  auto rules = parse_rules("2001:db8::1 drop\n", "f", kNow);
  ASSERT_TRUE(rules);
  EXPECT_EQ((*rules)[0].prefix.len, 128);
}

TEST(RuleText, NormalisesHostBits) {
  auto rules = parse_rules("10.1.2.3/8 drop\n", "f", kNow);
  ASSERT_TRUE(rules);
  EXPECT_EQ((*rules)[0].prefix.to_string(), "10.0.0.0/8");
}

struct BadLine {
  const char* text;
  const char* expect_in_error;
};

class RuleTextErrors : public ::testing::TestWithParam<BadLine> {};

TEST_P(RuleTextErrors, NameTheLineAndTheProblem) {
  auto r = parse_rules(std::string("10.0.0.0/8 allow\n") + GetParam().text + "\n", "my.rules", kNow);
  ASSERT_FALSE(r) << "accepted: " << GetParam().text;
  EXPECT_NE(r.error().what.find("my.rules:2:"), std::string::npos) << r.error().what;
  EXPECT_NE(r.error().message().find(GetParam().expect_in_error), std::string::npos) << r.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, RuleTextErrors,
    ::testing::Values(BadLine{"300.1.1.1 drop", "not an IPv4 address"}, BadLine{"10.0.0.0/33 drop", "exceeds 32"},
                      BadLine{"10.0.0.0/ drop", "missing length"}, BadLine{"10.0.0.0/x drop", "not a number"},
                      BadLine{"2001:db8::/129 drop", "exceeds 128"}, BadLine{"10.0.0.0/8 explode", "unknown action"},
                      BadLine{"10.0.0.0/8", "expected 'PREFIX ACTION"}, BadLine{"10.0.0.0/8 drop port=0", "invalid port"},
                      BadLine{"10.0.0.0/8 drop port=70000", "invalid port"},
                      BadLine{"10.0.0.0/8 drop proto=bogus", "unknown protocol"},
                      BadLine{"10.0.0.0/8 drop proto=icmp port=5", "has no ports"},
                      BadLine{"10.0.0.0/8 limit", "needs a rate"}, BadLine{"10.0.0.0/8 drop pps=5", "only apply to limit"},
                      BadLine{"10.0.0.0/8 drop ttl=0", "invalid duration"}, BadLine{"10.0.0.0/8 drop ttl=5y", "invalid duration"},
                      BadLine{"10.0.0.0/8 drop colour=red", "unknown key"}, BadLine{"10.0.0.0/8 drop junk", "expected key=value"},
                      BadLine{"10.0.0.0/8 drop", "duplicate rule"}));

TEST(RuleText, DifferentL4FiltersOnOnePrefixAreNotDuplicates) {
  auto r = parse_rules("10.0.0.0/8 drop\n10.0.0.0/8 allow proto=tcp port=22\n10.0.0.0/8 limit proto=udp pps=5\n", "f", kNow);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->size(), 3u);
}

TEST(RuleText, DurationsWithUnits) {
  EXPECT_EQ(*parse_duration_s("90"), 90u);
  EXPECT_EQ(*parse_duration_s("30s"), 30u);
  EXPECT_EQ(*parse_duration_s("10m"), 600u);
  EXPECT_EQ(*parse_duration_s("2h"), 7200u);
  EXPECT_EQ(*parse_duration_s("1d"), 86400u);
  EXPECT_FALSE(parse_duration_s(""));
  EXPECT_FALSE(parse_duration_s("m"));
}

TEST(RuleText, FormatRoundTrips) {
  const char* text =
      "192.0.2.0/24 drop proto=udp port=53 ttl=600\n198.51.100.7 limit pps=1000 burst=2000\n2001:db8::/32 shadow\n";
  auto rules = parse_rules(text, "f", kNow);
  ASSERT_TRUE(rules);
  std::string out;
  for (const auto& r : *rules) out += format_rule(r, kNow) + "\n";
  EXPECT_EQ(out, text);
  auto again = parse_rules(out, "f", kNow);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *rules);
}

// A file big enough to be parsed as two halves on two threads: the rules
// come back in file order, and errors name the right line on either side.
TEST(RuleText, ALargeFileParsesInOrderAndNamesLinesInBothHalves) {
  constexpr std::size_t kLines = 200'000;  // ~4 MB, past the two-thread split
  std::string text;
  text.reserve(kLines * 20);
  auto host = [](std::size_t i) {
    return "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 0xff) + "." + std::to_string(i & 0xff);
  };
  for (std::size_t i = 0; i < kLines; ++i) {
    if (i % 1000 == 0) text += "# a comment line\n";
    text += host(i) + " drop\n";
  }
  auto rules = parse_rules(text, "big.rules", kNow);
  ASSERT_TRUE(rules) << rules.error().message();
  ASSERT_EQ(rules->size(), kLines);
  for (std::size_t i : {std::size_t{0}, kLines / 2 - 1, kLines / 2, kLines / 2 + 1, kLines - 1})
    EXPECT_EQ((*rules)[i].prefix.to_string(), host(i)) << i;

  // Line numbers count every line, comments included: rule i is on line i + i / 1000 + 2.
  const std::size_t bad = kLines - 10, bad_line = bad + bad / 1000 + 2;
  std::string broken = text;
  const std::string victim = host(bad) + " drop\n";
  broken.replace(broken.find(victim), victim.size(), host(bad) + " dorp\n");
  auto err = parse_rules(broken, "big.rules", kNow);
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().what.find("big.rules:" + std::to_string(bad_line) + ":"), std::string::npos)
      << err.error().what;

  // A duplicate of a first-half rule near the end names both lines.
  std::string dup = text + host(5) + " drop\n";
  auto d = parse_rules(dup, "big.rules", kNow);
  ASSERT_FALSE(d);
  const std::size_t total_lines = kLines + kLines / 1000;
  EXPECT_NE(d.error().what.find("big.rules:" + std::to_string(total_lines + 1) + ": duplicate"), std::string::npos)
      << d.error().what;
  EXPECT_NE(d.error().what.find("line " + std::to_string(5 + 0 + 2)), std::string::npos) << d.error().what;
}
