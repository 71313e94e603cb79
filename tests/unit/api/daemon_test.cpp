// `reflexd run` end to end, as a child process: it serves every endpoint,
// reloads on SIGHUP, on file changes and on POST, keeps the last good set
// through rejections, refuses to start on a taken port or an invalid set, and
// exits 0 on SIGTERM/SIGINT within a deadline.

#include "api/auth.h"
#include "guard/guard.h"
#include "sim/netns.h"
#include "tests/support/kernel_env.h"
#include "tests/support/policy_samples.h"
#include "tests/unit/api/daemon_process.h"
#include "tests/unit/api/prometheus_text.h"
#include "tests/unit/api/test_client.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <functional>
#include <thread>

namespace reflex::api::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using reflex::testing::kPolicyBroken;
using reflex::testing::kPolicyGood;
using reflex::testing::kPolicyGood2;

class DaemonTest : public ::testing::Test {
 protected:
  // The daemon needs an interface to guard: a veth in a namespace of the
  // test's own, pins in a folder of its own; all gone at the end.
  void SetUp() override {
    REFLEX_REQUIRE_BPF();
    dir_ = reflex::testing::fresh_test_dir("daemon");
    fs::create_directories(dir_ / "policies");
    write("10-a.yaml", kPolicyGood);
    pin_root_ = reflex::testing::test_pin_root() + "/" + sim::unique_name("rfxdt");
    fs::create_directories(pin_root_);
    auto n = sim::NetNs::create(sim::unique_name("rfxdtn"));
    auto p = sim::NetNs::create(sim::unique_name("rfxdtp"));
    ASSERT_TRUE(n && p);
    node_.emplace(std::move(*n));
    peer_.emplace(std::move(*p));
    const std::string a = sim::unique_name("rfxt");
    ASSERT_TRUE(sim::make_veth(*node_, *peer_, {a, sim::unique_name("rfxq"), "10.94.0.1/24", "10.94.0.2/24", {}}));
    iface_ = a + "@" + node_->name();
  }
  void TearDown() override {
    daemon_.reset();
    guard::GuardOptions o;
    o.pin_root = pin_root_;
    (void)guard::Guard::unload(iface_, o);
    std::error_code ec;
    fs::remove_all(pin_root_, ec);
    peer_.reset();
    node_.reset();
    fs::remove_all(dir_);
  }

  // What every `reflexd run` here is given besides the flags under test.
  std::vector<std::string> node_flags() const {
    return {"--iface", iface_, "--pin-root", pin_root_, "--store", (dir_ / "store.db").string(), "--token-file",
            (dir_ / "token").string(), "--unix-socket", "off", "--tick-ms", "200"};
  }

  void write(const std::string& name, const std::string& text) {
    reflex::testing::write_policy_file(dir_ / "policies", name, text);
  }

  // Starts the daemon and waits until it answers; fails the test otherwise.
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--log-level", "info", "run", "--listen", "127.0.0.1:0"};
    for (auto& f : node_flags()) args.push_back(f);
    if (std::find(extra.begin(), extra.end(), "--policies") == extra.end())
      extra.insert(extra.end(), {"--policies", (dir_ / "policies").string()});
    args.insert(args.end(), extra.begin(), extra.end());
    daemon_ = std::make_unique<DaemonProcess>(REFLEXD_BIN, args, (dir_ / "stderr.log").string());
    auto ep = daemon_->wait_listening(10s);
    ASSERT_TRUE(ep) << "reflexd did not start; stderr:\n" << daemon_->stderr_text();
    endpoint_ = *ep;
  }

  // Runs the daemon expecting it to refuse; returns (exit code, stderr).
  std::pair<int, std::string> start_failing(std::vector<std::string> args) {
    for (auto& f : node_flags()) args.push_back(f);
    DaemonProcess p(REFLEXD_BIN, args, (dir_ / "stderr.log").string());
    auto st = p.wait_exit(10s);
    EXPECT_TRUE(st) << "reflexd did not exit";
    return {st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p.stderr_text()};
  }

  // A client that sends the daemon's API token (mutating calls need it).
  TestClient authorized() const {
    TestClient c(endpoint_);
    auto token = reflex::api::read_token_file((dir_ / "token").string());
    EXPECT_TRUE(token) << (token ? "" : token.error().message());
    if (token) c.set_header("Authorization", "Bearer " + *token);
    return c;
  }

  json::object get(const std::string& target) {
    auto res = TestClient(endpoint_).request(http::verb::get, target);
    EXPECT_EQ(res.result(), http::status::ok) << target << ": " << res.body();
    return parse_json(res.body()).as_object();
  }

  // Polls the daemon (over HTTP, every 20 ms) until pred holds.
  bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds deadline = 10s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  int exit_code_after(int signo) {
    daemon_->signal(signo);
    auto st = daemon_->wait_exit(5s);
    if (!st) {
      ADD_FAILURE() << "reflexd still runs 5 s after signal " << signo;
      return -1;
    }
    EXPECT_TRUE(WIFEXITED(*st)) << "reflexd died of a signal";
    return WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  }

  fs::path dir_;
  std::string pin_root_, iface_;
  std::optional<sim::NetNs> node_, peer_;
  std::unique_ptr<DaemonProcess> daemon_;
  boost::asio::ip::tcp::endpoint endpoint_;
};

