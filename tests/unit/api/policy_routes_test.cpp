// The policy endpoints over a real server, a real PolicyStore on a temp folder
// and real inotify: reloads through REST and through file changes, accepted
// and rejected, and what GET /v1/policies and /metrics then say.

#include "tests/support/policy_samples.h"
#include "api/policy_routes.h"
#include "api/system_routes.h"
#include "tests/unit/api/prometheus_text.h"
#include "tests/unit/api/server_fixture.h"

#include <unistd.h>

#include <filesystem>

namespace reflex::api::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using reflex::testing::kPolicyBroken;
using reflex::testing::kPolicyGood;
using reflex::testing::kPolicyGood2;

class PolicyRoutesTest : public ServerFixture {
 protected:
  void SetUp() override {
    dir_ = reflex::testing::fresh_test_dir("api");
    write("10-a.yaml", kPolicyGood);
    store_ = std::make_unique<plan::PolicyStore>(dir_);
    ASSERT_TRUE(store_->reload("start"));
    add_policy_routes(router_, *store_);
    add_policy_metrics(metrics_, *store_);
    add_system_routes(router_, metrics_, [] { return json::object{{"daemon", "test"}}; });
    start_server();
  }
  void TearDown() override {
    if (store_ && thread_.joinable()) on_loop([this] { store_->stop(); });
    stop_loop();
    store_.reset();
    fs::remove_all(dir_);
  }

  // As editors and config managers write: a temp file, then a rename.
  void write(const std::string& name, const std::string& text) {
    reflex::testing::write_policy_file(dir_, name, text);
  }

  json::object get_policies() {
    auto res = connect().request(http::verb::get, "/v1/policies");
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    return parse_json(res.body()).as_object();
  }

  PromText scrape() {
    auto res = connect().request(http::verb::get, "/metrics");
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
    auto parsed = parse_prometheus_text(res.body());
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().what) << "\n" << res.body();
    return parsed ? *parsed : PromText{};
  }

  static double value(const PromText& t, std::string_view name,
                      std::map<std::string, std::string> labels = {}) {
    auto* s = t.sample(name, labels);
    EXPECT_TRUE(s) << "no sample " << name;
    return s ? s->value : -1;
  }

  fs::path dir_;
  std::unique_ptr<plan::PolicyStore> store_;
};

