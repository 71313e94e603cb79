// The loop's routes over a real server and a fake loop (tests/support/fake_loop.h):
// every endpoint's document, its filters and paging, its 400s, and overrides
// going to the loop (validated by the real OverrideBook) with the token.

#include "api/auth.h"
#include "api/loop_json.h"
#include "api/loop_routes.h"
#include "api/override_request.h"
#include "tests/support/fake_loop.h"
#include "tests/unit/api/server_fixture.h"

#include <unistd.h>

#include <cstdio>

namespace reflex::api::testing {
namespace {

using reflex::testing::FakeLoopApi;
using reflex::testing::sample_view;

const std::string kToken = "test-token-0123456789abcdef0123456789abcdef";
constexpr TimeNs kWall = 1'714'564'800LL * kNsPerSec;  // 2024-05-01T12:00:00Z

class LoopRoutesTest : public ServerFixture {
 protected:
  void SetUp() override {
    loop_.publish(sample_view());
    LoopRouteOptions opts;
    opts.wall_now = [this] { return wall_now_; };
    add_loop_routes(router_, loop_, opts);
    router_.require_token(std::make_shared<TokenAuth>(TokenAuth::from_token(kToken, "/etc/reflex/token")));
    start_server();
  }

  json::value get(const std::string& target, http::status expect = http::status::ok) {
    auto c = connect();
    auto res = c.request(http::verb::get, target);
    EXPECT_EQ(res.result(), expect) << target << ": " << res.body();
    EXPECT_EQ(res[http::field::content_type], "application/json") << target;
    return parse_json(res.body());
  }

  Response send(http::verb method, const std::string& target, std::string body = {}, bool token = true) {
    auto c = connect();
    if (token) c.set_header("Authorization", "Bearer " + kToken);
    return c.request(method, target, std::move(body), body.empty() ? "" : "application/json");
  }

  static std::string error_of(const json::value& v) { return std::string(v.at("error").as_string()); }

