// docs/openapi.yaml against the server reflexd runs (api/api_routes.h: add_api
// over a fake loop and a real PolicyStore): every route the router answers is
// documented with its methods and nothing documented is missing; every
// documented operation, called as documented (its example body, its path
// parameter, the token where it asks for one), answers with a documented
// status, the documented content type and a body that validates against the
// documented schema; and the documented errors (401, 400, 404, 415, 503) are
// produced and are the documented Error document.

#include "api/api_routes.h"
#include "tests/support/fake_loop.h"
#include "tests/support/policy_samples.h"
#include "tests/unit/api/server_fixture.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

namespace reflex::api::testing {
namespace {

using reflex::testing::FakeLoopApi;
using reflex::testing::sample_view;

const std::string kToken = "openapi-test-token-0123456789abcdef0123456789";
constexpr TimeNs kWall = 1'714'564'800LL * kNsPerSec;
constexpr const char* kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

std::optional<http::verb> verb_of(const std::string& m) {
  if (m == "get") return http::verb::get;
  if (m == "post") return http::verb::post;
  if (m == "delete") return http::verb::delete_;
  if (m == "put") return http::verb::put;
  if (m == "patch") return http::verb::patch;
  if (m == "head") return http::verb::head;
  if (m == "options") return http::verb::options;
  return std::nullopt;
}

// A YAML example as JSON (scalars that read as numbers or booleans become them).
json::value to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& e : n) a.push_back(to_json(e));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const auto s = n.as<std::string>();
      if (n.Tag() == "!") return json::value(s);  // quoted
      if (s == "true" || s == "false") return s == "true";
      std::int64_t i = 0;
      if (YAML::convert<std::int64_t>::decode(n, i)) return i;
      return json::value(s);
    }
    default: return nullptr;
  }
}

// The subset of OpenAPI 3.0 schemas the document uses: $ref, allOf, nullable,
// type, enum, required, properties, additionalProperties, items.
class SchemaChecker {
 public:
  explicit SchemaChecker(YAML::Node doc) : doc_(std::move(doc)) {}

  YAML::Node resolve(YAML::Node n) const {
    for (int depth = 0; n.IsMap() && n["$ref"] && depth < 8; ++depth) {
      const auto ref = n["$ref"].as<std::string>();
      EXPECT_EQ(ref.rfind("#/", 0), 0u) << ref;
      // yaml-cpp: `node = other` writes into the node it refers to; reset() rebinds.
      YAML::Node at;
      at.reset(doc_);
      std::size_t pos = 2;
      while (pos <= ref.size()) {
        const auto next = std::min(ref.find('/', pos), ref.size());
        at.reset(at[ref.substr(pos, next - pos)]);
        EXPECT_TRUE(at) << "dangling $ref " << ref;
        if (!at) return YAML::Node();
        pos = next + 1;
      }
      n.reset(at);
    }
    return n;
  }

  void check(const YAML::Node& in, const json::value& v, const std::string& path,
             std::vector<std::string>& errs) const {
    const YAML::Node schema = resolve(in);
    if (!schema || !schema.IsMap()) return;
    const bool nullable = schema["nullable"] && schema["nullable"].as<bool>();
    if (v.is_null() && nullable) return;
    if (schema["allOf"])
      for (const auto& s : schema["allOf"]) check(s, v, path, errs);
    if (schema["type"]) {
      const auto type = schema["type"].as<std::string>();
      const bool fits = type == "object"    ? v.is_object()
                        : type == "array"   ? v.is_array()
                        : type == "string"  ? v.is_string()
                        : type == "boolean" ? v.is_bool()
                        : type == "integer" ? v.is_int64() || v.is_uint64()
                        : type == "number"  ? v.is_number()
                                            : false;
      if (!fits) {
        errs.push_back(path + ": " + json::serialize(v).substr(0, 80) + " is not " + type +
                       (nullable ? " or null" : ""));
        return;
      }
    }
    if (schema["enum"] && v.is_string()) {
      bool found = false;
      for (const auto& e : schema["enum"]) found |= e.as<std::string>() == v.get_string();
      if (!found) errs.push_back(path + ": \"" + std::string(v.get_string()) + "\" is not in the documented enum");
    }
    if (v.is_object()) {
      const auto& o = v.get_object();
      if (schema["required"])
        for (const auto& r : schema["required"])
          if (!o.contains(r.as<std::string>())) errs.push_back(path + ": required \"" + r.as<std::string>() + "\" is missing");
      const auto props = schema["properties"];
      const auto extra = schema["additionalProperties"];
      for (const auto& kv : o) {
        const std::string key(kv.key());
        if (props && props[key]) {
          check(props[key], kv.value(), path + "." + key, errs);
        } else if (extra && extra.IsMap()) {
          check(extra, kv.value(), path + "." + key, errs);
        } else if (extra && extra.IsScalar() && !extra.as<bool>()) {
          errs.push_back(path + ": \"" + key + "\" is not a documented field");
        }
      }
    }
    if (v.is_array() && schema["items"]) {
      const auto& a = v.get_array();
      for (std::size_t i = 0; i < a.size(); ++i) check(schema["items"], a[i], path + "[" + std::to_string(i) + "]", errs);
    }
  }