TEST_F(PolicyRoutesTest, GetShowsTheSetInForce) {
  auto doc = get_policies();
  EXPECT_EQ(doc.at("generation").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(doc.at("dir").as_string(), dir_.string());
  const auto& in_force = doc.at("in_force").as_object();
  EXPECT_EQ(in_force.at("trigger").as_string(), "start");
  EXPECT_EQ(in_force.at("rule_count").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(in_force.at("rules").as_array()[0].as_object().at("id").as_string(), "a");
  EXPECT_NE(in_force.at("rules").as_array()[0].as_object().at("source").as_string().find("10-a.yaml:2:"),
            std::string::npos);
  EXPECT_FALSE(in_force.at("loaded_at").as_string().empty());
  EXPECT_EQ(doc.at("loads").as_object().at("accepted").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(doc.at("loads").as_object().at("rejected").to_number<std::uint64_t>(), 0u);
  EXPECT_TRUE(doc.at("last_rejection").is_null());
}

TEST_F(PolicyRoutesTest, ReloadAcceptedReturnsTheNewStatus) {
  write("10-a.yaml", kPolicyGood2);
  auto res = connect().request(http::verb::post, "/v1/policies/reload");
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  auto doc = parse_json(res.body()).as_object();
  EXPECT_EQ(doc.at("generation").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(doc.at("in_force").as_object().at("trigger").as_string(), "api");
  EXPECT_EQ(doc.at("in_force").as_object().at("rule_count").to_number<std::uint64_t>(), 2u);

  auto m = scrape();
  EXPECT_EQ(value(m, "reflex_policy_generation"), 2);
  EXPECT_EQ(value(m, "reflex_policy_rules"), 2);
  EXPECT_EQ(value(m, "reflex_policy_reloads_total", {{"result", "accepted"}}), 2);
  EXPECT_EQ(value(m, "reflex_policy_last_reload_successful"), 1);
}

TEST_F(PolicyRoutesTest, ReloadRejectedIs422AndTheLastGoodSetStays) {
  write("20-b.yaml", "rules:\n  - {id: z, when: {symptom: flod}, then: {action: shadow}}\n");
  auto res =
      connect().request(http::verb::post, "/v1/policies/reload", R"({"reason": "test"})", "application/json");
  ASSERT_EQ(res.result(), http::status::unprocessable_entity) << res.body();
  auto doc = parse_json(res.body()).as_object();
  EXPECT_NE(doc.at("error").as_string().find("generation 1 stays in force"), std::string::npos) << res.body();
  EXPECT_NE(doc.at("hint").as_string().find("check-policy"), std::string::npos);
  const auto& finding = doc.at("rejection").as_object().at("findings").as_array().at(0).as_object();
  EXPECT_EQ(finding.at("level").as_string(), "error");
  EXPECT_EQ(fs::path(std::string(finding.at("file").as_string())).filename(), "20-b.yaml");
  EXPECT_EQ(finding.at("line").as_int64(), 2);
  EXPECT_GT(finding.at("column").as_int64(), 0);
  EXPECT_NE(finding.at("text").as_string().find("20-b.yaml:2:"), std::string::npos);

  // The set in force did not change, and the rejection is visible afterwards.
  auto st = get_policies();
  EXPECT_EQ(st.at("generation").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(st.at("in_force").as_object().at("rule_count").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(st.at("in_force").as_object().at("trigger").as_string(), "start");
  EXPECT_FALSE(st.at("last_attempt").as_object().at("accepted").as_bool());
  const auto& rej = st.at("last_rejection").as_object();
  EXPECT_EQ(rej.at("trigger").as_string(), "api");
  EXPECT_EQ(rej.at("errors").as_int64(), 1);
  EXPECT_FALSE(rej.at("at").as_string().empty());
  EXPECT_EQ(on_loop([this] { return store_->current()->rules.size(); }), 1u);

  auto m = scrape();
  EXPECT_EQ(value(m, "reflex_policy_generation"), 1);
  EXPECT_EQ(value(m, "reflex_policy_reloads_total", {{"result", "rejected"}}), 1);
  EXPECT_EQ(value(m, "reflex_policy_last_reload_successful"), 0);
  EXPECT_GE(value(m, "reflex_http_requests_total", {{"code", "422"}}), 1);
}

TEST_F(PolicyRoutesTest, ReloadBodyIsChecked) {
  auto c = connect();
  EXPECT_EQ(c.request(http::verb::post, "/v1/policies/reload", "{}", "text/plain").result(),
            http::status::unsupported_media_type);
  EXPECT_EQ(c.request(http::verb::post, "/v1/policies/reload", "{nope", "application/json").result(),
            http::status::bad_request);
  auto unknown = c.request(http::verb::post, "/v1/policies/reload", R"({"dry": true})", "application/json");
  EXPECT_EQ(unknown.result(), http::status::bad_request);
  EXPECT_NE(parse_json(unknown.body()).as_object().at("error").as_string().find("dry"), std::string::npos);
  EXPECT_EQ(
      c.request(http::verb::post, "/v1/policies/reload", R"({"reason": 1})", "application/json").result(),
      http::status::bad_request);
  EXPECT_EQ(c.request(http::verb::get, "/v1/policies/reload").result(), http::status::method_not_allowed);
  EXPECT_EQ(c.request(http::verb::post, "/v1/policies").result(), http::status::method_not_allowed);
  // None of these reloaded anything.
  EXPECT_EQ(get_policies().at("loads").as_object().at("accepted").to_number<std::uint64_t>(), 1u);
}

TEST_F(PolicyRoutesTest, FileChangesReloadThroughInotifyAndShowInTheApi) {
  on_loop([this] { ASSERT_TRUE(store_->watch(io_, 10ms)); });
  write("10-a.yaml", kPolicyGood2);
  ASSERT_TRUE(wait_for([&] { return get_policies().at("generation").to_number<std::uint64_t>() == 2; }))
      << "no reload after a policy file changed";
  auto doc = get_policies();
  EXPECT_EQ(doc.at("in_force").as_object().at("trigger").as_string(), "inotify");
  EXPECT_EQ(doc.at("in_force").as_object().at("rule_count").to_number<std::uint64_t>(), 2u);

  write("10-a.yaml", kPolicyBroken);
  ASSERT_TRUE(wait_for([&] {
    return get_policies().at("loads").as_object().at("rejected").to_number<std::uint64_t>() == 1;
  })) << "no reload after a broken edit";
  doc = get_policies();
  EXPECT_EQ(doc.at("generation").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(doc.at("in_force").as_object().at("rule_count").to_number<std::uint64_t>(), 2u);
  const auto& rej = doc.at("last_rejection").as_object();
  EXPECT_EQ(rej.at("trigger").as_string(), "inotify");
  EXPECT_NE(rej.at("findings").as_array()[0].as_object().at("text").as_string().find("10-a.yaml:2:"),
            std::string::npos);
}

TEST_F(PolicyRoutesTest, SystemEndpoints) {
  auto c = connect();
  auto health = c.request(http::verb::get, "/healthz");
  EXPECT_EQ(health.result(), http::status::ok);
  EXPECT_EQ(health.body(), "ok\n");

  auto status = parse_json(c.request(http::verb::get, "/v1/status").body()).as_object();
  EXPECT_EQ(status.at("daemon").as_string(), "test");
  const auto& endpoints = status.at("endpoints").as_array();
  auto listed = [&](std::string_view e) {
    for (const auto& v : endpoints)
      if (v.as_string() == e) return true;
    return false;
  };
  EXPECT_TRUE(listed("GET, HEAD /v1/policies"));
  EXPECT_TRUE(listed("POST /v1/policies/reload"));
  EXPECT_TRUE(listed("GET, HEAD /metrics"));

  // Every family has HELP and TYPE (the reader checks they precede samples).
  auto m = scrape();
  for (const auto& f : m.families) {
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_NE(f.type, "untyped") << f.name;
  }
  EXPECT_EQ(m.find("reflex_policy_reloads_total")->type, "counter");
  EXPECT_EQ(m.find("reflex_policy_generation")->type, "gauge");
  EXPECT_GE(value(m, "reflex_http_requests_total", {{"code", "200"}}), 2);
}

}  // namespace
}  // namespace reflex::api::testing
