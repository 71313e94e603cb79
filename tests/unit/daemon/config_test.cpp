#include "daemon/config.h"

#include <gtest/gtest.h>

namespace reflex::daemon {
namespace {

std::string errors_of(const ConfigReport& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.to_string() + "\n";
  return out;
}

TEST(Config, AnEmptyFileIsEveryDefault) {
  auto r = parse_config("", "reflexd.yaml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const DaemonConfig& c = *r.config;
  EXPECT_TRUE(c.interfaces.empty());
  EXPECT_EQ(c.tick, kNsPerSec);
  EXPECT_EQ(c.policies, kDefaultPolicies);
  EXPECT_EQ(c.store.path, kDefaultStorePath);
  EXPECT_EQ(c.api.listen, "127.0.0.1:9470");
  EXPECT_EQ(c.api.unix_socket, kDefaultSocket);
  EXPECT_EQ(c.api.socket_mode, 0660u);
  EXPECT_EQ(c.mode, guard::LoadMode::auto_);
}

TEST(Config, EveryFieldIsRead) {
  auto r = parse_config(R"(
interfaces:
  - eth0
  - veth1@mesh
  - {name: wan0, netns: edge, mode: generic}
mode: native
tick: 100ms
policies: /srv/policies
watch_policies: false
pin_root: /sys/fs/bpf/rx
max_rules: 1024
drain: 2s
api:
  listen: 127.0.0.1:9999
  unix_socket: /tmp/r.sock
  socket_mode: "0600"
  token_file: /tmp/token
  max_connections: 10
  body_limit: 16KiB
  request_timeout: 3s
store:
  path: /tmp/r.db
  synchronous: full
  raw_for: 5m
  minutes_for: 1d
  hours_for: 30d
  max_size: 64MiB
log: {level: debug, format: json}
monitor: {top_talkers: 32, run_time_every: 5}
)",
                        "reflexd.yaml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const DaemonConfig& c = *r.config;
  ASSERT_EQ(c.interfaces.size(), 3u);
  EXPECT_EQ(c.interfaces[0].key, "eth0");
  EXPECT_EQ(c.interfaces[1].name, "veth1");
  EXPECT_EQ(c.interfaces[1].netns, "mesh");
  EXPECT_EQ(c.interfaces[2].key, "wan0@edge");
  EXPECT_EQ(c.mode_of(c.interfaces[2]), guard::LoadMode::generic);
  EXPECT_EQ(c.mode_of(c.interfaces[0]), guard::LoadMode::native);
  EXPECT_EQ(c.tick, 100 * kNsPerMs);
  EXPECT_EQ(c.policies, "/srv/policies");
  EXPECT_FALSE(c.watch_policies);
  EXPECT_EQ(c.pin_root, "/sys/fs/bpf/rx");
  EXPECT_EQ(c.max_rules, 1024u);
  EXPECT_EQ(c.drain, 2 * kNsPerSec);
  EXPECT_EQ(c.api.listen, "127.0.0.1:9999");
  EXPECT_EQ(c.api.unix_socket, "/tmp/r.sock");
  EXPECT_EQ(c.api.socket_mode, 0600u);
  EXPECT_EQ(c.api.token_file, "/tmp/token");
  EXPECT_EQ(c.api.max_connections, 10u);
  EXPECT_EQ(c.api.body_limit, 16u * 1024);
  EXPECT_EQ(c.api.request_timeout, 3 * kNsPerSec);
  EXPECT_EQ(c.store.path, "/tmp/r.db");
  EXPECT_TRUE(c.store.synchronous_full);
  EXPECT_EQ(c.store.raw_for, 5 * 60 * kNsPerSec);
  EXPECT_EQ(c.store.max_bytes, 64ull << 20);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.monitor.top_talkers, 32u);
  EXPECT_EQ(c.monitor.run_time_every, 5u);
}

TEST(Config, EveryMistakeIsReportedWithItsLineFieldAndExpectation) {
  auto r = parse_config(R"(interfaces: eth0
tick: 10ms
mode: fast
stroe: {path: x}
api:
  listen: 127.0.0.1:notaport
log: {level: loud}
)",
                        "bad.yaml");
  ASSERT_FALSE(r.ok());
  std::string all = errors_of(r);
  EXPECT_NE(all.find("bad.yaml:1:13: error: interfaces: expected a list"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:2:7: error: tick: expected a tick from 50ms to 60s"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:3:7: error: mode: expected an attach mode"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:4:1: error: stroe: unknown field"), std::string::npos) << all;
  EXPECT_NE(all.find("did you mean `store`?"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:6:11: error: api.listen"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.yaml:7:14: error: log.level"), std::string::npos) << all;
}

TEST(Config, SyntaxErrorsNameTheLine) {
  auto r = parse_config("interfaces: [eth0\n", "broken.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_NE(r.diagnostics[0].to_string().find("broken.yaml:"), std::string::npos);
}

TEST(Config, AMissingFileSaysSoAndHowToRunWithoutOne) {
  auto r = load_config_file("/nonexistent/reflexd.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("cannot read"), std::string::npos);
  EXPECT_NE(r.diagnostics[0].hint.find("--config"), std::string::npos);
}

TEST(Config, FlagsWinOverTheFile) {
  auto r = parse_config("interfaces: [eth0]\ntick: 2s\npolicies: /a\nstore: {path: /b}\n", "f.yaml");
  ASSERT_TRUE(r.ok());
  DaemonConfig c = *r.config;
  ConfigFlags f;
  f.ifaces = {"veth0@ns1", "veth2"};
  f.tick_ms = 100;
  f.policies = "/p";
  f.store = "/s.db";
  f.mode = "generic";
  f.listen = "127.0.0.1:0";
  f.log_format = "json";
  f.max_rules = 80;
  auto diags = apply_flags(c, f);
  EXPECT_TRUE(diags.empty());
  EXPECT_EQ(c.max_rules, 80u);
  ASSERT_EQ(c.interfaces.size(), 2u);
  EXPECT_EQ(c.interfaces[0].netns, "ns1");
  EXPECT_EQ(c.tick, 100 * kNsPerMs);
  EXPECT_EQ(c.policies, "/p");
  EXPECT_EQ(c.store.path, "/s.db");
  EXPECT_EQ(c.mode, guard::LoadMode::generic);
  EXPECT_EQ(c.api.listen, "127.0.0.1:0");
  EXPECT_EQ(c.log.format, "json");
}

TEST(Config, BadFlagsAreReportedByName) {
  DaemonConfig c;
  ConfigFlags f;
  f.ifaces = {"eth0", "eth0", "bad/name"};
  f.tick_ms = 10;
  f.mode = "turbo";
  f.listen = "nowhere";
  f.max_rules = 0;
  auto diags = apply_flags(c, f);
  std::string all;
  for (const auto& d : diags) all += d.to_string() + "\n";
  EXPECT_NE(all.find("--iface"), std::string::npos) << all;
  EXPECT_NE(all.find("eth0 is named twice"), std::string::npos) << all;
  EXPECT_NE(all.find("--tick-ms"), std::string::npos) << all;
  EXPECT_NE(all.find("--mode"), std::string::npos) << all;
  EXPECT_NE(all.find("--listen"), std::string::npos) << all;
  EXPECT_NE(all.find("--max-rules"), std::string::npos) << all;
}

TEST(Config, NoWayInIsRefused) {
  DaemonConfig c;
  ConfigFlags f;
  f.listen = "off";
  f.unix_socket = "off";
  auto diags = apply_flags(c, f);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("nothing could reach"), std::string::npos);
}

}  // namespace
}  // namespace reflex::daemon
