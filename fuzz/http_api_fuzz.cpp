// libFuzzer target: arbitrary bytes as HTTP/1.1 requests to reflexd's API, read
// by Beast's parser with the server's limits and answered by the real router
// and handlers (api/api_routes.h: add_api) over a fake loop, with the token
// required. Each input is several requests back to back, as a keep-alive
// connection sends them. Nothing may crash, hang or leak; every answer is a
// well-formed status, an error answer is the JSON error document, a mutating
// call without the token is 401 and never reaches the loop.

#include "api/api_routes.h"
#include "api/server.h"
#include "tests/support/fake_loop.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>

namespace {

using namespace reflex;
namespace http = boost::beast::http;

const std::string kToken = "fuzz-token-0123456789abcdef0123456789abcdef";

struct World {
  testing::FakeLoopApi loop;
  std::unique_ptr<plan::PolicyStore> policies;
  api::Router router;
  api::MetricsRegistry metrics;
  api::ServerConfig limits;  // the server's defaults: the limits a real session applies

  World() {
    // A policy folder of one good file, for /v1/policies and reload.
    auto dir = std::filesystem::temp_directory_path() / ("reflex-fuzz-http-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "10-a.yaml") << "rules:\n  - {id: a, when: {symptom: flood}, then: {action: shadow}}\n";
    policies = std::make_unique<plan::PolicyStore>(dir);
    if (!policies->reload("start")) std::abort();
    loop.publish(testing::sample_view(20));
    testing::fill_history(loop.history_store(), 50);
    api::LoopRouteOptions opts;
    opts.wall_now = [] { return 1'714'564'800LL * kNsPerSec; };  // the sample view's last tick: healthy
    api::add_api(router, metrics,
                 api::ApiParts{loop, *policies, [] { return boost::json::object{{"daemon", "fuzz"}}; },
                               std::make_shared<api::TokenAuth>(api::TokenAuth::from_token(kToken, "fuzz")), opts});
  }
};

World* world = nullptr;

// Says what broke (a reproducer's first question), then aborts for libFuzzer.
[[noreturn]] void broken(const char* what, const api::Request& req, const api::Response& res) {
  std::fprintf(stderr, "http_api_fuzz: %s\n  %s %s -> %u %s\n", what, std::string(req.method_string()).c_str(),
               std::string(req.target()).c_str(), res.result_int(), res.body().substr(0, 300).c_str());
  std::abort();
}

void check(const api::Request& req, const api::Response& res, bool authorized) {
  const unsigned status = res.result_int();
  if (status < 200 || status > 599) broken("a status outside 200..599", req, res);
  if (api::is_mutating(req.method()) && !authorized && status != 401 && status != 404 && status != 405)
    broken("a mutating call without the token got past the gate", req, res);
  if (status >= 400 && req.method() != http::verb::head) {  // HEAD: the headers of the GET, no body
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) broken("an error that is not the JSON error", req, res);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  world = new World();  // lives for the process: libFuzzer never returns from its loop
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  boost::beast::flat_buffer buffer;
  auto in = buffer.prepare(size);
  std::memcpy(in.data(), data, size);
  buffer.commit(size);
  for (int i = 0; i < 8 && buffer.size() > 0; ++i) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(world->limits.body_limit);
    parser.header_limit(world->limits.header_limit);
    boost::system::error_code ec;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      parser.put_eof(ec);
      if (ec || !parser.is_done()) break;
    } else if (ec || !parser.is_done()) {
      break;  // the session answers 400/413/431 and closes
    }
    api::Request req = parser.release();
    api::Peer peer;
    peer.transport = (i % 2) ? api::Peer::Transport::unix_socket : api::Peer::Transport::tcp;
    peer.address = (i % 2) ? "/run/reflex/reflexd.sock" : "127.0.0.1:40000";
    if (i % 2) peer.uid = 0;
    const auto auth = req[http::field::authorization];
    // The server may read the header leniently (scheme case, spaces, as RFC
    // 9110 allows); what it must never do is accept a call that lacks the token.
    const bool authorized = std::string_view(auth).find(kToken) != std::string_view::npos;
    const std::size_t added_before = world->loop.added.size();
    const auto res = world->router.handle(req, peer);
    check(req, res, authorized);
    if (!authorized && world->loop.added.size() != added_before)
      broken("an override reached the loop without the token", req, res);
  }
  // Overrides that fuzzing added must not pile up across inputs: the book stays small.
  if (world->loop.added.size() > 10000) world->loop.added.clear();
  return 0;
}
