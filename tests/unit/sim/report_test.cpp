// The report from a known run: the JSON has the figures the issue names,
// the picture shows traffic by class, symptoms and actions, the HTML page is
// self-contained.
#include "sim/report.h"
#include "tests/unit/sim/png_probe.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace reflex::sim {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunData known_run() {
  RunData r;
  r.scenario = "t";
  r.node = NodeKind::threshold;
  r.duration_ns = r.end_ns = 6 * kNsPerSec;
  r.onset_ns = 2 * kNsPerSec;
  r.attack_end_ns = 4 * kNsPerSec;
  r.attack_windows = {{2 * kNsPerSec, 4 * kNsPerSec}};
  r.classes = {{"unclassified", TrafficClass::benign, TrafficKind::udp, {}, 0, 0, 0},
               {"clients", TrafficClass::benign, TrafficKind::udp, {1}, 1000, 0, 6 * kNsPerSec},
               {"flood", TrafficClass::attack, TrafficKind::udp, {2}, 50000, 2 * kNsPerSec, 4 * kNsPerSec}};
  std::uint64_t b = 0, a_sent = 0, a_got = 0;
  for (TimeNs t = 0; t <= r.duration_ns; t += 10 * kNsPerMs) {
    r.samples.push_back({t, {0, b, a_sent}, {0, b, a_got}, {0, b, 0}, a_sent - a_got, b, t > 2'300 * kNsPerMs ? 1u : 0u});
    b += 10;
    if (t >= 2 * kNsPerSec && t < 4 * kNsPerSec) {
      a_sent += 500;
      if (t < 2'300 * kNsPerMs) a_got += 500;
    }
  }
  r.events = {{2'000 * kNsPerMs, "scenario", "attack_start", "flood", "flood starts"},
              {2'200 * kNsPerMs, "symptom", "over_threshold", "192.0.2.1/32", "192.0.2.1 above"},
              {2'250 * kNsPerMs, "action", "block", "192.0.2.1/32", "block 192.0.2.1/32"}};
  return r;
}

TEST(Report, WritesJsonPictureAndSelfContainedPage) {
  Scenario s;
  s.name = "t";
  s.description = "a known run";
  s.duration_ns = 6 * kNsPerSec;
  s.expect.onset_to_drop_ms_max = 1000;
  Report rep;
  rep.scenario = &s;
  rep.host = "test host";
  NodeRuns n;
  n.node = NodeKind::threshold;
  n.runs = {known_run()};
  n.metrics = {compute_metrics(n.runs[0])};
  rep.nodes.push_back(n);

  auto dir = std::filesystem::temp_directory_path() / ("rfx-report-" + std::to_string(getpid()));
  ASSERT_TRUE(write_report(rep, dir.string()));
  auto j = boost::json::parse(slurp((dir / "report.json").string())).as_object();
  for (const char* k : {"onset_to_detect_ms", "onset_to_action_ms", "onset_to_drop_ms", "benign_goodput_ratio",
                        "benign_dropped", "attack_delivered", "actions", "false_blocks", "rules_left", "percentiles",
                        "compare", "expectations"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_NEAR(j["onset_to_drop_ms"].as_double(), 300, 10);
  EXPECT_TRUE(j["benign_goodput_ratio"].as_object().contains("during"));
  EXPECT_TRUE(j["actions"].as_object().contains("rolled_back"));
  EXPECT_TRUE(j["pass"].as_bool());

  std::string html = slurp((dir / "report.html").string());
  EXPECT_NE(html.find("<svg"), std::string::npos) << "the picture is inline";
  EXPECT_EQ(html.find("src=\"http"), std::string::npos) << "no fetches";
  EXPECT_EQ(html.find("href=\"http"), std::string::npos) << "no fetches";
  EXPECT_NE(html.find("onset_to_drop_ms"), std::string::npos);
  EXPECT_NE(slurp((dir / "timeline.svg").string()).find("<svg"), std::string::npos);

  // The PNG shows attack (red), benign (green), the symptom and the action.
  std::string png = (dir / "timeline.png").string();
  EXPECT_GT(testing::count_colour(png, 0xd62728, 10, 80, 64).pixels, 200) << "attack series";
  EXPECT_GT(testing::count_colour(png, 0x2ca02c, 10, 80, 64).pixels, 200) << "benign series";
  EXPECT_GT(testing::count_colour(png, 0xff7f0e, 10, 80, 64).pixels, 20) << "symptom marker";
  EXPECT_GT(testing::count_colour(png, 0x1f77b4, 10, 80, 64).pixels, 20) << "action marker";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace reflex::sim
