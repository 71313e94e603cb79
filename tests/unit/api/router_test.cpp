// Router without sockets: the rules every endpoint shares.

#include "api/router.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>

namespace reflex::api {
namespace {

Request make(http::verb method, std::string target, std::string body = {}, std::string type = {}) {
  Request req{method, target, 11};
  if (!type.empty()) req.set(http::field::content_type, type);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

std::string error_of(const Response& res) {
  return std::string(json::parse(res.body()).as_object().at("error").as_string());
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.get("/a", [](const Request&) { return text_response(http::status::ok, "a"); });
    router_.post("/a", [](const Request&) { return text_response(http::status::created, "made"); });
    router_.post("/j", [](const Request&) { return text_response(http::status::ok, "j"); },
                 {.json_body = true});
  }
  Router router_;
};

TEST_F(RouterTest, DispatchesByMethodAndPathIgnoringTheQuery) {
  EXPECT_EQ(router_.handle(make(http::verb::get, "/a")).body(), "a");
  EXPECT_EQ(router_.handle(make(http::verb::get, "/a?x=1#frag")).body(), "a");
  EXPECT_EQ(router_.handle(make(http::verb::post, "/a")).result(), http::status::created);
}

TEST_F(RouterTest, UnknownPathIs404Json) {
  auto res = router_.handle(make(http::verb::get, "/a/"));  // exact match: no trailing-slash aliasing
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(error_of(res), "no endpoint /a/");
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  auto res = router_.handle(make(http::verb::put, "/a"));
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, HEAD, POST");
  EXPECT_EQ(router_.allow("/j"), "POST");
  EXPECT_EQ(router_.allow("/none"), "");
}

TEST_F(RouterTest, HeadUsesGetAndKeepsTheLength) {
  auto res = router_.handle(make(http::verb::head, "/a"));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res[http::field::content_length], "1");
  EXPECT_EQ(router_.handle(make(http::verb::head, "/j")).result(), http::status::method_not_allowed);
}

TEST_F(RouterTest, JsonRoutesRefuseOtherContentTypes) {
  EXPECT_EQ(router_.handle(make(http::verb::post, "/j", "{}", "application/json")).result(),
            http::status::ok);
  EXPECT_EQ(router_.handle(make(http::verb::post, "/j", "{}", "Application/JSON;charset=utf-8")).result(),
            http::status::ok);
  EXPECT_EQ(router_.handle(make(http::verb::post, "/j")).result(), http::status::ok)
      << "an empty body needs no type";
  EXPECT_EQ(router_.handle(make(http::verb::post, "/j", "{}", "text/plain")).result(),
            http::status::unsupported_media_type);
  EXPECT_EQ(router_.handle(make(http::verb::post, "/j", "{}", "application/jsonp")).result(),
            http::status::unsupported_media_type);
  EXPECT_EQ(router_.handle(make(http::verb::post, "/j", "{}")).result(),
            http::status::unsupported_media_type);
}

TEST_F(RouterTest, ThrowingHandlerIs500) {
  router_.get("/boom", [](const Request&) -> Response { throw std::runtime_error("bug"); });
  auto res = router_.handle(make(http::verb::get, "/boom"));
  EXPECT_EQ(res.result(), http::status::internal_server_error);
  EXPECT_NE(error_of(res).find("/boom"), std::string::npos);
}

TEST(RouterParams, PatternsMatchOneSegmentAndExactPathsWin) {
  Router r;
  r.route(http::verb::delete_, "/v1/overrides/{id}",
          [](const Call& c) { return text_response(http::status::ok, "del " + std::string(c.param("id"))); });
  r.route(http::verb::get, "/v1/overrides/{id}",
          [](const Call& c) { return text_response(http::status::ok, "get " + std::string(c.param("id"))); });
  r.get("/v1/overrides/special", [](const Request&) { return text_response(http::status::ok, "exact"); });
  r.route(http::verb::get, "/v1/{a}/x/{b}", [](const Call& c) {
    return text_response(http::status::ok, std::string(c.param("a")) + "," + std::string(c.param("b")));
  });

  EXPECT_EQ(r.handle(make(http::verb::delete_, "/v1/overrides/ovr-7")).body(), "del ovr-7");
  EXPECT_EQ(r.handle(make(http::verb::get, "/v1/overrides/ovr-7?x=1")).body(), "get ovr-7");
  EXPECT_EQ(r.handle(make(http::verb::get, "/v1/overrides/special")).body(), "exact");
  EXPECT_EQ(r.handle(make(http::verb::get, "/v1/p/x/q")).body(), "p,q");
  EXPECT_EQ(r.handle(make(http::verb::get, "/v1/overrides/a%20b")).body(), "get a b");

  // One segment, not empty, not more.
  for (const char* t : {"/v1/overrides/", "/v1/overrides", "/v1/overrides/a/b", "/v1/overrides//",
                        "/v1/overrides/%zz", "/v1/overrides/%4"})
    EXPECT_EQ(r.handle(make(http::verb::delete_, t)).result(), http::status::not_found) << t;

  auto res = r.handle(make(http::verb::post, "/v1/overrides/x"));
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "DELETE, GET, HEAD");
  EXPECT_EQ(r.allow("/v1/overrides/{id}"), "DELETE, GET, HEAD");
  // A pattern route is listed as written.
  auto paths = r.paths();
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/v1/overrides/{id}"), paths.end());
}

