// reflexd end to end: the real daemon guarding a veth in a namespace, driven
// through its API by the real reflexctl, and started on a damaged store, a
// missing interface and a broken config.

#include "guard/guard.h"
#include "sim/http_get.h"
#include "sim/netns.h"
#include "tests/support/child_process.h"
#include "tests/support/kernel_env.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace reflex {
namespace {

using namespace std::chrono_literals;
using testing::free_loopback_port;
using testing::read_file;
using testing::spawn_logged;
namespace fs = std::filesystem;

struct CmdResult {
  int code = -1;
  std::string out;
};

CmdResult run_cmd(std::vector<std::string> args, const std::string& dir) {
  const std::string log = dir + "/cmd.out";
  pid_t pid = spawn_logged(std::move(args), log);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(log)};
}

// A node namespace with one veth to a peer namespace, a scratch folder and
// pins of its own; everything removed on the way out, also on failure.
class Reflexd : public ::testing::Test {
 protected:
  void SetUp() override {
    REFLEX_REQUIRE_BPF();
    dir_ = "/tmp/" + sim::unique_name("rfxd");
    fs::create_directories(dir_);
    pin_root_ = testing::test_pin_root() + "/" + sim::unique_name("rfxd");
    fs::create_directories(pin_root_);  // on bpffs: the guard pins under it
    auto n = sim::NetNs::create(sim::unique_name("rfxdn"));
    auto p = sim::NetNs::create(sim::unique_name("rfxdp"));
    ASSERT_TRUE(n && p);
    node_.emplace(std::move(*n));
    peer_.emplace(std::move(*p));
    if_ = sim::unique_name("rfxn");
    peer_if_ = sim::unique_name("rfxp");
    ASSERT_TRUE(sim::make_veth(*node_, *peer_, {if_, peer_if_, "10.93.0.1/24", "10.93.0.2/24", {}}));
    key_ = if_ + "@" + node_->name();
    port_ = free_loopback_port();
  }

  void TearDown() override {
    stop();
    guard::GuardOptions o;
    o.pin_root = pin_root_;
    (void)guard::Guard::unload(key_, o);
    std::error_code ec;
    fs::remove_all(pin_root_, ec);
    fs::remove_all(dir_, ec);
    peer_.reset();
    node_.reset();
  }

  std::vector<std::string> args(const std::string& iface) const {
    return {REFLEXD_BIN, "--log-level", "info", "run", "--iface", iface, "--listen",
            "127.0.0.1:" + std::to_string(port_), "--unix-socket", "off", "--store", dir_ + "/store.db",
            "--token-file", dir_ + "/token", "--policies", REFLEX_SOURCE_DIR "/policies", "--tick-ms", "100",
            "--pin-root", pin_root_};
  }

  // Starts reflexd and waits until /readyz answers `want` (200 or 503).
  void start(const std::string& iface, int want = 200) {
    pid_ = spawn_logged(args(iface), log());
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      ASSERT_NE(waitpid(pid_, &status, WNOHANG), pid_) << "reflexd exited: " << read_file(log());
      auto r = sim::http_get("127.0.0.1", port_, "/readyz", 500ms);
      if (r && r->status == want) return;
      std::this_thread::sleep_for(20ms);  // polling a child's readiness: nothing to wait on
    }
    FAIL() << "reflexd did not answer /readyz " << want << " within 30 s: " << read_file(log());
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  boost::json::value get(const std::string& target) const {
    auto r = sim::http_get("127.0.0.1", port_, target, 2s);
    EXPECT_TRUE(r) << target;
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << target << ": " << r->body;
    boost::system::error_code ec;
    return boost::json::parse(r->body, ec);
  }

  CmdResult ctl(std::vector<std::string> a, bool token = true) const {
    std::vector<std::string> argv{REFLEXCTL_BIN, "--server", "http://127.0.0.1:" + std::to_string(port_)};
    if (token) argv.insert(argv.end(), {"--token-file", dir_ + "/token"});
    argv.insert(argv.end(), a.begin(), a.end());
    return run_cmd(argv, dir_);
  }

  std::vector<guard::GuardRule> kernel_rules() const {
    guard::GuardOptions o;
    o.pin_root = pin_root_;
    auto g = guard::Guard::open(key_, o);
    if (!g) return {};
    auto r = g->rules();
    return r ? *r : std::vector<guard::GuardRule>{};
  }

  bool kernel_blocks(const std::string& prefix) const {
    for (const auto& r : kernel_rules())
      if (r.prefix == Prefix::parse(prefix).value() && r.action == guard::RuleAction::drop) return true;
    return false;
  }