  FakeLoopApi loop_;
  TimeNs wall_now_ = kWall + 60 * kNsPerSec;
};

TEST_F(LoopRoutesTest, StateHasTheLoopInterfacesRulesShapesOverridesAndStore) {
  auto s = get("/v1/state");
  EXPECT_EQ(s.at("phase").as_string(), "running");
  EXPECT_TRUE(s.at("ready").as_bool());
  EXPECT_EQ(s.at("policy_generation").as_int64(), 3);
  const auto& tick = s.at("tick");
  EXPECT_EQ(tick.at("interval_ms").as_int64(), 100);
  EXPECT_EQ(tick.at("count").as_int64(), 1234);
  EXPECT_EQ(tick.at("last").at("at").as_string(), "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(tick.at("last").at("stages_us").at("monitor").as_int64(), 900);
  EXPECT_EQ(s.at("stages").at("commit").at("last_us").as_int64(), 500);
  EXPECT_EQ(s.at("stages").at("commit").at("p50_us").as_int64(), 512);  // 500us lands in [256, 512)

  const auto& ifaces = s.at("interfaces").as_array();
  ASSERT_EQ(ifaces.size(), 2u);
  EXPECT_EQ(ifaces[0].at("key").as_string(), "eth0");
  EXPECT_EQ(ifaces[0].at("mode").as_string(), "native");
  EXPECT_TRUE(ifaces[0].at("healthy").as_bool());
  EXPECT_EQ(ifaces[1].at("mode").as_string(), "generic");
  EXPECT_EQ(ifaces[1].at("wanted").as_string(), "native");
  EXPECT_FALSE(ifaces[1].at("healthy").as_bool());
  EXPECT_NE(std::string(ifaces[1].at("problem").as_string()).find("generic"), std::string::npos);

  // 6 drops over two interfaces plus a rate limit on eth0.
  const auto& rules = s.at("rules");
  EXPECT_EQ(rules.at("total").as_int64(), 7);
  EXPECT_EQ(rules.at("items").as_array().size(), 7u);
  EXPECT_TRUE(rules.at("next").is_null());
  bool saw_limit = false, saw_permanent = false;
  for (const auto& r : rules.at("items").as_array()) {
    if (r.at("verb") == "rate_limit") {
      saw_limit = true;
      EXPECT_EQ(r.at("ttl_remaining_s").as_int64(), 600);
      EXPECT_EQ(r.at("expires_at").as_string(), "2024-05-01T12:10:00.000Z");
      EXPECT_EQ(r.at("l4").at("port").as_int64(), 80);
    }
    if (r.at("ttl_remaining_s").is_null()) saw_permanent = true;
  }
  EXPECT_TRUE(saw_limit);
  EXPECT_TRUE(saw_permanent);
  const auto& shapes = s.at("shapes").as_array();
  ASSERT_EQ(shapes.size(), 1u);
  EXPECT_EQ(shapes[0].at("rate").as_string(), "10Mbit");
  EXPECT_EQ(shapes[0].at("ttl_remaining_s").as_int64(), 300);
  EXPECT_TRUE(s.at("store").at("ok").as_bool());
  EXPECT_EQ(s.at("store").at("path").as_string(), "/var/lib/reflex/reflex.db");

  // The rule list is capped; the rest page through /v1/rules.
  auto capped = get("/v1/state?rules=2");
  EXPECT_EQ(capped.at("rules").at("items").as_array().size(), 2u);
  EXPECT_FALSE(capped.at("rules").at("next").is_null());
  EXPECT_EQ(get("/v1/state?rules=0").at("rules").at("items").as_array().size(), 0u);
}

TEST_F(LoopRoutesTest, StateBeforeTheFirstTickIsWellFormed) {
  daemon::LoopView starting;  // phase starting, no snapshot, no tick
  loop_.publish(starting);
  auto s = get("/v1/state");
  EXPECT_EQ(s.at("phase").as_string(), "starting");
  EXPECT_TRUE(s.at("tick").at("last").is_null());
  EXPECT_EQ(s.at("rules").at("total").as_int64(), 0);
  EXPECT_EQ(get("/v1/symptoms").at("active").as_array().size(), 0u);
  EXPECT_EQ(get("/v1/flows").at("flows").as_array().size(), 0u);
}

TEST_F(LoopRoutesTest, RulesPageInAStableOrderAndFilter) {
  loop_.publish(sample_view(250));
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    auto doc = get("/v1/rules?limit=40" + (cursor.empty() ? "" : "&cursor=" + cursor));
    EXPECT_EQ(doc.at("total").as_int64(), 251);
    for (const auto& r : doc.at("rules").as_array())
      seen.push_back(std::string(r.at("iface").as_string()) + " " + std::string(r.at("prefix").as_string()));
    if (doc.at("next").is_null()) break;
    cursor.clear();
    for (char c : doc.at("next").as_string()) cursor += c == '|' ? std::string("%7C") : std::string(1, c);
  }
  ASSERT_EQ(seen.size(), 251u);  // every rule once, no page overlapping the next
  auto sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());

  auto eth0 = get("/v1/rules?iface=eth0&limit=1000");
  EXPECT_EQ(eth0.at("rules").as_array().size(), 126u);  // 125 drops + the limit
  auto limits = get("/v1/rules?verb=rate_limit");
  ASSERT_EQ(limits.at("rules").as_array().size(), 1u);
  EXPECT_EQ(limits.at("rules").as_array()[0].at("prefix").as_string(), "198.51.100.9");
  auto within = get("/v1/rules?prefix=10.0.0.0/28&limit=1000");
  EXPECT_EQ(within.at("rules").as_array().size(), 16u);

