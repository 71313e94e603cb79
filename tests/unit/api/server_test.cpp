// api::Server over real sockets: the happy path, keep-alive and pipelining,
// and the hostile inputs a REST endpoint on a node must survive (oversized
// bodies and headers, garbage, slow and idle clients, too many connections),
// then a graceful stop.

#include "api/endpoint.h"
#include "tests/unit/api/server_fixture.h"

#include <sys/socket.h>

#include <atomic>
#include <string>

namespace reflex::api::testing {
namespace {

using namespace std::chrono_literals;

class ServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    router_.get("/hello", [](const Request&) { return text_response(http::status::ok, "hello\n"); });
    // Echoes the target so pipelined answers can be matched to their requests.
    router_.get("/echo", [](const Request& req) {
      return text_response(http::status::ok, std::string(req.target()));
    });
    router_.post(
        "/json",
        [](const Request& req) {
          auto body = parse_json_object(req);
          if (!body) return error_response(http::status::bad_request, body.error().what, body.error().hint);
          return json_response(http::status::ok, *body);
        },
        RouteOptions{.json_body = true});
    // Stops the server from inside a request: the response to it is in flight
    // while the stop begins, and must still arrive.
    router_.post("/stop", [this](const Request&) {
      server_->stop(2s, [this] { stopped_ = true; });
      return text_response(http::status::ok, "stopping\n");
    });
  }

  double requests_with_code(int code) {
    return metrics_.counter("reflex_http_requests_total", "", {"code"}).with({std::to_string(code)}).value();
  }

  std::atomic<bool> stopped_{false};
};

TEST_F(ServerTest, AnswersAndKeepsTheConnectionAlive) {
  start_server();
  auto c = connect();
  for (int i = 0; i < 3; ++i) {
    auto res = c.request(http::verb::get, "/hello");
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res.body(), "hello\n");
    EXPECT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(server_->connections(), 1u);
  EXPECT_EQ(requests_with_code(200), 3);
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  start_server();
  auto c = connect();
  ASSERT_TRUE(c.send(format_request(http::verb::get, "/hello", {}, {}, /*keep_alive=*/false)));
  auto res = c.read_response();
  ASSERT_TRUE(res) << res.error().what;
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(ServerTest, HeadGetsTheHeadersWithoutTheBody) {
  start_server();
  auto c = connect();
  auto res = c.request(http::verb::head, "/hello");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_length], "6");
  EXPECT_TRUE(res.body().empty());
  // The connection is still in step: the next answer is the next request's.
  EXPECT_EQ(c.request(http::verb::get, "/echo?after-head").body(), "/echo?after-head");
}

TEST_F(ServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  start_server();
  auto c = connect();
  auto nf = c.request(http::verb::get, "/nope");
  EXPECT_EQ(nf.result(), http::status::not_found);
  auto doc = parse_json(nf.body()).as_object();
  EXPECT_NE(std::string(doc.at("error").as_string()).find("/nope"), std::string::npos);
  EXPECT_TRUE(doc.contains("hint"));

  auto na = c.request(http::verb::delete_, "/hello");
  EXPECT_EQ(na.result(), http::status::method_not_allowed);
  EXPECT_EQ(na[http::field::allow], "GET, HEAD");
  auto na_post = c.request(http::verb::get, "/stop");
  EXPECT_EQ(na_post.result(), http::status::method_not_allowed);
  EXPECT_EQ(na_post[http::field::allow], "POST");
  EXPECT_EQ(requests_with_code(404), 1);
  EXPECT_EQ(requests_with_code(405), 2);
}