  std::string log() const { return dir_ + "/reflexd.log"; }

  std::size_t kernel_drop_rules() const {
    std::size_t n = 0;
    for (const auto& r : kernel_rules()) n += r.action == guard::RuleAction::drop;
    return n;
  }

  // A UDP socket in ns bound to addr:port (port 0: any).
  int udp_in(const sim::NetNs& ns, const std::string& addr, std::uint16_t port) const {
    auto fd = sim::socket_in(ns, AF_INET, SOCK_DGRAM, 0);
    EXPECT_TRUE(fd);
    if (!fd) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, addr.c_str(), &a.sin_addr);
    EXPECT_EQ(::bind(*fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << addr << ": " << std::strerror(errno);
    return *fd;
  }

  // Sends `count` datagrams from each source (blocked ones first) to the node,
  // then reads until the last source's last datagram arrives: the veth keeps
  // order, so anything sent before it that was not dropped has arrived by then.
  // Returns the payloads received, by source.
  std::map<std::string, int> send_and_count(const std::vector<std::string>& sources, int count) const {
    static std::uint32_t round = 0;
    ++round;
    const int rx = udp_in(*node_, "10.93.0.1", 9999);
    std::map<std::string, int> got;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9999);
    ::inet_pton(AF_INET, "10.93.0.1", &to.sin_addr);
    for (const auto& src : sources) {
      const int tx = udp_in(*peer_, src, 0);
      for (int i = 0; i < count; ++i) {
        const std::string msg = std::to_string(round) + " " + src + " " + std::to_string(i);
        EXPECT_EQ(::sendto(tx, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                  static_cast<ssize_t>(msg.size()));
      }
      ::close(tx);
    }
    const std::string last = std::to_string(round) + " " + sources.back() + " " + std::to_string(count - 1);
    timeval tv{5, 0};  // the deadline for the last datagram, not a stand-in for synchronisation
    ::setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    for (;;) {
      const ssize_t n = ::recv(rx, buf, sizeof buf, 0);
      if (n <= 0) break;
      const std::string msg(buf, static_cast<std::size_t>(n));
      std::istringstream in(msg);
      std::string r, src;
      in >> r >> src;
      if (r == std::to_string(round)) ++got[src];
      if (msg == last) break;
    }
    ::close(rx);
    return got;
  }

  std::string dir_, pin_root_, if_, peer_if_, key_;
  std::optional<sim::NetNs> node_, peer_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(Reflexd, AnOperatorBlockThroughReflexctlReachesTheKernelAndIsRecorded) {
  start(key_);
  auto state = get("/v1/state");
  ASSERT_TRUE(state.is_object()) << state;
  EXPECT_NE(boost::json::serialize(state).find(key_), std::string::npos) << "the interface is not in /v1/state";

  // Without the token the daemon refuses, and the kernel is untouched.
  auto refused = ctl({"block", "198.51.100.0/24", "--ttl", "10m", "--reason", "e2e"}, /*token=*/false);
  EXPECT_NE(refused.code, 0) << refused.out;
  EXPECT_FALSE(kernel_blocks("198.51.100.0/24"));

  auto ok = ctl({"block", "198.51.100.0/24", "--ttl", "10m", "--reason", "e2e"});
  ASSERT_EQ(ok.code, 0) << ok.out;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!kernel_blocks("198.51.100.0/24") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);  // the next ticks apply it; the kernel has no event to wait on
  EXPECT_TRUE(kernel_blocks("198.51.100.0/24")) << "the manual block never reached the guard";

  auto hist = get("/v1/history?kind=override");
  EXPECT_NE(boost::json::serialize(hist).find("198.51.100.0/24"), std::string::npos) << hist;
  auto status = ctl({"status", "--json"});
  EXPECT_EQ(status.code, 0) << status.out;
}

TEST_F(Reflexd, SigtermLeavesTheRulesPinnedAndARestartAdoptsThem) {
  start(key_);
  ASSERT_EQ(ctl({"block", "198.51.100.7", "--ttl", "10m", "--reason", "e2e"}).code, 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!kernel_blocks("198.51.100.7/32") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(kernel_blocks("198.51.100.7/32"));
  stop();
  EXPECT_TRUE(kernel_blocks("198.51.100.7/32")) << "the datapath must keep protecting with no daemon";
  start(key_);
  EXPECT_NE(read_file(log()).find("adopted"), std::string::npos) << read_file(log());
  EXPECT_TRUE(kernel_blocks("198.51.100.7/32")) << "the restarted daemon dropped the rule it had";
}

TEST_F(Reflexd, ATenThousandPrefixListIsOneOverrideInEffectAndGoneAfterDelete) {
  // Two more sources on the peer: one the list blocks, one it does not.
  ASSERT_TRUE(sim::add_address(*peer_, peer_if_, "10.93.0.3/24"));
  ASSERT_TRUE(sim::add_address(*peer_, peer_if_, "10.93.0.4/24"));
  start(key_);
  const std::string list = dir_ + "/feed.txt";
  auto write_list = [&](const std::string& extra) {
    std::ofstream f(list);
    f << "# an operator's feed: 9,999 hosts elsewhere and one peer source\n";
    for (int i = 0; i < 9999; ++i) {
      if (i == 5000) f << "10.93.0.3\n" << extra;
      f << "10.94." << (i >> 8) << "." << (i & 255) << "/32\n";
    }
  };

  // The guardrails see every entry: one never_block address refuses the whole list.
  write_list("127.0.0.9   # a mistake\n");
  auto refused = ctl({"block", "--file", list, "--ttl", "10m", "--reason", "e2e"});
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_NE(refused.out.find("prefixes[5001] 127.0.0.9 overlaps 127.0.0.0/8"), std::string::npos) << refused.out;
  EXPECT_EQ(kernel_drop_rules(), 0u) << "a refused list must apply nothing";

  write_list("");
  auto ok = ctl({"block", "--file", list, "--ttl", "10m", "--reason", "e2e", "--id", "feed"});
  ASSERT_EQ(ok.code, 0) << ok.out;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (kernel_drop_rules() < 10000 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);  // the next ticks apply it; the kernel has no event to wait on
  ASSERT_EQ(kernel_drop_rules(), 10000u) << "the 10k list never reached the guard: " << read_file(log());
  auto ovs = get("/v1/overrides");
  ASSERT_EQ(ovs.at("overrides").as_array().size(), 1u) << ovs;
  EXPECT_EQ(ovs.at("overrides").at(0).at("override").at("action").at("spec").at("count").as_int64(), 10000);
  auto acts = get("/v1/actions?kind=rule_batch");
  EXPECT_NE(boost::json::serialize(acts).find("prefixes=10000"), std::string::npos) << "not one RuleBatch: " << acts;

  auto got = send_and_count({"10.93.0.3", "10.93.0.4"}, 20);
  EXPECT_EQ(got["10.93.0.4"], 20) << "a source the list does not hold must pass";
  EXPECT_EQ(got["10.93.0.3"], 0) << "a source the list holds must be dropped";

  // DELETE takes the whole batch out; the peer's source passes again.
  auto rm = ctl({"override", "rm", "feed"});
  ASSERT_EQ(rm.code, 0) << rm.out;
  deadline = std::chrono::steady_clock::now() + 20s;
  while (kernel_drop_rules() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(kernel_drop_rules(), 0u) << "the batch outlived its override: " << read_file(log());
  got = send_and_count({"10.93.0.3", "10.93.0.4"}, 20);
  EXPECT_EQ(got["10.93.0.3"], 20);
  EXPECT_EQ(got["10.93.0.4"], 20);
  auto hist = boost::json::serialize(get("/v1/history?kind=override"));
  EXPECT_NE(hist.find("undo of override feed"), std::string::npos) << hist.substr(0, 2000);
}

TEST_F(Reflexd, ADamagedStoreIsMovedAsideAndTheDaemonRuns) {
  {
    std::ofstream f(dir_ + "/store.db", std::ios::binary);
    f << std::string(8192, '\x5a');
  }
  start(key_);
  bool moved = false;
  for (const auto& e : fs::directory_iterator(dir_))
    moved |= e.path().filename().string().rfind("store.db.corrupt-", 0) == 0;
  EXPECT_TRUE(moved) << "the damaged file was not kept aside";
  auto hist = get("/v1/history?kind=daemon");
  EXPECT_NE(boost::json::serialize(hist).find("moved"), std::string::npos) << hist;
}

TEST_F(Reflexd, AMissingInterfaceIsReportedAndNotReady) {
  start("rfxnothere@" + node_->name(), 503);
  auto r = sim::http_get("127.0.0.1", port_, "/v1/state", 2s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("rfxnothere"), std::string::npos) << r->body;
}

TEST_F(Reflexd, ABrokenConfigIsRefusedWithWhereAndWhy) {
  std::ofstream(dir_ + "/bad.yaml") << "tick: fast\ninterfaces: [eth0]\n";
  auto r = run_cmd({REFLEXD_BIN, "run", "--config", dir_ + "/bad.yaml"}, dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("bad.yaml:1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tick"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace reflex
