// The report from a known run: the JSON has the figures the issue names,
// the picture shows traffic by class, symptoms and actions, the HTML page is
// self-contained.
#include "sim/report.h"
#include "tests/unit/sim/png_probe.h"
#include "tests/unit/sim/synthetic_run.h"

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

TEST(Report, WritesJsonPictureAndSelfContainedPage) {
  Scenario s;
  s.name = "t";
  s.description = "a known run";
  s.duration_ns = 10 * kNsPerSec;
  s.expect.onset_to_drop_ms_max = 1000;
  Report rep;
  rep.scenario = &s;
  rep.host = "test host";
  NodeRuns n;
  n.node = NodeKind::threshold;
  n.runs = {testing::synthetic_run(3'300 * kNsPerMs)};
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