TEST_F(ServerTest, JsonBodyChecks) {
  start_server();
  auto c = connect();
  auto good = c.request(http::verb::post, "/json", R"({"a":1})", "application/json; charset=utf-8");
  EXPECT_EQ(good.result(), http::status::ok);
  EXPECT_EQ(parse_json(good.body()).as_object().at("a").as_int64(), 1);

  auto wrong_type = c.request(http::verb::post, "/json", R"({"a":1})", "text/plain");
  EXPECT_EQ(wrong_type.result(), http::status::unsupported_media_type);
  auto no_type = c.request(http::verb::post, "/json", R"({"a":1})");
  EXPECT_EQ(no_type.result(), http::status::unsupported_media_type);

  auto bad = c.request(http::verb::post, "/json", R"({"a":)", "application/json");
  EXPECT_EQ(bad.result(), http::status::bad_request);
  EXPECT_NE(parse_json(bad.body()).as_object().at("error").as_string().find("not valid JSON"),
            std::string::npos);
  auto not_object = c.request(http::verb::post, "/json", "[1,2]", "application/json");
  EXPECT_EQ(not_object.result(), http::status::bad_request);
  // Errors in a body do not cost the connection.
  EXPECT_EQ(c.request(http::verb::get, "/hello").result(), http::status::ok);
}

TEST_F(ServerTest, ManyPipelinedRequestsAreAnsweredInOrder) {
  start_server();  // pipeline_limit 4: the session must pause and resume reading
  auto c = connect();
  constexpr int kRequests = 200;
  std::string burst;
  for (int i = 0; i < kRequests; ++i) burst += format_request(http::verb::get, "/echo?" + std::to_string(i));
  ASSERT_TRUE(c.send(burst));
  for (int i = 0; i < kRequests; ++i) {
    auto res = c.read_response();
    ASSERT_TRUE(res) << "response " << i << ": " << res.error().what;
    ASSERT_EQ(res->body(), "/echo?" + std::to_string(i));
  }
  EXPECT_EQ(requests_with_code(200), kRequests);
}

TEST_F(ServerTest, OversizedBodyIs413AndTheConnectionCloses) {
  start_server();  // body_limit 1024
  auto c = connect();
  ASSERT_TRUE(c.send(format_request(http::verb::post, "/json", std::string(4096, ' '), "application/json")));
  auto res = c.read_response();
  ASSERT_TRUE(res) << res.error().what;
  EXPECT_EQ(res->result(), http::status::payload_too_large);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_NE(parse_json(res->body()).as_object().at("error").as_string().find("1024"), std::string::npos);
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_EQ(requests_with_code(413), 1);
}

TEST_F(ServerTest, DeclaredHugeBodyIs413BeforeItIsSent) {
  start_server();
  auto c = connect();
  // Only the header: the server must not wait for 1 GB before answering.
  ASSERT_TRUE(
      c.send("POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 1000000000\r\n\r\n"));
  auto res = c.read_response(3s);
  ASSERT_TRUE(res) << res.error().what;
  EXPECT_EQ(res->result(), http::status::payload_too_large);
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  start_server();  // header_limit 2048
  auto c = connect();
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Junk: " + std::string(4096, 'a') + "\r\n\r\n"));
  auto res = c.read_response();
  ASSERT_TRUE(res) << res.error().what;
  EXPECT_EQ(res->result(), http::status::request_header_fields_too_large);
  EXPECT_TRUE(c.closed_within(3s));
}

TEST_F(ServerTest, MalformedRequestsAre400) {
  start_server();
  const std::vector<std::string> inputs{"GARBAGE\r\n\r\n", "GET /hello HTTP/9.x\r\n\r\n",
                                        "GET  HTTP/1.1\r\n\r\n", "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
                                        std::string("\x16\x03\x01\x02\x00\x01", 6)};
  for (const std::string& garbage : inputs) {
    auto c = connect();
    ASSERT_TRUE(c.send(garbage));
    auto res = c.read_response();
    ASSERT_TRUE(res) << "for " << garbage << ": " << res.error().what;
    EXPECT_EQ(res->result(), http::status::bad_request) << garbage;
    EXPECT_TRUE(parse_json(res->body()).as_object().contains("hint"));
    EXPECT_TRUE(c.closed_within(3s)) << garbage;
  }
  // The server is still fine.
  EXPECT_EQ(connect().request(http::verb::get, "/hello").result(), http::status::ok);
}

