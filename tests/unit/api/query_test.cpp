// Query strings and the instants and protocols they carry.

#include "api/query.h"
#include "api/time_format.h"

#include <gtest/gtest.h>

namespace reflex::api {
namespace {

TEST(Query, SplitsDecodesAndRefusesRepeats) {
  auto q = Query::parse("/v1/flows?iface=eth0&src=10.0.0.0%2F8&note=a+b&empty=&flag#frag");
  ASSERT_TRUE(q) << q.error().what;
  EXPECT_EQ(q->get("iface"), "eth0");
  EXPECT_EQ(q->get("src"), "10.0.0.0/8");
  EXPECT_EQ(q->get("note"), "a b");
  EXPECT_EQ(q->get("empty"), "");
  EXPECT_EQ(q->get("flag"), "");
  EXPECT_FALSE(q->get("frag"));
  EXPECT_TRUE(Query::parse("/v1/state")->items().empty());
  EXPECT_TRUE(Query::parse("/v1/state?")->items().empty());
  EXPECT_FALSE(Query::parse("/x?a=1&a=2"));
  EXPECT_FALSE(Query::parse("/x?a=%2"));
  EXPECT_FALSE(Query::parse("/x?=1"));

  auto only = q->only({"iface", "src"});
  ASSERT_FALSE(only);
  EXPECT_NE(only.error().what.find("\"note\""), std::string::npos);
  EXPECT_EQ(only.error().hint, "this endpoint takes iface, src");
  EXPECT_TRUE(Query::parse("/x?iface=1")->only({"iface"}));
  EXPECT_FALSE(Query::parse("/x?iface=1")->only({}));
}

TEST(Query, TypedValues) {
  auto q = *Query::parse("/x?n=42&big=99999999999&neg=-1&b=true&b2=0&p=10.1.2.3/8&bad=10.0.0/99&limit=0");
  EXPECT_EQ(*q.integer("n", 100).value(), 42u);
  EXPECT_FALSE(q.integer("big", 1000));
  EXPECT_FALSE(q.integer("neg", 1000));
  EXPECT_FALSE(q.integer("missing", 1).value());
  EXPECT_TRUE(*q.boolean("b").value());
  EXPECT_FALSE(*q.boolean("b2").value());
  EXPECT_FALSE(q.boolean("n"));
  EXPECT_EQ(q.prefix("p").value()->to_string(), "10.0.0.0/8");
  EXPECT_FALSE(q.prefix("bad"));
  EXPECT_FALSE(q.limit(10, 100));  // 0 is not a limit
  EXPECT_EQ(Query::parse("/x")->limit(10, 100).value(), 10u);
  EXPECT_EQ(Query::parse("/x?limit=100")->limit(10, 100).value(), 100u);
  EXPECT_FALSE(Query::parse("/x?limit=101")->limit(10, 100));
}

TEST(Query, InstantsInEveryFormOperatorsWrite) {
  const TimeNs now = 1'714'564'800LL * kNsPerSec;  // 2024-05-01T12:00:00Z
  auto t = [&](const std::string& v) { return Query::parse("/x?t=" + v)->instant("t", now); };
  EXPECT_EQ(*t("2024-05-01T12:00:00Z").value(), now);
  EXPECT_EQ(*t("2024-05-01T14:00:00%2B02:00").value(), now);  // +02:00, encoded
  EXPECT_EQ(*t("2024-05-01T12:00:00.5Z").value(), now + 500 * kNsPerMs);
  EXPECT_EQ(*t("1714564800").value(), now);
  EXPECT_EQ(*t("1714564800.25").value(), now + 250 * kNsPerMs);
  EXPECT_EQ(*t("15m").value(), now - 15 * 60 * kNsPerSec);
  EXPECT_EQ(*t("1h30m").value(), now - 90 * 60 * kNsPerSec);
  EXPECT_FALSE(t("yesterday"));
  EXPECT_FALSE(t("2024-13-01T00:00:00Z"));
}

TEST(Rfc3339, ParsesWhatItPrintsAndRejectsTheRest) {
  for (TimeNs ns : {1'714'564'800'123'000'000LL, 951'782'400'000'000'000LL /* 2000-02-29 */, 86'400'000'000'000LL})
    EXPECT_EQ(parse_rfc3339(rfc3339(ns)), ns) << rfc3339(ns);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2024-05-01 12:00:00z"), 1'714'564'800LL * kNsPerSec);
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00.123456789Z"), 1'714'564'800'123'456'789LL);
  EXPECT_EQ(parse_rfc3339("2024-05-01T12:00:00-01:30"), (1'714'564'800LL + 5400) * kNsPerSec);
  for (const char* bad : {"2024-05-01", "2024-05-01T12:00:00", "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z",
                          "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.1234567891Z", "2024-05-01T12:00:00Zjunk",
                          "2024-05-01T12:00:00+2:00", "x024-05-01T12:00:00Z"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(IpProto, NamesAndNumbers) {
  EXPECT_EQ(parse_ip_proto("tcp"), 6);
  EXPECT_EQ(parse_ip_proto("udp"), 17);
  EXPECT_EQ(parse_ip_proto("icmpv6"), 58);
  EXPECT_EQ(parse_ip_proto("47"), 47);
  EXPECT_FALSE(parse_ip_proto("256"));
  EXPECT_FALSE(parse_ip_proto("tcpp"));
  EXPECT_EQ(ip_proto_name(17), "udp");
  EXPECT_EQ(ip_proto_name(47), "47");
}

}  // namespace
}  // namespace reflex::api
