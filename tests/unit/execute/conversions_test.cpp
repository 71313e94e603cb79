// The one place loop terms become kernel terms: TTLs, rates, clocks.

#include "execute/conversions.h"

#include <gtest/gtest.h>

namespace reflex::execute {
namespace {

TEST(Conversions, RelativeTtlBecomesAnAbsoluteLoopExpiry) {
  Action a;
  a.id = "p/0";
  a.spec = RateLimitPrefix{"eth0", Prefix::parse("198.51.100.9/24").value(), 1000, 2000, {}};
  a.ttl_ns = 30 * kNsPerSec;
  auto r = desired_rule(a, 500 * kNsPerSec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->prefix.to_string(), "198.51.100.0/24");
  EXPECT_EQ(r->verb, RuleVerb::rate_limit);
  EXPECT_EQ(r->pps, 1000u);
  EXPECT_EQ(r->burst, 2000u);
  EXPECT_EQ(r->expires_ns, 530 * kNsPerSec);
  EXPECT_EQ(r->action_id, "p/0");
  a.ttl_ns = 0;
  EXPECT_EQ(desired_rule(a, 500 * kNsPerSec)->expires_ns, 0);
}

TEST(Conversions, RatesTheGuardCannotHoldAreRefused) {
  Action a;
  a.id = "p/1";
  a.spec = RateLimitPrefix{"eth0", Prefix::parse("198.51.100.9").value(), kMaxRulePps + 1, 0, {}};
  auto r = desired_rule(a, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("32-bit"), std::string::npos);
  a.spec = RateLimitPrefix{"eth0", Prefix::parse("198.51.100.9").value(), kMaxRulePps, 0, {}};
  EXPECT_TRUE(desired_rule(a, 0));
}

TEST(Conversions, LoopClockToBoottimeAndBack) {
  const ClockMap c{100 * kNsPerSec, 7000 * static_cast<std::uint64_t>(kNsPerSec)};
  DesiredRule r;
  r.prefix = Prefix::parse("192.0.2.1").value();
  r.expires_ns = 160 * kNsPerSec;
  auto g = to_guard_rule(r, c);
  EXPECT_EQ(g.expires_ns, 7060 * static_cast<std::uint64_t>(kNsPerSec));
  EXPECT_EQ(from_guard_rule(g, c).expires_ns, r.expires_ns);
  r.expires_ns = 0;
  EXPECT_EQ(to_guard_rule(r, c).expires_ns, 0u) << "never stays never";
  // Long past: still expired, never "never".
  r.expires_ns = -1'000'000 * kNsPerSec;
  EXPECT_EQ(to_guard_rule(r, c).expires_ns, 1u);
}

TEST(Conversions, SameInKernelAllowsTheClockReadGap) {
  guard::GuardRule a;
  a.prefix = Prefix::parse("192.0.2.1").value();
  a.expires_ns = 1'000'000'000;
  auto b = a;
  b.expires_ns += static_cast<std::uint64_t>(kExpirySlackNs) / 2;
  EXPECT_TRUE(same_in_kernel(a, b));
  b.expires_ns = a.expires_ns + 2 * static_cast<std::uint64_t>(kExpirySlackNs);
  EXPECT_FALSE(same_in_kernel(a, b));
  b = a;
  b.action = RuleVerb::shadow;
  EXPECT_FALSE(same_in_kernel(a, b));
}

}  // namespace
}  // namespace reflex::execute
