// A real Prometheus (Debian's) scrapes reflexd's /metrics (add_api over a fake
// loop, on 127.0.0.1) with a config this test writes, and the loop's series
// (a counter, a labelled gauge, a stage histogram) come back from its query
// API with the values the loop published; `promtool check metrics` passes on
// the same exposition.

#include "api/api_routes.h"
#include "tests/support/fake_loop.h"
#include "tests/support/policy_samples.h"
#include "tests/unit/api/daemon_process.h"
#include "tests/unit/api/server_fixture.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace reflex::api::testing {
namespace {

namespace fs = std::filesystem;
using reflex::testing::FakeLoopApi;
using reflex::testing::sample_view;

// A port nobody listens on now (the kernel's pick, released for Prometheus).
unsigned short free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address_v4("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class PrometheusScrape : public ServerFixture {
 protected:
  void SetUp() override {
    dir_ = reflex::testing::fresh_test_dir("prom");
    fs::create_directories(dir_ / "policies");
    reflex::testing::write_policy_file(dir_ / "policies", "10-a.yaml", reflex::testing::kPolicyGood);
    store_ = std::make_unique<plan::PolicyStore>(dir_ / "policies");
    ASSERT_TRUE(store_->reload("start"));
    loop_.publish(sample_view());
    add_api(router_, metrics_, ApiParts{loop_, *store_, [] { return json::object{}; }, nullptr});
    start_server();
  }
  void TearDown() override {
    stop_loop();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string metrics_text() {
    auto res = connect().request(http::verb::get, "/metrics");
    EXPECT_EQ(res.result(), http::status::ok);
    return res.body();
  }

  fs::path dir_;
  std::unique_ptr<plan::PolicyStore> store_;
  FakeLoopApi loop_;
};

TEST_F(PrometheusScrape, PromtoolChecksTheExposition) {
  const fs::path file = dir_ / "scrape.txt";
  std::ofstream(file) << metrics_text();
  const std::string cmd = std::string(PROMTOOL_BIN) + " check metrics < " + file.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string said;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) said.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "promtool check metrics:\n" << said;
  EXPECT_EQ(said, "") << "promtool's lint findings";
}

TEST_F(PrometheusScrape, ARealPrometheusScrapesTheLoopsSeries) {
  const unsigned short prom_port = free_port();
  const fs::path config = dir_ / "prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        << "scrape_configs:\n  - job_name: reflexd\n    static_configs:\n"
                        << "      - targets: ['127.0.0.1:" << endpoint().port() << "']\n";
  DaemonProcess prom(PROMETHEUS_BIN,
                     {"--config.file=" + config.string(), "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
                     (dir_ / "prometheus.log").string());
  const boost::asio::ip::tcp::endpoint prom_ep(boost::asio::ip::make_address_v4("127.0.0.1"), prom_port);

  // Prometheus' own answers, once it is up; nullopt while it is not.
  auto ask = [&](const std::string& target) -> std::optional<json::value> {
    try {
      auto res = TestClient(prom_ep).request(http::verb::get, target);
      if (res.result() != http::status::ok) return std::nullopt;
      boost::system::error_code ec;
      auto v = json::parse(res.body(), ec);
      if (ec) return std::nullopt;
      return v;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  // The value of an instant query's only series, once the scrape has it.
  auto query = [&](const std::string& promql) -> std::optional<double> {
    auto v = ask("/api/v1/query?query=" + promql);
    if (!v) return std::nullopt;
    const auto& result = v->at("data").at("result").as_array();
    if (result.size() != 1) return std::nullopt;
    return std::stod(std::string(result[0].at("value").as_array()[1].as_string()));
  };
  std::optional<double> ticks;
  ASSERT_TRUE(wait_for([&] { return (ticks = query("reflex_loop_ticks_total")).has_value(); },
                       std::chrono::seconds(30)))
      << "Prometheus never had the series; its log:\n"
      << prom.stderr_text();
  EXPECT_EQ(*ticks, 1234);
  EXPECT_EQ(query("up%7Bjob%3D%22reflexd%22%7D"), 1.0);
  EXPECT_EQ(query("reflex_xdp_packets_total%7Biface%3D%22eth0%22%2Cverdict%3D%22drop%22%7D"), 180'000.0);
  EXPECT_EQ(query("reflex_interface_attach_mode%7Biface%3D%22veth1%40ns%22%2Cmode%3D%22generic%22%7D"), 1.0);
  EXPECT_EQ(query("reflex_loop_stage_duration_seconds_count%7Bstage%3D%22commit%22%7D"), 1234.0);
  // The histogram works as one: a quantile over its buckets lands in the bucket the ticks are in.
  auto p50 = query("histogram_quantile(0.5%2Creflex_loop_stage_duration_seconds_bucket%7Bstage%3D%22monitor%22%7D)");
  ASSERT_TRUE(p50);
  EXPECT_GT(*p50, 512e-6);
  EXPECT_LE(*p50, 1024e-6);
  // A new view shows up at the next scrape.
  auto v = sample_view();
  v.ticks = 5000;
  loop_.publish(v);
  EXPECT_TRUE(wait_for([&] { return query("reflex_loop_ticks_total") == 5000.0; }, std::chrono::seconds(30)));
  // The whole exposition was ingested, not just the series asked about.
  EXPECT_GT(query("scrape_samples_scraped%7Bjob%3D%22reflexd%22%7D").value_or(0), 100.0);
}

}  // namespace
}  // namespace reflex::api::testing