 private:
  YAML::Node doc_;
};

class OpenApiTest : public ServerFixture {
 protected:
  void SetUp() override {
    doc_ = YAML::LoadFile(REFLEX_SOURCE_DIR "/docs/openapi.yaml");
    dir_ = reflex::testing::fresh_test_dir("openapi");
    reflex::testing::write_policy_file(dir_, "10-a.yaml", reflex::testing::kPolicyGood);
    store_ = std::make_unique<plan::PolicyStore>(dir_);
    ASSERT_TRUE(store_->reload("start"));
    loop_.publish(sample_view());
    LoopRouteOptions opts;
    opts.wall_now = [this] { return wall_now_.load(); };
    add_api(router_, metrics_,
            ApiParts{loop_, *store_,
                     [] {
                       return json::object{{"daemon", "reflexd"}, {"version", "test"}, {"pid", 1},
                                           {"started_at", "2024-05-01T12:00:00Z"}, {"uptime_seconds", 1}};
                     },
                     std::make_shared<TokenAuth>(TokenAuth::from_token(kToken, "/etc/reflex/token")), opts});
    start_server();
  }
  void TearDown() override {
    stop_loop();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // One documented operation's response for `status`, resolved; null if undocumented.
  YAML::Node documented(const std::string& path, const std::string& method, unsigned status) const {
    const auto op = doc_["paths"][path][method];
    if (!op || !op["responses"]) return YAML::Node();
    const auto r = op["responses"][std::to_string(status)];
    return r ? SchemaChecker(doc_).resolve(r) : YAML::Node();
  }

  // The response must be one the document lists for this operation, with its
  // content type and a body of its schema.
  void expect_documented(const std::string& path, const std::string& method, const Response& res,
                         const std::string& what) {
    const unsigned status = res.result_int();
    const auto r = documented(path, method, status);
    ASSERT_TRUE(r) << what << ": " << status << " is not documented for " << method << " " << path << "; body "
                   << res.body();
    const auto content = r["content"];
    if (!content) return;
    const std::string type(res[http::field::content_type]);
    std::string matched;
    for (const auto& kv : content) {
      const auto t = kv.first.as<std::string>();
      if (type.rfind(t, 0) == 0) matched = t;
    }
    ASSERT_FALSE(matched.empty()) << what << ": content type \"" << type << "\" is not documented";
    if (matched != "application/json") return;
    boost::system::error_code ec;
    auto body = json::parse(res.body(), ec);
    ASSERT_FALSE(ec) << what << ": not JSON: " << res.body();
    std::vector<std::string> errs;
    SchemaChecker(doc_).check(content[matched]["schema"], body, "$", errs);
    for (const auto& e : errs) ADD_FAILURE() << what << ": " << e;
  }

  Response call(http::verb method, const std::string& target, std::string body = {}, bool token = true,
                std::string type = "application/json") {
    auto c = connect();
    if (token) c.set_header("Authorization", "Bearer " + kToken);
    return c.request(method, target, std::move(body), body.empty() ? "" : type);
  }

  std::string new_override() {
    Override o;
    o.kind = Override::Kind::forbid;
    o.action_kind = "block";
    o.who = "test";
    o.reason = "openapi";
    o.expires_ns = loop_.view()->now_ns + 600 * kNsPerSec;
    auto stored = loop_.add_override({o, 0});
    EXPECT_TRUE(stored) << stored.error().message();
    return stored ? stored->id : "";
  }

  std::string target_of(const std::string& path, const std::string& id) const {
    std::string t = path;
    if (auto p = t.find("{id}"); p != std::string::npos) t.replace(p, 4, id);
    return t;
  }

  YAML::Node doc_;
  std::filesystem::path dir_;
  std::unique_ptr<plan::PolicyStore> store_;
  FakeLoopApi loop_;
  std::atomic<TimeNs> wall_now_{kWall + 50 * kNsPerMs};  // just after the last tick
};

TEST_F(OpenApiTest, EveryRouteIsDocumentedAndEveryDocumentedRouteIsServed) {
  std::set<std::pair<std::string, std::string>> served, written;
  for (const auto& path : router_.paths())
    for (auto m : router_.methods(path)) {
      std::string name(http::to_string(m));
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      served.emplace(path, name);
    }
  for (const auto& kv : doc_["paths"])
    for (const char* m : kMethods)
      if (kv.second[m]) written.emplace(kv.first.as<std::string>(), m);
  for (const auto& s : served)
    EXPECT_TRUE(written.count(s)) << s.second << " " << s.first << " is served but not in docs/openapi.yaml";
  for (const auto& w : written)
    EXPECT_TRUE(served.count(w)) << w.second << " " << w.first << " is documented but not served";
  EXPECT_GE(served.size(), 17u);  // the document cannot pass by being empty
}

TEST_F(OpenApiTest, EveryDocumentedOperationAnswersAsDocumented) {
  // Deletes last, so a GET of {id} finds the override before it goes.
  std::vector<std::pair<std::string, std::string>> ops;
  for (const auto& kv : doc_["paths"])
    for (const char* m : kMethods)
      if (kv.second[m]) ops.emplace_back(kv.first.as<std::string>(), m);
  std::stable_partition(ops.begin(), ops.end(), [](const auto& o) { return o.second != "delete"; });
  const std::string id = new_override();
  std::size_t called = 0;
  for (const auto& [path, method] : ops) {
    const auto op = doc_["paths"][path][method];
    std::string body;
    if (op["requestBody"]) {
      const auto example = op["requestBody"]["content"]["application/json"]["example"];
      ASSERT_TRUE(example) << method << " " << path << " documents a body without an example";
      body = json::serialize(to_json(example));
    }
    const auto res = call(*verb_of(method), target_of(path, id), body);
    const std::string what = method + " " + path;
    EXPECT_LT(res.result_int(), 300u) << what << " called as documented: " << res.body();
    expect_documented(path, method, res, what);
    ++called;
  }
  EXPECT_EQ(called, ops.size());
  EXPECT_GE(loop_.added.size(), 1u);  // the documented POST reached the loop
}

TEST_F(OpenApiTest, DocumentedErrorsHappenAndAreTheErrorDocument) {
  std::size_t probes = 0;
  for (const auto& kv : doc_["paths"]) {
    const auto path = kv.first.as<std::string>();
    for (const char* m : kMethods) {
      const auto op = kv.second[m];
      if (!op) continue;
      const auto verb = *verb_of(m);
      const std::string what = std::string(m) + " " + path;
      std::string body;
      if (op["requestBody"]) body = json::serialize(to_json(op["requestBody"]["content"]["application/json"]["example"]));
      const std::string target = target_of(path, new_override());
      if (op["responses"]["401"]) {
        auto res = call(verb, target, body, /*token=*/false);
        EXPECT_EQ(res.result(), http::status::unauthorized) << what;
        expect_documented(path, m, res, what + " without the token");
        ++probes;
      }
      if (op["responses"]["400"]) {
        // A body that is not JSON, or (for an operation without one) a query parameter it does not take.
        auto res = body.empty() ? call(verb, target + "?no_such_parameter=1") : call(verb, target, "{\"kind\":");
        EXPECT_EQ(res.result(), http::status::bad_request) << what;
        expect_documented(path, m, res, what + (body.empty() ? " with an unknown parameter" : " with broken JSON"));
        ++probes;
      }
      if (op["responses"]["415"]) {
        auto res = call(verb, target, "kind=block", true, "text/plain");
        EXPECT_EQ(res.result(), http::status::unsupported_media_type) << what;
        expect_documented(path, m, res, what + " with a text body");
        ++probes;
      }
      if (op["responses"]["404"]) {
        auto res = call(verb, target_of(path, "ovr-nope"), body);
        EXPECT_EQ(res.result(), http::status::not_found) << what;
        expect_documented(path, m, res, what + " of a missing id");
        ++probes;
      }
    }
  }
  // The list form, from the schema's example, is served as documented (its 413 is in loop_routes_test).
  {
    const auto list = doc_["components"]["schemas"]["OverrideRequest"]["properties"]["prefixes"]["example"];
    ASSERT_TRUE(list && list.IsSequence()) << "the prefixes form has no example";
    json::object batch{{"kind", "block"}, {"ttl", "10m"}, {"reason", "feed"}, {"prefixes", to_json(list)}};
    auto ok = call(http::verb::post, "/v1/overrides", json::serialize(batch));
    EXPECT_EQ(ok.result(), http::status::created) << ok.body();
    expect_documented("/v1/overrides", "post", ok, "the prefixes form");
  }

  // A malformed override is a documented 422-or-400; one the loop refuses is 422.
  auto res = call(http::verb::post, "/v1/overrides",
                  R"({"kind":"forbid","action":"block","ttl":"10m","reason":"x","id":"bad id!"})");
  EXPECT_EQ(res.result(), http::status::unprocessable_entity) << res.body();
  expect_documented("/v1/overrides", "post", res, "an override the loop refuses");

  // Not ready, and stalled: /readyz and /healthz say so as documented.
  auto v = sample_view();
  v.ready = false;
  v.phase = daemon::LoopPhase::starting;
  loop_.publish(v);
  res = call(http::verb::get, "/readyz");
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  expect_documented("/readyz", "get", res, "readyz before ready");
  loop_.publish(sample_view());
  wall_now_ = kWall + 3600 * kNsPerSec;  // running, and the last tick is an hour old
  res = call(http::verb::get, "/healthz");
  EXPECT_EQ(res.result(), http::status::service_unavailable) << res.body();
  expect_documented("/healthz", "get", res, "healthz with ticks stopped");

  // Without a store, history is a documented 503.
  loop_.set_history(false);
  res = call(http::verb::get, "/v1/history");
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  expect_documented("/v1/history", "get", res, "history without a store");
  EXPECT_GE(probes, 12u);
}

}  // namespace
}  // namespace reflex::api::testing