  EXPECT_NE(error_of(get("/v1/rules?verb=explode", http::status::bad_request)).find("verb"), std::string::npos);
  EXPECT_NE(error_of(get("/v1/rules?cursor=junk", http::status::bad_request)).find("cursor"), std::string::npos);
  EXPECT_NE(error_of(get("/v1/rules?prefix=10.0.0.0/99", http::status::bad_request)).find("prefix"), std::string::npos);
}

TEST_F(LoopRoutesTest, SymptomsPlansAndActions) {
  auto s = get("/v1/symptoms");
  ASSERT_EQ(s.at("active").as_array().size(), 2u);
  const auto& flood = s.at("active").as_array()[0];
  EXPECT_EQ(flood.at("kind").as_string(), "flood");
  EXPECT_EQ(flood.at("severity").as_string(), "critical");
  EXPECT_EQ(flood.at("since").as_string(), "2024-05-01T11:59:30.000Z");
  const auto& events = s.at("events").as_array();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].at("transition").as_string(), "updated");  // newest first
  EXPECT_EQ(events[1].at("transition").as_string(), "cleared");
  EXPECT_EQ(get("/v1/symptoms?kind=map_pressure").at("active").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/symptoms?iface=eth0").at("active").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/symptoms?limit=1").at("events").as_array().size(), 1u);
  get("/v1/symptoms?kind=flod", http::status::bad_request);

  auto p = get("/v1/plans");
  ASSERT_EQ(p.at("plans").as_array().size(), 1u);
  const auto& plan = p.at("plans").as_array()[0];
  EXPECT_EQ(plan.at("id").as_string(), "plan-1233");
  EXPECT_EQ(plan.at("actions").as_array().size(), 2u);
  EXPECT_EQ(plan.at("describe").as_array().size(), 2u);

  auto a = get("/v1/actions");
  const auto& actions = a.at("actions").as_array();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].at("id").as_string(), "act-limit");  // newest first
  EXPECT_EQ(actions[0].at("status").as_string(), "pending");
  EXPECT_TRUE(actions[0].at("outcome").is_null());
  EXPECT_EQ(actions[1].at("status").as_string(), "verified");
  EXPECT_EQ(actions[1].at("kind").as_string(), "block");
  EXPECT_EQ(actions[1].at("outcome").at("status").as_string(), "verified");
  EXPECT_EQ(get("/v1/actions?status=verified").at("actions").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/actions?kind=rate_limit").at("actions").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/actions?prefix=203.0.0.0/8").at("actions").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/actions?iface=veth1@ns").at("actions").as_array().size(), 0u);
}

TEST_F(LoopRoutesTest, FlowsGroupFilterAndEstimate) {
  auto f = get("/v1/flows");
  const auto& flows = f.at("flows").as_array();
  ASSERT_EQ(flows.size(), 4u);
  // Most sampled first: five udp/53 samples from 203.0.113.7.
  EXPECT_EQ(flows[0].at("source").as_string(), "203.0.113.7");
  EXPECT_EQ(flows[0].at("protocol").as_string(), "udp");
  EXPECT_EQ(flows[0].at("dport").as_int64(), 53);
  EXPECT_EQ(flows[0].at("verdict").as_string(), "drop");
  EXPECT_EQ(flows[0].at("samples").as_int64(), 5);
  EXPECT_EQ(flows[0].at("packets_est").as_int64(), 5 * 64);  // the guard samples 1 in 64 here
  EXPECT_EQ(flows[0].at("bytes_est").as_int64(), 5 * 512 * 64);
  EXPECT_EQ(f.at("samples_kept").as_int64(), 9);

  EXPECT_EQ(get("/v1/flows?verdict=rate_limited").at("flows").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/flows?src=203.0.113.0/24").at("flows").as_array().size(), 2u);
  EXPECT_EQ(get("/v1/flows?proto=tcp&port=80").at("flows").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/flows?proto=6").at("flows").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/flows?iface=veth1@ns").at("flows").as_array().size(), 1u);
  auto raw = get("/v1/flows?raw=true&limit=3");
  ASSERT_EQ(raw.at("flows").as_array().size(), 3u);
  EXPECT_EQ(raw.at("flows").as_array()[0].at("source").as_string(), "2001:db8::5");  // newest first
  EXPECT_EQ(raw.at("matched_samples").as_int64(), 9);

  get("/v1/flows?proto=tcpp", http::status::bad_request);
  get("/v1/flows?port=70000", http::status::bad_request);
  get("/v1/flows?verdict=maybe", http::status::bad_request);
  get("/v1/flows?raw=perhaps", http::status::bad_request);
}

