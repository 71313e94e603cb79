// The API token: the file checks the daemon makes before it serves, the file
// it creates when none exists, and the router refusing mutating calls without
// the token (in process and over a real socket).

#include "api/auth.h"
#include "tests/unit/api/scratch_dir.h"
#include "tests/unit/api/server_fixture.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <set>

namespace reflex::api::testing {
namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef0123456789abcdef";

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(TokenFile, LoadsAPrivateFileAndTrimsTheLine) {
  ScratchDir dir("tok");
  write_file(dir / "token", "  " + kToken + "\n", 0600);
  auto auth = TokenAuth::load(dir / "token");
  ASSERT_TRUE(auth) << auth.error().message();
  EXPECT_TRUE(auth->accepts(kToken));
  EXPECT_FALSE(auth->accepts(kToken + "x"));
  EXPECT_FALSE(auth->accepts(kToken.substr(1)));
  EXPECT_FALSE(auth->accepts(""));
  // 0400 is stricter than 0600: fine.
  write_file(dir / "ro", kToken, 0400);
  EXPECT_TRUE(TokenAuth::load(dir / "ro"));
}

TEST(TokenFile, RefusesAFileOthersCanReadWithTheChmodThatFixesIt) {
  ScratchDir dir("tok");
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    write_file(dir / "token", kToken, mode);
    auto auth = TokenAuth::load(dir / "token");
    ASSERT_FALSE(auth) << std::oct << mode;
    EXPECT_NE(auth.error().what.find("other users could read or change"), std::string::npos) << auth.error().what;
    EXPECT_EQ(auth.error().hint, "chmod 600 " + (dir / "token"));
  }
}

TEST(TokenFile, RefusesAFileOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown the file to another user";
  ScratchDir dir("tok");
  write_file(dir / "token", kToken, 0600);
  ASSERT_EQ(::chown((dir / "token").c_str(), 65534, 65534), 0);
  auto auth = TokenAuth::load(dir / "token");
  ASSERT_FALSE(auth);
  EXPECT_NE(auth.error().what.find("the daemon's user"), std::string::npos) << auth.error().what;
  EXPECT_EQ(auth.error().hint.rfind("chown ", 0), 0u) << auth.error().hint;
}

TEST(TokenFile, RefusesWeakOrMalformedTokensAndNonFiles) {
  ScratchDir dir("tok");
  write_file(dir / "short", "abc123\n", 0600);
  auto a = TokenAuth::load(dir / "short");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().what.find("at least 32"), std::string::npos) << a.error().what;

  write_file(dir / "empty", "\n", 0600);
  EXPECT_FALSE(TokenAuth::load(dir / "empty"));
  write_file(dir / "two", kToken + "\n" + kToken + "\n", 0600);
  EXPECT_FALSE(TokenAuth::load(dir / "two"));
  write_file(dir / "space", kToken + " " + kToken, 0600);
  EXPECT_FALSE(TokenAuth::load(dir / "space"));

  std::filesystem::create_directory(dir / "folder");
  ::chmod((dir / "folder").c_str(), 0700);
  auto d = TokenAuth::load(dir / "folder");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().what.find("not a regular file"), std::string::npos) << d.error().what;

  auto missing = TokenAuth::load(dir / "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
}

TEST(TokenFile, CreatesAMissingFileWithAFreshRandomToken) {
  ScratchDir dir("tok");
  const std::string path = dir / "etc/reflex/token";  // its folders do not exist yet
  const mode_t old_umask = ::umask(0);                 // a careless umask must not widen the file
  bool created = false;
  auto auth = TokenAuth::load_or_create(path, &created);
  ::umask(old_umask);
  ASSERT_TRUE(auth) << auth.error().message();
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir / "etc/reflex").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  auto token = read_token_file(path);
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ(token->size(), 64u);
  EXPECT_TRUE(auth->accepts(*token));

  // The second start reads the same file instead of replacing it.
  auto again = TokenAuth::load_or_create(path, &created);
  ASSERT_TRUE(again);
  EXPECT_FALSE(created);
  EXPECT_TRUE(again->accepts(*token));

  // A broken existing file is not silently replaced.
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_FALSE(TokenAuth::load_or_create(path, &created));
}

TEST(TokenFile, GeneratedTokensDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    auto t = generate_token();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(*t);
  }
  EXPECT_EQ(seen.size(), 16u);
}

TEST(TokenFile, ConstantTimeEqualIsEquality) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abd", "abc"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_FALSE(constant_time_equal(std::string("ab\0", 3), "ab"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

class AuthRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.get("/state", [](const Request&) { return text_response(http::status::ok, "state\n"); });
    router_.post("/change", [this](const Request&) {
      ++changes_;
      return text_response(http::status::ok, "changed\n");
    }, RouteOptions{.json_body = true});
    router_.route(http::verb::delete_, "/things/{id}", [this](const Call& c) {
      ++changes_;
      return text_response(http::status::ok, std::string(c.param("id")));
    });
    router_.require_token(std::make_shared<TokenAuth>(TokenAuth::from_token(kToken, "/etc/reflex/token")));
  }

  Response send(http::verb method, const std::string& target, std::string authorization = {},
                std::string body = {}, std::string type = {}) {
    Request req{method, target, 11};
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    if (!type.empty()) req.set(http::field::content_type, type);
    req.body() = std::move(body);
    req.prepare_payload();
    return router_.handle(req);
  }

  Router router_;
  int changes_ = 0;
};

TEST_F(AuthRouterTest, ReadsNeedNoToken) {
  EXPECT_EQ(send(http::verb::get, "/state").result(), http::status::ok);
  EXPECT_EQ(send(http::verb::head, "/state").result(), http::status::ok);
}

TEST_F(AuthRouterTest, MutatingCallsWithoutTheTokenAre401WithTheHint) {
  for (auto [method, target] : {std::pair{http::verb::post, "/change"}, {http::verb::delete_, "/things/a"}}) {
    auto res = send(method, target);
    ASSERT_EQ(res.result(), http::status::unauthorized) << target;
    EXPECT_EQ(res[http::field::www_authenticate], "Bearer realm=\"reflex\"");
    auto body = parse_json(res.body()).as_object();
    EXPECT_NE(std::string(body.at("error").as_string()).find("needs the API token"), std::string::npos);
    EXPECT_NE(std::string(body.at("hint").as_string()).find("/etc/reflex/token"), std::string::npos);
  }
  EXPECT_EQ(changes_, 0);
}

TEST_F(AuthRouterTest, AWrongOrMalformedTokenIs401) {
  const std::vector<std::string> wrong = {"Bearer " + kToken + "0", "Bearer " + kToken.substr(0, 40), "Bearer",
                                          "Basic " + kToken, "Bearer  ", kToken};
  for (const auto& auth : wrong) {
    auto res = send(http::verb::post, "/change", auth);
    EXPECT_EQ(res.result(), http::status::unauthorized) << auth;
  }
  auto res = send(http::verb::post, "/change", "Bearer wrong-token-wrong-token-wrong-token");
  EXPECT_EQ(res[http::field::www_authenticate], "Bearer realm=\"reflex\", error=\"invalid_token\"");
  EXPECT_EQ(std::string(parse_json(res.body()).at("error").as_string()), "the API token is wrong");
  EXPECT_EQ(changes_, 0);
}

TEST_F(AuthRouterTest, TheRightTokenIsServedAndTheSchemeIsCaseInsensitive) {
  EXPECT_EQ(send(http::verb::post, "/change", "Bearer " + kToken).result(), http::status::ok);
  EXPECT_EQ(send(http::verb::post, "/change", "bearer   " + kToken + " ").result(), http::status::ok);
  auto res = send(http::verb::delete_, "/things/x%2Fy", "Bearer " + kToken);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "x/y");
  EXPECT_EQ(changes_, 3);
}

TEST_F(AuthRouterTest, TheTokenIsCheckedBeforeTheBody) {
  // Without the token nothing about the body is looked at.
  EXPECT_EQ(send(http::verb::post, "/change", "", "x", "text/plain").result(), http::status::unauthorized);
  EXPECT_EQ(send(http::verb::post, "/change", "Bearer " + kToken, "x", "text/plain").result(),
            http::status::unsupported_media_type);
  // Unknown paths and wrong methods say so whatever the token.
  EXPECT_EQ(send(http::verb::post, "/nowhere").result(), http::status::not_found);
  EXPECT_EQ(send(http::verb::post, "/state").result(), http::status::method_not_allowed);
}

class AuthServerTest : public ServerFixture {};

TEST_F(AuthServerTest, OverARealSocketARefusedCallKeepsTheConnection) {
  router_.post("/change", [](const Request&) { return text_response(http::status::ok, "changed\n"); });
  router_.require_token(std::make_shared<TokenAuth>(TokenAuth::from_token(kToken, "test")));
  start_server();
  auto c = connect();
  auto refused = c.request(http::verb::post, "/change");
  EXPECT_EQ(refused.result(), http::status::unauthorized);
  EXPECT_TRUE(refused.keep_alive());
  c.set_header("Authorization", "Bearer " + kToken);
  EXPECT_EQ(c.request(http::verb::post, "/change").result(), http::status::ok);
}

}  // namespace
}  // namespace reflex::api::testing