TEST(RouterParams, PercentDecoding) {
  EXPECT_EQ(percent_decode("a%2Fb%41"), "a/bA");
  EXPECT_EQ(percent_decode("plain+text"), "plain+text");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%g0"));
  // Decoded values are echoed into JSON: they must be UTF-8.
  EXPECT_EQ(percent_decode("caf%C3%A9"), "caf\xC3\xA9");
  EXPECT_FALSE(percent_decode("%E3%E3"));
  EXPECT_FALSE(percent_decode("\xE3"));
  EXPECT_FALSE(percent_decode("%C0%AF"));        // an overlong '/'
  EXPECT_FALSE(percent_decode("%ED%A0%80"));     // a surrogate
  EXPECT_FALSE(percent_decode("%F4%90%80%80"));  // above U+10FFFF
}

TEST(ErrorResponse, ClientBytesThatAreNotUtf8StillMakeJson) {
  auto res = error_response(http::status::not_found, "no endpoint /v1/\xE3\xE3x", "h\xFF");
  boost::system::error_code ec;
  auto v = json::parse(res.body(), ec);
  ASSERT_FALSE(ec) << res.body();
  EXPECT_EQ(v.at("error"), "no endpoint /v1/\xEF\xBF\xBD\xEF\xBF\xBDx");
  EXPECT_EQ(v.at("hint"), "h\xEF\xBF\xBD");
  EXPECT_EQ(utf8_safe("ok \xF0\x9F\x98\x80"), "ok \xF0\x9F\x98\x80");  // valid 4-byte sequences stay
}

TEST(JsonBody, ParsesObjectsAndExplainsErrors) {
  auto empty = parse_json_object(make(http::verb::post, "/", "  \n"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto obj = parse_json_object(make(http::verb::post, "/", R"({"reason":"x"})"));
  ASSERT_TRUE(obj);
  EXPECT_EQ(obj->at("reason").as_string(), "x");
  auto bad = parse_json_object(make(http::verb::post, "/", R"({"reason":})"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what.find("at byte"), std::string::npos) << bad.error().what;
  auto trailing = parse_json_object(make(http::verb::post, "/", R"({} {})"));
  EXPECT_FALSE(trailing) << "two documents are not one object";
  auto array = parse_json_object(make(http::verb::post, "/", "[]"));
  ASSERT_FALSE(array);
  EXPECT_NE(array.error().what.find("array"), std::string::npos);
}

TEST(ErrorResponse, HasTheUniformShape) {
  json::object extra;
  extra["detail"] = 3;
  auto res = error_response(http::status::unprocessable_entity, "what", "fix", extra);
  auto doc = json::parse(res.body()).as_object();
  EXPECT_EQ(res.result(), http::status::unprocessable_entity);
  EXPECT_EQ(doc.at("error").as_string(), "what");
  EXPECT_EQ(doc.at("hint").as_string(), "fix");
  EXPECT_EQ(doc.at("detail").as_int64(), 3);
  EXPECT_EQ(res[http::field::content_length], std::to_string(res.body().size()));
}

}  // namespace
}  // namespace reflex::api