TEST_F(LoopRoutesTest, HistoryQueriesTheStoreWithItsFilters) {
  reflex::testing::fill_history(loop_.history_store(), 50, kWall);
  auto h = get("/v1/history?limit=5");
  const auto& records = h.at("records").as_array();
  ASSERT_EQ(records.size(), 5u);
  EXPECT_NE(records[0].at("kind").as_string(), "observation");  // not unless asked
  EXPECT_FALSE(h.at("next").is_null());
  const auto next = h.at("next").as_int64();
  auto page2 = get("/v1/history?limit=5&cursor=" + std::to_string(next));
  EXPECT_LT(page2.at("records").as_array()[0].at("id").as_int64(), records[4].at("id").as_int64() + 1);

  get("/v1/history?kind=override,plan&subject=eth0&since=2024-05-01T12:00:10Z&until=1714564830");
  const auto& q = loop_.history_store().last_query;
  ASSERT_EQ(q.kinds.size(), 2u);
  EXPECT_EQ(q.kinds[0], RecordKind::override_);
  EXPECT_EQ(q.subject, "eth0");
  EXPECT_EQ(*q.since_wall_ns, kWall + 10 * kNsPerSec);
  EXPECT_EQ(*q.until_wall_ns, kWall + 30 * kNsPerSec);
  get("/v1/history?since=15m");
  EXPECT_EQ(*loop_.history_store().last_query.since_wall_ns, wall_now_ - 15 * 60 * kNsPerSec);

  EXPECT_NE(error_of(get("/v1/history?kind=plans", http::status::bad_request)).find("record kind"),
            std::string::npos);
  get("/v1/history?since=yesterday", http::status::bad_request);
  get("/v1/history?since=2024-05-01T12:00:10Z&until=2024-05-01T12:00:00Z", http::status::bad_request);
  get("/v1/history?limit=0", http::status::bad_request);
  get("/v1/history?limit=1001", http::status::bad_request);
  get("/v1/history?bogus=1", http::status::bad_request);

  loop_.set_history(false);
  EXPECT_NE(error_of(get("/v1/history", http::status::service_unavailable)).find("no history"), std::string::npos);
}

TEST_F(LoopRoutesTest, UnknownOrRepeatedQueryParametersAre400) {
  auto e = get("/v1/flows?sauce=1", http::status::bad_request);
  EXPECT_NE(error_of(e).find("sauce"), std::string::npos);
  EXPECT_NE(std::string(e.at("hint").as_string()).find("iface"), std::string::npos);
  get("/v1/flows?limit=1&limit=2", http::status::bad_request);
  get("/v1/state?rules=-1", http::status::bad_request);
  get("/v1/state?x=%zz", http::status::bad_request);
  get("/v1/plans?limit=ten", http::status::bad_request);
}

TEST_F(LoopRoutesTest, OverridesNeedTheTokenAndGoToTheLoop) {
  const std::string body =
      R"({"kind":"block","prefix":"203.0.113.0/24","iface":"eth0","ttl":"10m","reason":"ticket 42","who":"alice"})";
  EXPECT_EQ(send(http::verb::post, "/v1/overrides", body, false).result(), http::status::unauthorized);
  EXPECT_TRUE(loop_.added.empty());

  auto res = send(http::verb::post, "/v1/overrides", body);
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  auto o = parse_json(res.body());
  const std::string id(o.at("id").as_string());
  EXPECT_EQ(res[http::field::location], "/v1/overrides/" + id);
  EXPECT_EQ(o.at("kind").as_string(), "manual");
  EXPECT_EQ(o.at("who").as_string(), "alice");
  EXPECT_EQ(o.at("reason").as_string(), "ticket 42");
  EXPECT_EQ(o.at("ttl_remaining_s").as_int64(), 600);
  EXPECT_FALSE(o.at("matched").as_bool());
  EXPECT_NE(std::string(o.at("note").as_string()).find("matched no decision"), std::string::npos);

  // What the loop was asked: a manual block with the TTL on its own clock.
  ASSERT_EQ(loop_.added.size(), 1u);
  const auto& req = loop_.added[0];
  EXPECT_EQ(req.ttl_ns, 600 * kNsPerSec);
  EXPECT_EQ(req.override_.kind, Override::Kind::manual);
  ASSERT_TRUE(req.override_.action);
  const auto* block = std::get_if<BlockPrefix>(&req.override_.action->spec);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->iface, "eth0");
  EXPECT_EQ(block->prefix.to_string(), "203.0.113.0/24");

  // Listed, then marked as matched once a plan used it.
  auto list = get("/v1/overrides");
  ASSERT_EQ(list.at("overrides").as_array().size(), 1u);
  EXPECT_FALSE(list.at("paused").as_bool());
  loop_.mark_matched(id);
  auto one = get("/v1/overrides/" + id);
  EXPECT_TRUE(one.at("matched").as_bool());
  EXPECT_FALSE(one.as_object().contains("note"));
  EXPECT_EQ(get("/v1/state").at("overrides").as_array().size(), 1u);

  // DELETE needs the token too, records who, and then the override is gone.
  EXPECT_EQ(send(http::verb::delete_, "/v1/overrides/" + id, {}, false).result(), http::status::unauthorized);
  auto del = send(http::verb::delete_, "/v1/overrides/" + id + "?who=bob");
  ASSERT_EQ(del.result(), http::status::ok) << del.body();
  EXPECT_EQ(parse_json(del.body()).at("removed").as_string(), id);
  ASSERT_EQ(loop_.removed.size(), 1u);
  EXPECT_EQ(loop_.removed[0], (std::pair<std::string, std::string>{id, "bob"}));
  get("/v1/overrides/" + id, http::status::not_found);
  EXPECT_EQ(send(http::verb::delete_, "/v1/overrides/" + id).result(), http::status::not_found);
}

