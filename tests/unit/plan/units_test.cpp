#include "plan/units.h"

#include <gtest/gtest.h>

namespace reflex::plan {
namespace {

TEST(Units, DurationsParseAndFormat) {
  struct Row { const char* text; std::optional<TimeNs> ns; };
  const Row rows[] = {
      {"30s", 30 * kNsPerSec}, {"5m", 300 * kNsPerSec}, {"1h30m", 5400 * kNsPerSec}, {"250ms", 250 * kNsPerMs},
      {"1.5s", 1500 * kNsPerMs}, {"0", 0}, {"0s", 0}, {"2d", 2 * 86400 * kNsPerSec},
      {"10", std::nullopt}, {"", std::nullopt}, {"5 minutes", std::nullopt}, {"-5s", std::nullopt},
      {"99999999999h", std::nullopt}, {"s", std::nullopt},
  };
  for (const auto& r : rows) EXPECT_EQ(parse_duration(r.text), r.ns) << r.text;
  EXPECT_EQ(format_duration(90 * kNsPerSec), "1m30s");
  EXPECT_EQ(format_duration(250 * kNsPerMs), "250ms");
  EXPECT_EQ(format_duration(0), "0s");
}

TEST(Units, RatesAndSizes) {
  EXPECT_EQ(parse_bit_rate("100Mbit"), 100'000'000u);
  EXPECT_EQ(parse_bit_rate("1.5Gbit"), 1'500'000'000u);
  EXPECT_EQ(parse_bit_rate("64kbit"), 64'000u);
  EXPECT_EQ(parse_bit_rate("100"), std::nullopt);  // a unit is required: bits or bytes is ambiguous
  EXPECT_EQ(parse_bit_rate("fast"), std::nullopt);
  EXPECT_EQ(parse_byte_size("64KiB"), 65536u);
  EXPECT_EQ(parse_byte_size("1500"), 1500u);
  EXPECT_EQ(parse_byte_size("1XB"), std::nullopt);
  EXPECT_EQ(format_bit_rate(80'000'000), "80Mbit");
}

}  // namespace
}  // namespace reflex::plan