TEST_F(DaemonTest, ServesEveryEndpointOnTheShippedPolicies) {
  start({"--policies", REFLEX_SOURCE_DIR "/policies", "--no-watch"});
  auto c = TestClient(endpoint_);
  auto health = c.request(http::verb::get, "/healthz");
  EXPECT_EQ(health.result(), http::status::ok);
  EXPECT_EQ(health.body(), "ok\n");

  auto status = get("/v1/status");
  EXPECT_EQ(status.at("daemon").as_string(), "reflexd");
  EXPECT_FALSE(status.at("version").as_string().empty());
  EXPECT_GE(status.at("uptime_seconds").as_int64(), 0);
  EXPECT_EQ(status.at("policy").as_object().at("generation").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(status.at("pid").as_int64(), daemon_->pid());

  auto policies = get("/v1/policies");
  const auto rules = policies.at("in_force").as_object().at("rule_count").to_number<std::uint64_t>();
  EXPECT_GT(rules, 0u);

  auto metrics = c.request(http::verb::get, "/metrics");
  EXPECT_EQ(metrics[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  auto m = parse_prometheus_text(metrics.body());
  ASSERT_TRUE(m) << m.error().what << "\n" << metrics.body();
  for (const char* name :
       {"reflex_up", "reflex_policy_generation", "reflex_policy_rules", "reflex_policy_reloads_total",
        "reflex_http_requests_total", "reflex_build_info"}) {
    ASSERT_TRUE(m->find(name)) << "no " << name << " in\n" << metrics.body();
    EXPECT_FALSE(m->find(name)->help.empty()) << name;
    EXPECT_NE(m->find(name)->type, "untyped") << name;
  }
  EXPECT_EQ(m->sample("reflex_up")->value, 1);
  EXPECT_EQ(m->sample("reflex_policy_rules")->value, static_cast<double>(rules));
  EXPECT_EQ(m->sample("reflex_policy_reloads_total", {{"result", "accepted"}})->value, 1);
  EXPECT_EQ(m->sample("reflex_policy_reloads_total", {{"result", "rejected"}})->value, 0);
  EXPECT_GE(m->sample("reflex_http_requests_total", {{"code", "200"}})->value, 3);

  // A pipelined burst across the endpoints is answered in order.
  const char* targets[] = {"/healthz", "/v1/status", "/v1/policies", "/metrics", "/nope"};
  std::string burst;
  for (int i = 0; i < 50; ++i) burst += format_request(http::verb::get, targets[i % 5]);
  ASSERT_TRUE(c.send(burst));
  for (int i = 0; i < 50; ++i) {
    auto res = c.read_response();
    ASSERT_TRUE(res) << i << ": " << res.error().what;
    EXPECT_EQ(res->result(), i % 5 == 4 ? http::status::not_found : http::status::ok) << targets[i % 5];
  }
}

TEST_F(DaemonTest, SighupReloadsAndARejectedSetLeavesTheLastGoodInForce) {
  start({"--no-watch"});  // only SIGHUP can cause these reloads
  write("10-a.yaml", kPolicyGood2);
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(wait_for([&] { return get("/v1/policies").at("generation").to_number<std::uint64_t>() == 2; }))
      << "no reload after SIGHUP; stderr:\n"
      << daemon_->stderr_text();
  auto doc = get("/v1/policies");
  EXPECT_EQ(doc.at("in_force").as_object().at("trigger").as_string(), "sighup");
  EXPECT_EQ(doc.at("in_force").as_object().at("rule_count").to_number<std::uint64_t>(), 2u);

  write("10-a.yaml", kPolicyBroken);
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(wait_for([&] {
    return get("/v1/policies").at("loads").as_object().at("rejected").to_number<std::uint64_t>() == 1;
  })) << "no rejection after SIGHUP with a broken file";
  doc = get("/v1/policies");
  EXPECT_EQ(doc.at("generation").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(doc.at("in_force").as_object().at("rule_count").to_number<std::uint64_t>(), 2u);
  const auto& rej = doc.at("last_rejection").as_object();
  EXPECT_EQ(rej.at("trigger").as_string(), "sighup");
  const auto& finding = rej.at("findings").as_array().at(0).as_object();
  EXPECT_EQ(finding.at("line").as_int64(), 2);
  EXPECT_NE(finding.at("text").as_string().find("10-a.yaml:2:"), std::string::npos);
  EXPECT_NE(daemon_->stderr_text().find("rejected (sighup)"), std::string::npos)
      << "the rejection is not logged";

  // The daemon is still alive and serving after both reloads.
  EXPECT_EQ(exit_code_after(SIGTERM), 0);
}

TEST_F(DaemonTest, FileChangesReloadAndRestReloadRejects) {
  const char* good_b = "rules:\n  - {id: b, when: {symptom: latency_high}, then: {action: alert}}\n";
  start();
  write("20-b.yaml", good_b);
  ASSERT_TRUE(wait_for([&] { return get("/v1/policies").at("generation").to_number<std::uint64_t>() == 2; }))
      << "no reload after a file was added";
  EXPECT_EQ(get("/v1/policies").at("in_force").as_object().at("trigger").as_string(), "inotify");

  // A broken edit: inotify rejects it; an explicit reload says so with 422.
  write("20-b.yaml", kPolicyBroken);
  ASSERT_TRUE(wait_for([&] {
    return get("/v1/policies").at("loads").as_object().at("rejected").to_number<std::uint64_t>() >= 1;
  }));
  auto res = authorized().request(http::verb::post, "/v1/policies/reload");
  EXPECT_EQ(res.result(), http::status::unprocessable_entity) << res.body();
  auto doc = get("/v1/policies");
  EXPECT_EQ(doc.at("generation").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(doc.at("last_rejection").as_object().at("trigger").as_string(), "api");
  // Every rejection, whatever caused it, is in Knowledge with its findings.
  std::string hist;
  EXPECT_TRUE(wait_for([&] {  // the record is written with the next tick
    hist = boost::json::serialize(get("/v1/history?kind=policy"));
    return hist.find("rejected (inotify") != std::string::npos && hist.find("rejected (api") != std::string::npos;
  })) << hist;

  // Fixed: the next reload is accepted.
  write("20-b.yaml", good_b);
  ASSERT_TRUE(wait_for([&] { return get("/v1/policies").at("generation").to_number<std::uint64_t>() == 3; }));
  EXPECT_TRUE(get("/v1/policies").at("last_attempt").as_object().at("accepted").as_bool());
}

TEST_F(DaemonTest, SigtermClosesIdleConnectionsAndExitsZero) {
  start();
  auto idle = TestClient(endpoint_);
  EXPECT_EQ(idle.request(http::verb::get, "/healthz").result(), http::status::ok);
  EXPECT_EQ(exit_code_after(SIGTERM), 0) << daemon_->stderr_text();
  EXPECT_TRUE(idle.closed_within(1s));
  EXPECT_NE(daemon_->stderr_text().find("SIGTERM: stopping"), std::string::npos);
}

TEST_F(DaemonTest, SigintExitsZero) {
  start();
  EXPECT_EQ(exit_code_after(SIGINT), 0) << daemon_->stderr_text();
}

TEST_F(DaemonTest, RefusesToStartWhenThePortIsTaken) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor holder(io, {boost::asio::ip::make_address_v4("127.0.0.1"), 0});
  const std::string addr = "127.0.0.1:" + std::to_string(holder.local_endpoint().port());
  auto [code, err] = start_failing({"run", "--listen", addr, "--policies", (dir_ / "policies").string()});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("listen on " + addr), std::string::npos) << err;
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  EXPECT_NE(err.find("--listen"), std::string::npos) << err;
}

TEST_F(DaemonTest, RefusesToStartWithAnInvalidOrMissingPolicySet) {
  write("10-a.yaml", kPolicyBroken);
  auto [code, err] =
      start_failing({"run", "--listen", "127.0.0.1:0", "--policies", (dir_ / "policies").string()});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("10-a.yaml:2:"), std::string::npos) << err;
  EXPECT_NE(err.find("check-policy"), std::string::npos) << err;

  auto [code2, err2] =
      start_failing({"run", "--listen", "127.0.0.1:0", "--policies", (dir_ / "nope").string()});
  EXPECT_EQ(code2, 1);
  EXPECT_NE(err2.find("does not exist"), std::string::npos) << err2;

  auto [code3, err3] =
      start_failing({"run", "--listen", "nowhere", "--policies", (dir_ / "policies").string()});
  EXPECT_EQ(code3, 2) << "a bad flag is a configuration error";
  EXPECT_NE(err3.find("no port"), std::string::npos) << err3;
}

}  // namespace
}  // namespace reflex::api::testing