TEST_F(LoopRoutesTest, StateFollowsEveryViewTheLoopPublishes) {
  // /v1/state is rendered once per view: the same view answers the same
  // bytes, and each view the loop publishes (a tick, an override) shows at once.
  auto first = get("/v1/state");
  EXPECT_EQ(first.at("tick").at("count").as_int64(), 1234);
  const std::size_t listed = first.at("rules").at("items").as_array().size();
  ASSERT_GT(listed, 1u);
  auto v = sample_view();
  v.ticks = 1235;
  loop_.publish(v);
  EXPECT_EQ(get("/v1/state").at("tick").at("count").as_int64(), 1235);
  EXPECT_EQ(get("/v1/state?rules=1").at("rules").at("items").as_array().size(), 1u);
  EXPECT_EQ(get("/v1/state").at("rules").at("items").as_array().size(), listed);
  v.ticks = 1236;
  v.policy_generation = 4;
  loop_.publish(v);
  auto s = get("/v1/state");
  EXPECT_EQ(s.at("tick").at("count").as_int64(), 1236);
  EXPECT_EQ(s.at("policy_generation").as_int64(), 4);
  auto a = connect().request(http::verb::get, "/v1/state").body();
  EXPECT_EQ(connect().request(http::verb::get, "/v1/state").body(), a);
}

TEST_F(LoopRoutesTest, PauseForbidPinLimitAndShapeOverrides) {
  auto post = [&](const std::string& body) {
    auto res = send(http::verb::post, "/v1/overrides", body);
    EXPECT_EQ(res.result(), http::status::created) << body << " -> " << res.body();
    return parse_json(res.body());
  };
  auto pause = post(R"({"kind":"pause","ttl":"30m","reason":"maintenance"})");
  EXPECT_EQ(pause.at("kind").as_string(), "pause");
  EXPECT_EQ(get("/v1/state").at("phase").as_string(), "paused");
  EXPECT_TRUE(get("/v1/overrides").at("paused").as_bool());
  // A second pause is the loop's to refuse: 422 with its reason.
  auto again = send(http::verb::post, "/v1/overrides", R"({"kind":"pause","ttl":"30m","reason":"again"})");
  EXPECT_EQ(again.result(), http::status::unprocessable_entity);
  EXPECT_NE(again.body().find("already paused"), std::string::npos);

  auto forbid = post(R"({"kind":"forbid","action":"block","prefix":"10.0.0.0/8","ttl":3600,"reason":"our own"})");
  EXPECT_EQ(forbid.at("forbids").as_string(), "block");
  EXPECT_EQ(forbid.at("subject").at("prefix").as_string(), "10.0.0.0/8");
  post(R"({"kind":"pin","action":{"kind":"block","prefix":"198.51.100.0/24"},"ttl":"1h","reason":"known bad"})");
  post(R"({"kind":"limit","prefix":"198.51.100.7","pps":1000,"burst":2000,"proto":"udp","port":53,"ttl":"5m","reason":"noisy"})");
  auto shape = post(R"({"kind":"shape","iface":"eth0","rate":"10mbit","burst":"64KiB","ttl":"5m","reason":"uplink"})");
  EXPECT_NE(std::string(shape.at("describe").as_string()).find("shape"), std::string::npos);
  ASSERT_EQ(loop_.added.size(), 6u);
  const auto* s = std::get_if<ShapeInterface>(&loop_.added.back().override_.action->spec);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->rate_bps, 10'000'000u);
  EXPECT_EQ(s->burst_bytes, 64u * 1024);
  EXPECT_EQ(get("/v1/overrides").at("overrides").as_array().size(), 5u);
}

