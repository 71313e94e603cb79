#include "api/endpoint.h"
#include "api/time_format.h"

#include <gtest/gtest.h>

namespace reflex::api {
namespace {

TEST(Endpoint, ParsesWhatOperatorsWrite) {
  struct Case {
    const char* text;
    const char* formatted;
  };
  for (const Case& c : {Case{"127.0.0.1:9470", "127.0.0.1:9470"}, Case{"0.0.0.0:0", "0.0.0.0:0"},
                        Case{"[::1]:80", "[::1]:80"}, Case{"localhost:9470", "127.0.0.1:9470"},
                        Case{"[fe80::1]:65535", "[fe80::1]:65535"}}) {
    auto ep = parse_endpoint(c.text);
    ASSERT_TRUE(ep) << c.text << ": " << ep.error().message();
    EXPECT_EQ(format_endpoint(*ep), c.formatted);
  }
}

TEST(Endpoint, RejectsWithAHint) {
  for (const char* bad : {"", "9470", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "::1:80", "[::1]", "[::1]80", "example.org:80", "300.1.1.1:80"}) {
    auto ep = parse_endpoint(bad);
    ASSERT_FALSE(ep) << "accepted \"" << bad << "\"";
    EXPECT_NE(ep.error().hint.find("127.0.0.1:9470"), std::string::npos);
  }
}

TEST(TimeFormat, Rfc3339Utc) {
  EXPECT_EQ(rfc3339(0), "");
  EXPECT_EQ(rfc3339(1'700'000'000'123'456'789), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace reflex::api
