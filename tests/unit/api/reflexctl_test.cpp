// The real reflexctl binary against a real server (add_api over a fake loop
// and a real PolicyStore, listening on a Unix socket and 127.0.0.1): each
// command's table and --json, the overrides it posts reaching the loop as the
// operator meant them, and the errors an operator meets (no daemon, wrong
// token, a refused override) with their exit codes.

#include "api/api_routes.h"
#include "tests/support/fake_loop.h"
#include "tests/support/policy_samples.h"
#include "tests/unit/api/server_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace reflex::api::testing {
namespace {

namespace fs = std::filesystem;
using reflex::testing::FakeLoopApi;
using reflex::testing::sample_view;

const std::string kToken = "reflexctl-test-token-0123456789abcdef012345";

struct CtlRun {
  int exit = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class ReflexctlTest : public ServerFixture {
 protected:
  void SetUp() override {
    dir_ = reflex::testing::fresh_test_dir("ctl");
    fs::create_directories(dir_ / "policies");
    reflex::testing::write_policy_file(dir_ / "policies", "10-a.yaml", reflex::testing::kPolicyGood);
    store_ = std::make_unique<plan::PolicyStore>(dir_ / "policies");
    ASSERT_TRUE(store_->reload("start"));
    token_file_ = (dir_ / "token").string();
    std::ofstream(token_file_) << kToken << "\n";
    fs::permissions(token_file_, fs::perms::owner_read | fs::perms::owner_write);
    socket_ = (dir_ / "run" / "reflexd.sock").string();

    loop_.publish(sample_view());
    reflex::testing::fill_history(loop_.history_store(), 30);
    add_api(router_, metrics_,
            ApiParts{loop_, *store_, [] { return json::object{{"daemon", "reflexd"}}; },
                     std::make_shared<TokenAuth>(TokenAuth::from_token(kToken, token_file_))});
    auto config = test_config();
    config.unix_socket = socket_;
    config.body_limit = 64 * 1024;
    start_server(config);
  }
  void TearDown() override {
    stop_loop();
    store_.reset();
    fs::remove_all(dir_);
  }

  // reflexctl ARGS with --server on the Unix socket and the token file, unless given.
  CtlRun ctl(std::vector<std::string> args, bool defaults = true, std::vector<std::string> env = {}) {
    std::vector<std::string> argv{REFLEXCTL_BIN};
    if (defaults) {
      argv.push_back("--server=unix://" + socket_);
      argv.push_back("--token-file=" + token_file_);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return spawn(argv, env);
  }

  CtlRun spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
    const fs::path out = dir_ / "out", err = dir_ / "err";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e)
      if (std::string_view(*e).rfind("REFLEX_", 0) != 0) env_text.emplace_back(*e);
    env_text.insert(env_text.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env_text) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    CtlRun r;
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
      return r;
    }
    // A deadline, so a hung client fails the test instead of stalling it.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    pollfd p{pidfd, POLLIN, 0};
    if (pidfd < 0 || ::poll(&p, 1, 20'000) != 1) {
      ADD_FAILURE() << "reflexctl did not exit within 20 s";
      ::kill(pid, SIGKILL);
    }
    if (pidfd >= 0) ::close(pidfd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  static json::value json_of(const CtlRun& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << "not JSON: " << r.out;
    return v;
  }

  const Override& last_added() {
    EXPECT_FALSE(loop_.added.empty());
    return loop_.added.back().override_;
  }

  fs::path dir_;
  std::string token_file_, socket_;
  std::unique_ptr<plan::PolicyStore> store_;
  FakeLoopApi loop_;
};

#define EXPECT_OK(run) EXPECT_EQ((run).exit, 0) << (run).err << (run).out

TEST_F(ReflexctlTest, StatusTableAndJsonOverTheUnixSocketAndTcp) {
  auto r = ctl({"status"});
  EXPECT_OK(r);
  for (const char* s : {"running", "eth0", "veth1@ns", "generic", "198.51.100.9"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " not in:\n" << r.out;
  r = ctl({"status", "--json"});
  EXPECT_OK(r);
  EXPECT_EQ(json_of(r).at("state").at("phase"), "running");
  EXPECT_EQ(json_of(r).at("daemon").at("daemon"), "reflexd");
  // TCP, named by REFLEX_SERVER.
  const auto ep = endpoint();
  r = ctl({"--json", "status"}, false,
          {"REFLEX_SERVER=http://127.0.0.1:" + std::to_string(ep.port())});
  EXPECT_OK(r);
  EXPECT_EQ(json_of(r).at("state").at("ready"), true);
}

TEST_F(ReflexctlTest, ReadingCommandsShowWhatTheLoopHolds) {
  auto r = ctl({"symptoms"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("flood"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("map_pressure"), std::string::npos) << r.out;
  r = ctl({"symptoms", "--kind", "flood", "--json"});
  EXPECT_OK(r);
  const auto symptoms = json_of(r);
  for (const auto& s : symptoms.at("active").as_array()) EXPECT_EQ(s.at("kind"), "flood");

  r = ctl({"actions"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("203.0.113.0/24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verified"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pending"), std::string::npos) << r.out;

  r = ctl({"flows", "--verdict", "drop"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("203.0.113.7"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("198.51.100.9"), std::string::npos) << "a rate_limited flow under --verdict drop:\n" << r.out;

  r = ctl({"history", "--limit", "5", "--all", "--json"});
  EXPECT_OK(r);
  r = ctl({"history", "--kind", "plan"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("plan #"), std::string::npos) << r.out;
  EXPECT_EQ(loop_.history_store().last_query.kinds.size(), 1u);

  r = ctl({"override", "list"});
  EXPECT_OK(r);
  r = ctl({"policy", "show"});
  EXPECT_OK(r);
  EXPECT_NE(r.out.find("generation"), std::string::npos) << r.out;
}

TEST_F(ReflexctlTest, OverridesReachTheLoopAsTheOperatorMeantThem) {
  auto r = ctl({"block", "203.0.113.0/24", "--ttl", "10m", "--iface", "eth0", "--reason", "ticket 42", "--who", "alice"});
  EXPECT_OK(r);
  {
    const auto& o = last_added();
    EXPECT_EQ(o.kind, Override::Kind::manual);
    EXPECT_EQ(o.who, "alice");
    EXPECT_EQ(o.reason, "ticket 42");
    EXPECT_EQ(loop_.added.back().ttl_ns, 600 * kNsPerSec);
    ASSERT_TRUE(o.action);
    const auto* b = std::get_if<BlockPrefix>(&o.action->spec);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->prefix.to_string(), "203.0.113.0/24");
    EXPECT_EQ(b->iface, "eth0");
  }
  r = ctl({"limit", "198.51.100.0/24", "--pps", "1000", "--ttl", "5m"});
  EXPECT_OK(r);
  {
    const auto* l = std::get_if<RateLimitPrefix>(&last_added().action->spec);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->pps, 1000u);
    EXPECT_FALSE(last_added().reason.empty()) << "the default reason is the command line";
  }
  r = ctl({"shape", "--iface", "eth0", "--rate", "10mbit", "--ttl", "5m"});
  EXPECT_OK(r);
  {
    const auto* s = std::get_if<ShapeInterface>(&last_added().action->spec);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->iface, "eth0");
    EXPECT_EQ(s->rate_bps, 10'000'000u);
  }
  r = ctl({"override", "add", "--kind", "forbid", "--action", "block", "--prefix", "10.0.0.0/8", "--ttl", "1h",
           "--id", "no-blocks-in-10"});
  EXPECT_OK(r);
  EXPECT_EQ(last_added().kind, Override::Kind::forbid);
  EXPECT_EQ(last_added().action_kind, "block");

  r = ctl({"pause", "--reason", "maintenance"});
  EXPECT_OK(r);
  EXPECT_EQ(last_added().kind, Override::Kind::pause_all);
  EXPECT_EQ(loop_.added.back().ttl_ns, 3600 * kNsPerSec) << "pause defaults to 1h";

  r = ctl({"override", "list", "--json"});
  EXPECT_OK(r);
  EXPECT_EQ(json_of(r).at("overrides").as_array().size(), 5u) << r.out;
  r = ctl({"override", "list"});
  EXPECT_NE(r.out.find("no-blocks-in-10"), std::string::npos) << r.out;

  r = ctl({"resume", "--who", "bob"});
  EXPECT_OK(r);
  ASSERT_FALSE(loop_.removed.empty());
  EXPECT_EQ(loop_.removed.back().second, "bob");
  r = ctl({"override", "rm", "no-blocks-in-10"});
  EXPECT_OK(r);
  EXPECT_EQ(loop_.removed.back().first, "no-blocks-in-10");
  r = ctl({"unblock", "203.0.113.0/24"});
  EXPECT_OK(r);
  r = ctl({"override", "list", "--json"});
  EXPECT_OK(r);
  const auto left = json_of(r);
  for (const auto& o : left.at("overrides").as_array())
    EXPECT_NE(o.at("kind"), "pause") << "resume left the pause in force";

  r = ctl({"policy", "reload", "--reason", "test"});
  EXPECT_OK(r);
}

TEST_F(ReflexctlTest, ErrorsSayWhatToDoWithTheirExitCodes) {
  // Nothing at the socket: unreachable (3), and says the daemon is not running.
  auto r = ctl({"status", "--server", "unix://" + (dir_ / "nothing.sock").string()}, false);
  EXPECT_EQ(r.exit, 3) << r.err;
  EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;

  // A wrong token: refused (1), names the token file.
  const std::string bad_token = (dir_ / "bad-token").string();
  std::ofstream(bad_token) << "a-well-formed-token-that-is-not-the-daemons-0123\n";
  fs::permissions(bad_token, fs::perms::owner_read | fs::perms::owner_write);
  const std::string server = "--server=unix://" + socket_;
  r = ctl({server, "block", "203.0.113.0/24", "--ttl", "10m", "--token-file", bad_token}, false);
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find(bad_token), std::string::npos) << r.err;
  EXPECT_TRUE(loop_.added.empty());
  // No token file at all: usage (2), before anything is sent.
  r = ctl({server, "pause", "--token-file", (dir_ / "missing").string()}, false);
  EXPECT_EQ(r.exit, 2) << r.err;

  // The daemon refuses: the loop's reason comes through.
  r = ctl({"block", "203.0.113.0/33", "--ttl", "10m"});
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("not an IP prefix"), std::string::npos) << r.err;
  r = ctl({"override", "rm", "ovr-nope"});
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("no override ovr-nope"), std::string::npos) << r.err;
  // A usage mistake is CLI11's 2.
  r = ctl({"block", "--ttl", "10m"});  // PREFIX or --file: CLI11 checks --ttl first
  EXPECT_EQ(r.exit, 2) << r.err;
  EXPECT_NE(r.err.find("PREFIX"), std::string::npos) << r.err;
  EXPECT_EQ(ctl({"--help"}).exit, 0);
}

TEST_F(ReflexctlTest, BlockFileSendsOneBatchAndNamesABadLine) {
  // A list with comments, blank lines and padding: one override, one RuleBatch, in file order.
  const fs::path list = dir_ / "list.txt";
  {
    std::ofstream f(list);
    f << "# feed of 2024-05-01\n\n";
    for (int i = 0; i < 5000; ++i) f << "  10." << (i >> 8) << "." << (i & 255) << ".7   # host " << i << "\n";
    f << "2001:db8::/48\n";
  }
  auto r = ctl({"block", "--file", list.string(), "--ttl", "10m", "--reason", "feed", "--who", "alice", "--iface", "eth0"});
  EXPECT_OK(r);
  ASSERT_EQ(loop_.added.size(), 1u);
  {
    const auto& o = last_added();
    EXPECT_EQ(o.who, "alice");
    EXPECT_EQ(o.reason, "feed");
    EXPECT_EQ(loop_.added.back().ttl_ns, 600 * kNsPerSec);
    ASSERT_TRUE(o.action);
    const auto* b = std::get_if<RuleBatch>(&o.action->spec);
    ASSERT_NE(b, nullptr);
    EXPECT_FALSE(b->remove);
    EXPECT_EQ(b->verb, RuleVerb::drop);
    EXPECT_EQ(b->iface, "eth0");
    ASSERT_EQ(b->prefixes.size(), 5001u);  // ~85 KB of JSON: over the server's 64 KiB, within the route's
    EXPECT_EQ(b->prefixes.front().to_string(), "10.0.0.7");
    EXPECT_EQ(b->prefixes[2999].to_string(), "10.11.183.7");
    EXPECT_EQ(b->prefixes.back().to_string(), "2001:db8::/48");
  }

  // A bad line is named FILE:LINE, and nothing is sent.
  {
    std::ofstream f(list);
    f << "# header\n203.0.113.0/24\n\n203.0.113.300/32  # typo\n198.51.100.7\n";
  }
  r = ctl({"block", "--file", list.string(), "--ttl", "10m"});
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find(list.string() + ":4: \"203.0.113.300/32\" is not an IP prefix"), std::string::npos) << r.err;
  EXPECT_EQ(loop_.added.size(), 1u) << "a bad file must send nothing";

  // A missing file, an empty one, and neither PREFIX nor --file.
  r = ctl({"block", "--file", (dir_ / "nothere").string(), "--ttl", "10m"});
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
  std::ofstream(list) << "# nothing\n\n";
  r = ctl({"block", "--file", list.string(), "--ttl", "10m"});
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("no prefixes"), std::string::npos) << r.err;
  r = ctl({"block", "--ttl", "10m"});
  EXPECT_EQ(r.exit, 2) << r.err;
  r = ctl({"block", "203.0.113.0/24", "--file", list.string(), "--ttl", "10m"});
  EXPECT_EQ(r.exit, 2) << r.err;
  EXPECT_EQ(loop_.added.size(), 1u);

  // unblock --file sends the list's remove form (ttl 1h unless given).
  std::ofstream(list) << "203.0.113.0/24\n198.51.100.7\n";
  r = ctl({"unblock", "--file", list.string()});
  EXPECT_OK(r);
  ASSERT_EQ(loop_.added.size(), 2u);
  EXPECT_EQ(loop_.added.back().ttl_ns, 3600 * kNsPerSec);
  const auto* rm = std::get_if<RuleBatch>(&last_added().action->spec);
  ASSERT_NE(rm, nullptr);
  EXPECT_TRUE(rm->remove);
  EXPECT_EQ(rm->prefixes.size(), 2u);
}

TEST_F(ReflexctlTest, PolicyCheckNeedsNoDaemon) {
  auto r = ctl({"policy", "check", (dir_ / "policies").string()}, false);
  EXPECT_OK(r);
  fs::create_directories(dir_ / "broken");
  reflex::testing::write_policy_file(dir_ / "broken", "10-b.yaml", reflex::testing::kPolicyBroken);
  r = ctl({"policy", "check", (dir_ / "broken").string()}, false);
  EXPECT_EQ(r.exit, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("flod"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace reflex::api::testing