TEST_F(LoopRoutesTest, MalformedOverridesAre400AndSayWhatWasWrong) {
  struct Case {
    std::string body, says;
  };
  const Case cases[] = {
      {R"({"kind":"block","prefix":"203.0.113.0/24","reason":"x"})", "ttl"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"10m"})", "why"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"10m","reason":"   "})", "why"},
      {R"({"kind":"block","ttl":"10m","reason":"x"})", "prefix"},
      {R"({"kind":"block","prefix":"203.0.113.0/33","ttl":"10m","reason":"x"})", "not an IP prefix"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"soon","reason":"x"})", "not a duration"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"0s","reason":"x"})", "ttl above 0"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"400d","reason":"x"})", "longer than"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"10m","reason":"x","colour":"red"})", "colour"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"10m","reason":"x","port":53})", "needs proto"},
      {R"({"kind":"explode","ttl":"10m","reason":"x"})", "not an override"},
      {R"({"ttl":"10m","reason":"x"})", "kind"},
      {R"({"kind":"limit","prefix":"198.51.100.7","ttl":"10m","reason":"x"})", "pps"},
      {R"({"kind":"shape","iface":"eth0","rate":"fast","ttl":"10m","reason":"x"})", "bit rate"},
      {R"({"kind":"shape","rate":"10mbit","ttl":"10m","reason":"x"})", "iface"},
      {R"({"kind":"forbid","ttl":"10m","reason":"x"})", "action"},
      {R"({"kind":"forbid","action":"nuke","ttl":"10m","reason":"x"})", "not an action kind"},
      {R"({"kind":"pin","ttl":"10m","reason":"x"})", "action"},
      {R"({"kind":"pin","action":{"kind":"pause"},"ttl":"10m","reason":"x"})", "pinned action"},
      {R"({"kind":"pin","action":{"kind":"block","prefix":"1.2.3.4","ttl":"1m"},"ttl":"10m","reason":"x"})", "ttl"},
      {R"({"kind":"block","prefix":42,"ttl":"10m","reason":"x"})", "prefix must be a string"},
      {R"({"kind":"block","prefix":"203.0.113.0/24","ttl":"10m","reason":"x")", "not valid JSON"},
      {R"(["kind","block"])", "must be a JSON object"},
  };
  for (const auto& c : cases) {
    auto res = send(http::verb::post, "/v1/overrides", c.body);
    EXPECT_EQ(res.result(), http::status::bad_request) << c.body << " -> " << res.body();
    auto v = parse_json(res.body());
    EXPECT_NE(error_of(v).find(c.says), std::string::npos) << c.body << " -> " << error_of(v);
  }
  EXPECT_TRUE(loop_.added.empty());
  // A body of another type is 415, before anything is parsed.
  auto c = connect();
  c.set_header("Authorization", "Bearer " + kToken);
  EXPECT_EQ(c.request(http::verb::post, "/v1/overrides", "kind=block", "text/plain").result(),
            http::status::unsupported_media_type);
}

std::string batch_body(std::size_t n, const std::string& kind = "block", const std::string& extra = "") {
  std::string b = R"({"kind":")" + kind + R"(","ttl":"10m","reason":"feed","who":"alice")" + extra + R"(,"prefixes":[)";
  for (std::size_t i = 0; i < n; ++i)
    b += (i ? ",\"10." : "\"10.") + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) + "." +
         std::to_string(i & 255) + "\"";
  return b + "]}";
}

