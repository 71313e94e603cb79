// Interface references and config validation.
#include <gtest/gtest.h>

#include "monitor/monitor_config.h"

using namespace reflex::monitor;

TEST(InterfaceRef, BareNameUsesTheDefaultNamespaceAndKeepsTheNameAsKey) {
  auto r = parse_interface_ref("eth0", "ns1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "eth0");
  EXPECT_EQ(r->netns, "ns1");
  EXPECT_EQ(r->key, "eth0");
}

TEST(InterfaceRef, AtNamespaceIsPartOfTheKey) {
  auto r = parse_interface_ref("veth1@blue");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "veth1");
  EXPECT_EQ(r->netns, "blue");
  EXPECT_EQ(r->key, "veth1@blue");
}

TEST(InterfaceRef, RejectsBadNames) {
  EXPECT_FALSE(parse_interface_ref(""));
  EXPECT_FALSE(parse_interface_ref("@ns"));
  EXPECT_FALSE(parse_interface_ref("eth0@"));
  EXPECT_FALSE(parse_interface_ref("a-name-longer-than-15"));
}

TEST(MonitorConfigValidate, IntervalAtLeastFiftyMs) {
  MonitorConfig c;
  c.interval = std::chrono::milliseconds(49);
  auto s = validate(c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("50"), std::string::npos);
  c.interval = std::chrono::milliseconds(50);
  EXPECT_TRUE(validate(c));
}

TEST(MonitorConfigValidate, DuplicateInterfaces) {
  MonitorConfig c;
  c.interfaces = {*parse_interface_ref("eth0"), *parse_interface_ref("eth0")};
  EXPECT_FALSE(validate(c));
}
