#include "fleet/fleet_metrics.h"

#include <gtest/gtest.h>

namespace reflex::fleet {
namespace {

struct StubLink final : VerdictTransport {
  LinkStatus st;
  void publish(std::string, std::string) override {}
  LinkStatus status() const override { return st; }
};

TEST(FleetMetrics, RenderWhatTheNodeAndTheLinkSayAtScrapeTime) {
  FleetNodeOptions o;
  o.node_id = "b";
  FleetNode node(o, nullptr, nullptr);
  StubLink link;
  link.st.state = LinkState::reconnecting;
  link.st.reconnects = 3;
  api::MetricsRegistry reg;
  publish_fleet_metrics(reg, node, &link);

  // A verdict the guardrails forbid, and one from a subject that names nobody.
  plan::Guardrails g;
  g.never_block = {Prefix::parse("169.254.0.0/16").value()};
  Verdict v;
  v.node = "a";
  v.seq = 1;
  v.wall_ns = 1'800'000'000 * kNsPerSec;
  v.prefix = Prefix::parse("169.254.1.0/24").value();
  v.action = VerdictAction::block;
  v.ttl_ns = 60 * kNsPerSec;
  node.receive({verdict_subject("reflex", "a"), encode(v)}, kNsPerSec, v.wall_ns, g);
  node.receive({"reflex.v1.other", "{}"}, kNsPerSec, v.wall_ns, g);

  const std::string text = reg.render();
  EXPECT_NE(text.find("reflex_fleet_verdicts_received_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reflex_fleet_verdicts_refused_total{reason=\"never_block\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reflex_fleet_verdicts_refused_total{reason=\"malformed\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reflex_fleet_verdicts_refused_total{reason=\"rate_capped\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reflex_fleet_link_state{state=\"reconnecting\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reflex_fleet_link_state{state=\"connected\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reflex_fleet_link_reconnects_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reflex_fleet_peer_verdicts_active 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE reflex_fleet_verdicts_sent_total counter"), std::string::npos) << text;

  // Read again at the next scrape: the link came back.
  link.st.state = LinkState::connected;
  EXPECT_NE(reg.render().find("reflex_fleet_link_state{state=\"connected\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace reflex::fleet