TEST_F(ServerTest, SlowlorisIsCutOffAtTheRequestTimeout) {
  start_server();  // request_timeout 400 ms
  auto c = connect();
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n"));
  const auto start = std::chrono::steady_clock::now();
  // Trickle a header byte every 50 ms, never finishing: each byte would reset a
  // per-read timeout, but not the per-request deadline.
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - start < 5s) {
    if (!c.send("X")) break;
    closed = c.closed_within(50ms);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed || !c.send("X")) << "a client that never finishes its headers was not disconnected";
  EXPECT_LT(took, 3s);
  EXPECT_GE(took, 300ms) << "cut off before the request timeout";
  EXPECT_TRUE(wait_for([&] {
    return metrics_.counter("reflex_http_connections_dropped_total", "", {"reason"})
               .with({"timeout"})
               .value() == 1;
  }));
}

TEST_F(ServerTest, SilentConnectionIsClosedAtTheRequestTimeout) {
  start_server();
  auto c = connect();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST_F(ServerTest, IdleKeepAliveConnectionGetsTheLongerIdleTimeout) {
  start_server();  // request_timeout 400 ms, idle_timeout 1500 ms
  auto c = connect();
  EXPECT_EQ(c.request(http::verb::get, "/hello").result(), http::status::ok);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.closed_within(800ms)) << "an idle keep-alive connection got the request timeout";
  EXPECT_TRUE(c.closed_within(3s)) << "an idle keep-alive connection was never closed";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1200ms);
}

TEST_F(ServerTest, ConnectionsAboveTheCapAreClosed) {
  start_server();  // max_connections 8
  std::vector<TestClient> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(connect());
    ASSERT_EQ(held.back().request(http::verb::get, "/hello").result(), http::status::ok);
  }
  auto extra = connect();  // the kernel accepts; the server closes it
  EXPECT_TRUE(extra.closed_within(3s));
  held.clear();
  ASSERT_TRUE(wait_for([&] { return server_->connections() == 0; }));
  EXPECT_EQ(connect().request(http::verb::get, "/hello").result(), http::status::ok);
}

TEST_F(ServerTest, ListenFailsClearlyWhenThePortIsTaken) {
  start_server();
  ServerConfig again = test_config();
  again.listen = endpoint();
  auto second = Server::listen(io_, again, router_);
  ASSERT_FALSE(second);
  const std::string msg = second.error().message();
  EXPECT_NE(msg.find(format_endpoint(endpoint())), std::string::npos) << msg;
  EXPECT_NE(msg.find("in use"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--listen"), std::string::npos) << msg;
}

TEST_F(ServerTest, GracefulStopFinishesInFlightClosesIdleRefusesNew) {
  start_server();
  auto idle = connect();
  ASSERT_EQ(idle.request(http::verb::get, "/hello").result(), http::status::ok);
  const auto addr = endpoint();

  auto c = connect();
  ASSERT_TRUE(c.send(format_request(http::verb::post, "/stop")));
  auto res = c.read_response();
  ASSERT_TRUE(res) << "the in-flight response was lost: " << res.error().what;
  EXPECT_EQ(res->body(), "stopping\n");
  EXPECT_FALSE(res->keep_alive()) << "the last response should announce the close";
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_TRUE(idle.closed_within(3s)) << "idle keep-alive connections must close at once on stop";
  EXPECT_TRUE(wait_for([&] { return stopped_.load(); }, 3s)) << "stop's completion never ran";
  EXPECT_THROW(TestClient{addr}, std::runtime_error) << "still accepting after stop";
}

TEST_F(ServerTest, HandlerExceptionIs500AndTheServerLives) {
  router_.get("/boom", [](const Request&) -> Response { throw std::runtime_error("bug"); });
  start_server();
  auto c = connect();
  EXPECT_EQ(c.request(http::verb::get, "/boom").result(), http::status::internal_server_error);
  EXPECT_EQ(c.request(http::verb::get, "/hello").result(), http::status::ok);
}

}  // namespace
}  // namespace reflex::api::testing
