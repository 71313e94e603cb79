#include "fleet/fleet_config.h"
#include "fleet/verdict.h"

#include <gtest/gtest.h>

namespace reflex::fleet {
namespace {

std::string all_errors(const FleetConfigReport& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.to_string() + "\n";
  return s;
}

TEST(FleetConfig, NoSectionMeansAnAutonomousNode) {
  FleetConfig c;
  EXPECT_FALSE(c.enabled);
  auto r = parse_fleet_config_text("", "fleet.yaml");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_FALSE(r.config.enabled);
}

TEST(FleetConfig, ReadsEveryField) {
  auto r = parse_fleet_config_text(R"(
node_id: edge-07
servers: [nats://10.0.0.1:4222, tls://10.0.0.2:4222]
subject_prefix: mesh1.reflex
nkey_seed_file: /etc/reflex/fleet.nk
tls: {ca_file: /etc/reflex/ca.pem, server_name: nats.mesh}
publish: false
connect_timeout: 500ms
reconnect_wait: 5s
ping_interval: 20s
reconnect_buffer: 256KiB
send_queue: 64
trust: {rate_per_minute: 2, burst: 4, max_ttl: 10m, max_age: 30s, max_entries: 100, peers: [edge-01, edge-02]}
)",
                                   "fleet.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const auto& c = r.config;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.node_id, "edge-07");
  ASSERT_EQ(c.servers.size(), 2u);
  EXPECT_EQ(c.subject_prefix, "mesh1.reflex");
  EXPECT_EQ(c.nkey_seed_file, "/etc/reflex/fleet.nk");
  EXPECT_TRUE(c.tls.enabled);
  EXPECT_EQ(c.tls.server_name, "nats.mesh");
  EXPECT_FALSE(c.publish);
  EXPECT_TRUE(c.receive);
  EXPECT_EQ(c.connect_timeout, 500 * kNsPerMs);
  EXPECT_EQ(c.reconnect_wait, 5 * kNsPerSec);
  EXPECT_EQ(c.ping_interval, 20 * kNsPerSec);
  EXPECT_EQ(c.reconnect_buffer, 256u * 1024);
  EXPECT_EQ(c.send_queue, 64u);
  EXPECT_DOUBLE_EQ(c.trust.rate_per_minute, 2);
  EXPECT_EQ(c.trust.burst, 4u);
  EXPECT_EQ(c.trust.max_ttl, 600 * kNsPerSec);
  EXPECT_EQ(c.trust.max_age, 30 * kNsPerSec);
  EXPECT_EQ(c.trust.max_entries, 100u);
  EXPECT_EQ(c.trust.peers, (std::vector<std::string>{"edge-01", "edge-02"}));
}

TEST(FleetConfig, ReportsEveryMistakeAtOnceWithItsPlace) {
  auto r = parse_fleet_config_text(R"(
node_id: "edge.07"
servers: [http://x:4222]
subject_prefix: "a..b"
token_file: /t
nkey_seed_file: /n
reconect_wait: 5s
trust: {burst: 0, peers: ["bad id"]}
tls: {cert_file: /c}
)",
                                   "fleet.yaml");
  ASSERT_FALSE(r.ok());
  auto text = all_errors(r);
  for (const char* needle :
       {"fleet.yaml:2:10: error: fleet.node_id", "fleet.servers", "fleet.subject_prefix", "exclusive",
        "did you mean `reconnect_wait`", "fleet.trust.burst", "fleet.trust.peers", "cert_file and key_file"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}

TEST(FleetConfig, AnEnabledFleetNeedsAServerButADisabledOneDoesNot) {
  EXPECT_FALSE(parse_fleet_config_text("node_id: a\n", "f").ok());
  EXPECT_TRUE(parse_fleet_config_text("enabled: false\n", "f").ok());
}

TEST(FleetConfig, TheNodeIdDefaultsToAValidFormOfTheHostName) {
  FleetConfig c;
  auto id = effective_node_id(c);
  EXPECT_TRUE(valid_node_id(id)) << id;
  c.node_id = "edge-1";
  EXPECT_EQ(effective_node_id(c), "edge-1");
}

}  // namespace
}  // namespace reflex::fleet