TEST_F(LoopRoutesTest, APrefixListIsOneRuleBatchAndListsShortened) {
  // 2,000 prefixes (~30 KB): over the fixture's 1 KiB server limit, so only the
  // route's own limit, granted to a caller with the token, lets it in.
  const std::string body = batch_body(2000, "block", R"(,"iface":"eth0","proto":"udp","port":53)");
  ASSERT_GT(body.size(), 1024u);
  EXPECT_EQ(send(http::verb::post, "/v1/overrides", body, false).result(), http::status::payload_too_large);
  EXPECT_TRUE(loop_.added.empty());

  auto res = send(http::verb::post, "/v1/overrides", body);
  ASSERT_EQ(res.result(), http::status::created) << res.body();
  ASSERT_EQ(loop_.added.size(), 1u);
  const auto& o = loop_.added[0].override_;
  EXPECT_EQ(o.kind, Override::Kind::manual);
  EXPECT_EQ(o.who, "alice");
  EXPECT_EQ(loop_.added[0].ttl_ns, 600 * kNsPerSec);
  ASSERT_TRUE(o.action);
  const auto* b = std::get_if<RuleBatch>(&o.action->spec);
  ASSERT_NE(b, nullptr) << "a list is one RuleBatch action";
  EXPECT_EQ(b->iface, "eth0");
  EXPECT_EQ(b->verb, RuleVerb::drop);
  EXPECT_FALSE(b->remove);
  EXPECT_EQ(b->l4.proto, 17);
  EXPECT_EQ(b->l4.port, 53);
  ASSERT_EQ(b->prefixes.size(), 2000u);
  EXPECT_EQ(b->prefixes[0].to_string(), "10.0.0.0");
  EXPECT_EQ(b->prefixes[1999].to_string(), "10.0.7.207");

  // Lists show 16 of them, with the whole list's count and digest.
  auto created = parse_json(res.body());
  EXPECT_NE(std::string(created.at("describe").as_string()).find("prefixes=2000"), std::string::npos);
  const auto& spec = created.at("override").at("action").at("spec");
  EXPECT_EQ(spec.at("count").as_int64(), 2000);
  EXPECT_EQ(spec.at("prefixes_shown").as_int64(), 16);
  EXPECT_EQ(std::string(spec.at("prefixes").as_string()).find("10.0.0.16"), std::string::npos);
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx", static_cast<unsigned long long>(prefixes_digest(b->prefixes)));
  EXPECT_EQ(spec.at("digest").as_string(), digest);
  // Unshortened, the list would be ~30 KB of prefixes.
  EXPECT_LT(connect().request(http::verb::get, "/v1/overrides").body().size(), 8000u);

  // shadow and unblock take lists too (unblock is the remove form).
  ASSERT_EQ(send(http::verb::post, "/v1/overrides", batch_body(3, "shadow")).result(), http::status::created);
  ASSERT_EQ(send(http::verb::post, "/v1/overrides", batch_body(3, "unblock")).result(), http::status::created);
  ASSERT_EQ(loop_.added.size(), 3u);
  EXPECT_EQ(std::get<RuleBatch>(loop_.added[1].override_.action->spec).verb, RuleVerb::shadow);
  EXPECT_TRUE(std::get<RuleBatch>(loop_.added[2].override_.action->spec).remove);
}

