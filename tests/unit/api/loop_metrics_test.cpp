// The loop's /metrics (api/loop_routes.h: add_loop_metrics) read from the view
// a fake loop publishes, rendered and read back by the strict exposition reader:
// each family the issue names (loop and stage timings, symptoms by kind, actions
// by kind and outcome, datapath per interface and verdict, map fill, attach
// modes, store health) carries the view's numbers, and a scrape follows the view.

#include "api/loop_routes.h"
#include "api/system_routes.h"
#include "tests/support/fake_loop.h"
#include "tests/unit/api/prometheus_text.h"
#include "tests/unit/api/server_fixture.h"

#include <gtest/gtest.h>

namespace reflex::api::testing {
namespace {

using reflex::testing::FakeLoopApi;
using reflex::testing::sample_view;

PromText scrape(const MetricsRegistry& reg) {
  auto parsed = parse_prometheus_text(reg.render());
  EXPECT_TRUE(parsed) << parsed.error().what;
  return parsed ? *parsed : PromText{};
}

double value(const PromText& t, std::string_view name, const std::map<std::string, std::string>& labels = {}) {
  const auto* s = t.sample(name, labels);
  EXPECT_NE(s, nullptr) << name;
  return s ? s->value : -1;
}

TEST(LoopMetrics, EveryFamilyCarriesTheViewsNumbers) {
  FakeLoopApi loop(sample_view(6));
  MetricsRegistry reg;
  add_loop_metrics(reg, loop);
  const PromText t = scrape(reg);

  EXPECT_EQ(value(t, "reflex_loop_ticks_total"), 1234);
  EXPECT_EQ(t.find("reflex_loop_ticks_total")->type, "counter");
  EXPECT_EQ(value(t, "reflex_loop_overruns_total"), 1);
  EXPECT_EQ(value(t, "reflex_loop_ready"), 1);
  EXPECT_EQ(value(t, "reflex_loop_phase", {{"phase", "running"}}), 1);
  EXPECT_EQ(value(t, "reflex_loop_phase", {{"phase", "paused"}}), 0);
  EXPECT_DOUBLE_EQ(value(t, "reflex_loop_tick_interval_seconds"), 0.1);
  EXPECT_DOUBLE_EQ(value(t, "reflex_loop_last_tick_duration_seconds"), 2.1e-3);
  EXPECT_DOUBLE_EQ(value(t, "reflex_loop_last_tick_timestamp_seconds"), 1'714'564'800.0);

  // Stage timings: a histogram per stage whose count is the stage's and whose
  // buckets hold the 1200 ticks near the last one by the bucket above 900 us.
  const auto* h = t.find("reflex_loop_stage_duration_seconds");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->type, "histogram");
  EXPECT_EQ(value(t, "reflex_loop_stage_duration_seconds_count", {{"stage", "monitor"}}), 1234);
  EXPECT_NEAR(value(t, "reflex_loop_stage_duration_seconds_sum", {{"stage", "monitor"}}), 900e-6 * 1234, 1e-9);
  EXPECT_EQ(value(t, "reflex_loop_stage_duration_seconds_bucket", {{"stage", "monitor"}, {"le", "0.000512"}}), 0);
  EXPECT_EQ(value(t, "reflex_loop_stage_duration_seconds_bucket", {{"stage", "monitor"}, {"le", "0.001024"}}), 1200);
  EXPECT_EQ(value(t, "reflex_loop_stage_duration_seconds_bucket", {{"stage", "monitor"}, {"le", "+Inf"}}), 1234);
  for (auto stage : daemon::kAllStages)
    EXPECT_NE(t.sample("reflex_loop_stage_duration_seconds_count", {{"stage", std::string(to_string(stage))}}),
              nullptr)
        << to_string(stage);
  EXPECT_NEAR(value(t, "reflex_loop_stage_max_seconds", {{"stage", "commit"}}), 3.5e-3, 1e-12);

  // Symptoms by kind (every kind, zeros included, so a rate() never breaks), events, plans, actions.
  EXPECT_EQ(value(t, "reflex_symptoms_active", {{"kind", "flood"}}), 1);
  EXPECT_EQ(value(t, "reflex_symptoms_active", {{"kind", "map_pressure"}}), 1);
  EXPECT_EQ(value(t, "reflex_symptoms_active", {{"kind", "latency_high"}}), 0);
  EXPECT_EQ(value(t, "reflex_symptom_events_total", {{"kind", "flood"}, {"transition", "raised"}}), 3);
  EXPECT_EQ(value(t, "reflex_symptom_events_total", {{"kind", "flood"}, {"transition", "cleared"}}), 2);
  EXPECT_EQ(value(t, "reflex_plans_total"), 17);
  EXPECT_EQ(value(t, "reflex_actions_total", {{"kind", "block"}}), 5);
  EXPECT_EQ(value(t, "reflex_action_outcomes_total", {{"kind", "block"}, {"outcome", "verified"}}), 4);
  EXPECT_EQ(value(t, "reflex_action_outcomes_total", {{"kind", "block"}, {"outcome", "failed"}}), 1);
  EXPECT_EQ(value(t, "reflex_action_outcomes_total", {{"kind", "rate_limit"}, {"outcome", "applied"}}), 2);

  // Rules and shapes in force: 6 drops over two interfaces (3 each) and eth0's rate limit.
  EXPECT_EQ(value(t, "reflex_rules", {{"iface", "eth0"}, {"verb", "drop"}}), 3);
  EXPECT_EQ(value(t, "reflex_rules", {{"iface", "veth1@ns"}, {"verb", "drop"}}), 3);
  EXPECT_EQ(value(t, "reflex_rules", {{"iface", "eth0"}, {"verb", "rate_limit"}}), 1);
  EXPECT_EQ(value(t, "reflex_shapes", {{"iface", "eth0"}}), 1);

  // Interfaces: attach mode in use, health; the datapath per interface and verdict.
  EXPECT_EQ(value(t, "reflex_interface_attach_mode", {{"iface", "eth0"}, {"mode", "native"}}), 1);
  EXPECT_EQ(value(t, "reflex_interface_attach_mode", {{"iface", "veth1@ns"}, {"mode", "generic"}}), 1);
  EXPECT_EQ(value(t, "reflex_interface_attach_mode", {{"iface", "veth1@ns"}, {"mode", "native"}}), 0);
  EXPECT_EQ(value(t, "reflex_interface_healthy", {{"iface", "eth0"}}), 1);
  EXPECT_EQ(value(t, "reflex_interface_healthy", {{"iface", "veth1@ns"}}), 0);
  EXPECT_EQ(value(t, "reflex_interface_rx_packets_total", {{"iface", "eth0"}}), 2'000'000);
  EXPECT_EQ(value(t, "reflex_xdp_packets_total", {{"iface", "eth0"}, {"verdict", "drop"}}), 180'000);
  EXPECT_EQ(value(t, "reflex_xdp_packets_total", {{"iface", "veth1@ns"}, {"verdict", "shadow"}}), 1'000);
  EXPECT_EQ(value(t, "reflex_xdp_passed_packets_total", {{"iface", "eth0"}, {"reason", "malformed"}}), 4);
  EXPECT_EQ(value(t, "reflex_kernel_drops_total", {{"iface", "eth0"}, {"reason", "NO_SOCKET"}}), 80);

  // Map fill.
  EXPECT_EQ(value(t, "reflex_map_entries", {{"map", "xdp_guard.talkers"}}), 4096);
  EXPECT_EQ(value(t, "reflex_map_fill_ratio", {{"map", "xdp_guard.talkers"}}), 1);
  EXPECT_NEAR(value(t, "reflex_map_fill_ratio", {{"map", "xdp_guard.rules.eth0"}}), 6.0 / 1'048'576, 1e-12);

  // Store health.
  EXPECT_EQ(value(t, "reflex_store_ok"), 1);
  EXPECT_EQ(value(t, "reflex_store_written_records_total"), 4242);
  EXPECT_EQ(value(t, "reflex_store_bytes"), 1 << 20);
}

TEST(LoopMetrics, BeforeTheFirstTickEveryFamilyIsStillWellFormed) {
  FakeLoopApi loop;  // phase starting, no snapshot, no tick
  MetricsRegistry reg;
  add_loop_metrics(reg, loop);
  const PromText t = scrape(reg);
  EXPECT_EQ(value(t, "reflex_loop_ready"), 0);
  EXPECT_EQ(value(t, "reflex_loop_phase", {{"phase", "starting"}}), 1);
  EXPECT_EQ(value(t, "reflex_loop_last_tick_timestamp_seconds"), 0);
  EXPECT_EQ(value(t, "reflex_loop_stage_duration_seconds_count", {{"stage", "apply"}}), 0);
  EXPECT_EQ(value(t, "reflex_symptoms_active", {{"kind", "flood"}}), 0);
  EXPECT_EQ(t.sample("reflex_xdp_packets_total", {{"iface", "eth0"}, {"verdict", "drop"}}), nullptr);
}

class LoopMetricsOverHttp : public ServerFixture {};

TEST_F(LoopMetricsOverHttp, AScrapeFollowsTheViewAndOverridesShowUp) {
  FakeLoopApi loop(sample_view(6));
  add_system_routes(router_, metrics_, [] { return boost::json::object{}; });
  add_loop_routes(router_, loop);
  add_loop_metrics(metrics_, loop);
  start_server();

  auto scrape_http = [&] {
    auto res = connect().request(http::verb::get, "/metrics");
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_NE(res[http::field::content_type].find("text/plain; version=0.0.4"), std::string::npos);
    auto parsed = parse_prometheus_text(res.body());
    EXPECT_TRUE(parsed) << parsed.error().what;
    return parsed ? *parsed : PromText{};
  };
  auto first = scrape_http();
  EXPECT_EQ(value(first, "reflex_loop_ticks_total"), 1234);
  EXPECT_EQ(value(first, "reflex_overrides", {{"kind", "pause"}, {"matched", "false"}}), 0);
  // The server's own metrics are beside the loop's in one exposition.
  EXPECT_NE(first.find("reflex_http_requests_total"), nullptr);

  auto v = sample_view(6);
  v.ticks = 1300;
  v.phase = daemon::LoopPhase::paused;
  loop.publish(v);
  Override pause;
  pause.kind = Override::Kind::pause_all;
  pause.who = "test";
  pause.reason = "maintenance";
  pause.expires_ns = v.now_ns + 600 * kNsPerSec;
  ASSERT_TRUE(loop.add_override({pause, 0}));
  auto second = scrape_http();
  EXPECT_EQ(value(second, "reflex_loop_ticks_total"), 1300);
  EXPECT_EQ(value(second, "reflex_loop_phase", {{"phase", "paused"}}), 1);
  EXPECT_EQ(value(second, "reflex_overrides", {{"kind", "pause"}, {"matched", "false"}}), 1);
}

}  // namespace
}  // namespace reflex::api::testing
