// JSON text: numbers read back exactly, and print the way people write them.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "knowledge/json/codec.h"
#include "knowledge/json/text.h"

namespace reflex {
namespace {

namespace json = boost::json;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(JsonText, EveryFiniteDoubleReadsBackExactly) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  int boost_off = 0;
  for (int i = 0; i < 200'000; ++i) {
    double x;
    if (i % 2) {
      std::uint64_t bits = rng();
      std::memcpy(&x, &bits, sizeof x);
      if (!std::isfinite(x)) continue;
    } else {
      x = u(rng);
    }
    std::string text = to_text(json::value(x));
    auto v = parse_text(text);
    ASSERT_TRUE(v) << text;
    double y = 0;
    ASSERT_TRUE(from_json(*v, y, "x")) << text;
    ASSERT_TRUE(same_bits(x, y)) << text << " read back as " << y;
    // The reason parse_text exists: Boost 1.81's own parser is off for some.
    double b = json::parse(text).to_number<double>();
    if (!same_bits(b, x)) ++boost_off;
  }
  EXPECT_GT(boost_off, 0) << "boost::json::parse is exact now: parse_text could use it";
}

TEST(JsonText, NumbersPrintAsPeopleWriteThem) {
  EXPECT_EQ(to_text(json::value(0.9)), "0.9");
  EXPECT_EQ(to_text(json::value(1234.5)), "1234.5");
  EXPECT_EQ(to_text(json::value(1e-7)), "1e-07");
  EXPECT_EQ(to_text(to_json(5000.0)), "5000");
  EXPECT_EQ(to_text(to_json(-0.0)), "-0.0");
  EXPECT_EQ(to_text(json::value(5000.0)), "5000.0");
  EXPECT_EQ(to_text(json::value(std::int64_t{-42})), "-42");
  EXPECT_EQ(to_text(json::value(std::numeric_limits<std::uint64_t>::max())), "18446744073709551615");
}

TEST(JsonText, NonFiniteDoublesTravelAsStrings) {
  for (double x : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    double y = 0;
    ASSERT_TRUE(from_json(*parse_text(to_text(to_json(x))), y, "x"));
    EXPECT_EQ(x, y);
  }
  double n = 0;
  EXPECT_EQ(to_text(to_json(std::nan(""))), "\"nan\"");
  ASSERT_TRUE(from_json(*parse_text("\"nan\""), n, "x"));
  EXPECT_TRUE(std::isnan(n));
}

TEST(JsonText, StringsEscapeWhatJsonRequires) {
  std::string s = "quote\" back\\ nl\n tab\t ctl\x01\x1f caf\xc3\xa9";
  std::string text = to_text(json::value(s));
  EXPECT_EQ(text, "\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001\\u001f caf\xc3\xa9\"");
  EXPECT_EQ(json::parse(text).as_string(), s);  // Boost reads what we write
  EXPECT_EQ(parse_text(text)->as_string(), s);
}

TEST(JsonText, ObjectsKeepKeyOrderAndNest) {
  std::string text = R"({"b":1,"a":[true,null,{"x":"y"}],"c":-2.5})";
  auto v = parse_text(text);
  ASSERT_TRUE(v);
  EXPECT_EQ(to_text(*v), text);
}

TEST(JsonText, BadTextNamesWhatAndWhere) {
  auto r = parse_text(R"({"a":1,)", "planner state in /tmp/x.db");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("planner state in /tmp/x.db is not valid JSON at byte"), std::string::npos)
      << r.error().what;
  EXPECT_FALSE(parse_text("{} {}"));
  EXPECT_FALSE(parse_text(""));
}

TEST(JsonText, IntegersAreRangeChecked) {
  std::uint8_t u8 = 0;
  EXPECT_TRUE(from_json(json::value(255), u8, "proto"));
  EXPECT_EQ(u8, 255);
  auto s = from_json(json::value(256), u8, "proto");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().what, "proto: 256 is out of range [0, 255]");
  int i = 0;
  EXPECT_FALSE(from_json(json::value(-1.5), i, "level"));
  EXPECT_TRUE(from_json(json::value(-7), i, "level"));
  EXPECT_EQ(i, -7);
  std::uint64_t big = 0;
  EXPECT_TRUE(from_json(json::value(std::numeric_limits<std::uint64_t>::max()), big, "seq"));
  EXPECT_FALSE(from_json(json::value(-1), big, "seq"));
}

}  // namespace
}  // namespace reflex