TEST_F(LoopRoutesTest, ABadPrefixListIsRefusedWholeNamingTheFirstBadEntry) {
  struct Case {
    std::string body, says;
  };
  const std::string head = R"({"kind":"block","ttl":"10m","reason":"x","prefixes":)";
  std::string too_many = head + "[";
  for (std::size_t i = 0; i <= kMaxBatchPrefixes; ++i) too_many += i ? ",\"1.2.3.4\"" : "\"1.2.3.4\"";
  too_many += "]}";
  std::string nested = head + std::string(10'000, '[') + std::string(10'000, ']') + "}";
  const Case cases[] = {
      {head + R"(["203.0.113.0/24","198.51.100.7","10.0.0.300/8","nope"]})", R"(prefixes[2]: "10.0.0.300/8" is not an IP prefix)"},
      {head + R"(["203.0.113.0/24",7]})", "prefixes[1] must be a prefix string, got int64"},
      {head + R"(["203.0.113.0/24",["1.2.3.4"]]})", "prefixes[1] must be a prefix string, got array"},
      {head + R"("203.0.113.0/24"})", "prefixes must be an array"},
      {head + R"({"a":1}})", "prefixes must be an array"},
      {head + "[]}", "prefixes is empty"},
      {R"({"kind":"block","ttl":"10m","reason":"x","prefix":"1.2.3.4","prefixes":["1.2.3.5"]})", "not both"},
      {R"({"kind":"block","reason":"x","prefixes":["1.2.3.5"]})", "ttl"},
      {R"({"kind":"block","ttl":"10m","prefixes":["1.2.3.5"]})", "why"},
      {R"({"kind":"limit","pps":10,"ttl":"10m","reason":"x","prefixes":["1.2.3.5"]})", "unknown field \"prefixes\""},
      {R"({"kind":"pin","action":{"kind":"block","prefixes":["1.2.3.5"]},"ttl":"10m","reason":"x"})", "unknown field"},
      {too_many, "more than the 100000 one override takes"},
      {nested, "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto res = send(http::verb::post, "/v1/overrides", c.body);
    EXPECT_EQ(res.result(), http::status::bad_request) << c.body.substr(0, 200) << " -> " << res.body();
    auto v = parse_json(res.body());
    EXPECT_NE(error_of(v).find(c.says), std::string::npos) << c.body.substr(0, 200) << " -> " << error_of(v);
    EXPECT_FALSE(std::string(v.at("hint").as_string()).empty()) << error_of(v);
  }
  EXPECT_TRUE(loop_.added.empty());
  // Past the route's own limit: 413 as the header arrives, even with the token.
  auto c = connect();
  ASSERT_TRUE(c.send("POST /v1/overrides HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " +
                     kToken + "\r\nContent-Length: " + std::to_string(kOverrideBodyLimit + 1) + "\r\n\r\n"));
  auto res = c.read_response(3s);
  ASSERT_TRUE(res) << res.error().what;
  EXPECT_EQ(res->result(), http::status::payload_too_large);
  EXPECT_TRUE(loop_.added.empty());
}

TEST_F(LoopRoutesTest, WhoDefaultsToTheCallerOverTcp) {
  auto res = send(http::verb::post, "/v1/overrides", R"({"kind":"pause","ttl":"1m","reason":"x"})");
  ASSERT_EQ(res.result(), http::status::created);
  EXPECT_EQ(std::string(parse_json(res.body()).at("who").as_string()).rfind("api@127.0.0.1:", 0), 0u);
}

TEST_F(LoopRoutesTest, ReadyzAndHealthz) {
  auto ready = get("/readyz");
  EXPECT_TRUE(ready.at("ready").as_bool());
  auto starting = sample_view();
  starting.ready = false;
  starting.phase = daemon::LoopPhase::starting;
  starting.last_tick.reset();
  starting.interfaces[1].mode = AttachMode::none;
  loop_.publish(starting);
  auto c = connect();
  auto res = c.request(http::verb::get, "/readyz");
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res[http::field::retry_after], "1");
  auto reasons = parse_json(res.body()).at("reasons").as_array();
  ASSERT_GE(reasons.size(), 2u);
  bool names_iface = false;
  for (const auto& r : reasons) names_iface |= std::string(r.as_string()).find("veth1@ns") != std::string::npos;
  EXPECT_TRUE(names_iface);

  // Liveness: fine while ticks come, 503 once the last one is old.
  loop_.publish(sample_view());
  wall_now_ = kWall + kNsPerSec;
  EXPECT_EQ(connect().request(http::verb::get, "/healthz").result(), http::status::ok);
  wall_now_ = kWall + 6 * kNsPerSec;  // 20 ticks of 100 ms is 2 s; the floor is 5 s
  auto stuck = connect().request(http::verb::get, "/healthz");
  EXPECT_EQ(stuck.result(), http::status::service_unavailable);
  EXPECT_NE(stuck.body().find("has not ticked"), std::string::npos);
}

TEST(LoopJson, Log2Quantiles) {
  std::array<std::uint64_t, 32> b{};
  EXPECT_EQ(log2_quantile_us(b, 0.5), 0u);
  b[3] = 99;  // [8, 16) us
  b[10] = 1;  // [1024, 2048) us
  EXPECT_EQ(log2_quantile_us(b, 0.5), 16u);
  EXPECT_EQ(log2_quantile_us(b, 0.99), 16u);
  EXPECT_EQ(log2_quantile_us(b, 1.0), 2048u);
}

}  // namespace
}  // namespace reflex::api::testing
