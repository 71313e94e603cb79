// The fleet with real processes: a real nats-server on loopback (token
// authentication), three real reflexd nodes, each guarding a veth in a
// namespace of its own, and a flood that hits node A, then moves to B, then
// to C. A climbs its own ladder (the flood is marginal: shadow, then a rate
// limit); its verified verdict warns B, which blocks on its first sight of
// the flood; with two peers agreeing, C blocks before the flood arrives. A
// fourth publisher that lies about a benign prefix blocks nothing.

#include "fleet/nats_link.h"
#include "fleet/verdict.h"
#include "guard/guard.h"
#include "sim/flood_gen.h"
#include "sim/http_get.h"
#include "sim/netns.h"
#include "sim/topology.h"
#include "tests/support/child_process.h"
#include "tests/support/kernel_env.h"
#include "tests/support/nats_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace reflex {
namespace {

using namespace std::chrono_literals;
using testing::free_loopback_port;
using testing::read_file;
using testing::spawn_logged;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kNatsToken = "fleet-e2e-token";
constexpr const char* kFloodSource = "203.0.113.9";
constexpr const char* kLiePrefix = "100.64.1.0/24";  // the benign clients' prefix

std::uint32_t host_addr(const char* text) {
  in_addr a{};
  ::inet_pton(AF_INET, text, &a);
  return ntohl(a.s_addr);
}

// One node: its namespace, the namespace its traffic comes from, a veth
// between them (the same addresses on every node: they are separate
// namespaces), its reflexd and its scratch folder.
struct Node {
  std::string id, dir, pin_root, iface, key;
  std::optional<sim::NetNs> ns, peer;
  unsigned short port = 0;
  pid_t pid = -1;
  std::unique_ptr<sim::PacketGenerator> gen;
  std::size_t flood_stream = 0;

  std::string log() const { return dir + "/reflexd.log"; }

  void stop() {
    if (gen) gen->stop();
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
      pid = -1;
    }
  }

  std::optional<boost::json::value> get(const std::string& target) const {
    auto r = sim::http_get("127.0.0.1", port, target, 2s);
    if (!r || r->status != 200) return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(r->body, ec);
    if (ec) return std::nullopt;
    return v;
  }

  std::string metrics() const {
    auto r = sim::http_get("127.0.0.1", port, "/metrics", 2s);
    return r ? r->body : std::string();
  }

  std::vector<guard::GuardRule> rules() const {
    guard::GuardOptions o;
    o.pin_root = pin_root;
    auto g = guard::Guard::open(key, o);
    if (!g) return {};
    auto r = g->rules();
    return r ? *r : std::vector<guard::GuardRule>{};
  }

  // A rule that drops (some of) what `host` sends: a block or a rate limit.
  bool drops(const std::string& host) const {
    const auto h = *Prefix::parse(host);
    for (const auto& r : rules())
      if (r.prefix.contains(h) && (r.action == guard::RuleAction::drop || r.action == guard::RuleAction::rate_limit))
        return true;
    return false;
  }
};

// A fleet member that lies: well-formed verdicts under its own name about a
// prefix that carries only benign traffic, published straight on the bus.
class Liar {
 public:
  explicit Liar(const testing::NatsServer& srv, const std::string& token_file) : work_(io_.get_executor()) {
    fleet::NatsLinkOptions o;
    o.servers = {srv.url()};
    o.name = "mallory";
    o.token_file = token_file;
    o.reconnect_wait = 100 * kNsPerMs;
    auto link = fleet::NatsLink::start(io_.get_executor(), std::move(o), [](fleet::Inbound) {});
    if (!link) {
      ADD_FAILURE() << link.error().message();
      return;
    }
    link_ = std::move(*link);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Liar() {
    link_.reset();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void lie(TimeNs wall_now) {
    if (!link_) return;
    fleet::Verdict v;
    v.node = "mallory";
    v.seq = ++seq_;
    v.wall_ns = wall_now;
    v.prefix = *Prefix::parse(kLiePrefix);
    v.kind = SymptomKind::flood;
    v.severity = Severity::critical;
    v.score = 1;
    v.evidence = {90000, 100, 900, "fabricated"};
    v.action = fleet::VerdictAction::block;
    v.ttl_ns = 600 * kNsPerSec;
    link_->publish(fleet::verdict_subject("reflex", v.node), fleet::encode(v));
    ++sent_;
  }
  int sent() const { return sent_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<fleet::NatsLink> link_;
  std::thread thread_;
  std::uint64_t seq_ = 1000;
  int sent_ = 0;
};

TimeNs wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Fleet : public ::testing::Test {
 protected:
  void SetUp() override {
    REFLEX_REQUIRE_BPF();
    if (auto why = testing::nats_server_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    root_ = "/tmp/" + sim::unique_name("rfxfl");
    fs::create_directories(root_);
    nats_.emplace(std::string("authorization { token: \"") + kNatsToken + "\" }\n");
    ASSERT_TRUE(nats_->error().empty()) << nats_->error();
    token_file_ = root_ + "/nats-token";
    std::ofstream(token_file_) << kNatsToken << "\n";
    ::chmod(token_file_.c_str(), 0600);
    for (const char* id : {"a", "b", "c"}) make_node(id);
  }

  void TearDown() override {
    for (auto& n : nodes_) {
      n.stop();
      guard::GuardOptions o;
      o.pin_root = n.pin_root;
      (void)guard::Guard::unload(n.key, o);
      std::error_code ec;
      fs::remove_all(n.pin_root, ec);
    }
    nodes_.clear();
    nats_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void make_node(const std::string& id) {
    Node n;
    n.id = id;
    n.dir = root_ + "/" + id;
    fs::create_directories(n.dir);
    n.pin_root = testing::test_pin_root() + "/" + sim::unique_name("rfxfl");
    fs::create_directories(n.pin_root);
    auto ns = sim::NetNs::create(sim::unique_name("rfxfn"));
    auto peer = sim::NetNs::create(sim::unique_name("rfxfp"));
    ASSERT_TRUE(ns && peer);
    n.ns.emplace(std::move(*ns));
    n.peer.emplace(std::move(*peer));
    n.iface = sim::unique_name("rfxf");
    const std::string peer_if = sim::unique_name("rfxg");
    ASSERT_TRUE(sim::make_veth(*n.ns, *n.peer, {n.iface, peer_if, "10.97.0.1/24", "10.97.0.2/24", {}}));
    n.key = n.iface + "@" + n.ns->name();
    n.port = free_loopback_port();
    auto mac = sim::interface_mac(*n.ns, n.iface);
    ASSERT_TRUE(mac) << mac.error().message();
    auto gen = sim::PacketGenerator::open(*n.peer, peer_if, *mac, "10.97.0.1", 9000, 9001);
    ASSERT_TRUE(gen) << gen.error().message();
    n.gen = std::move(*gen);
    std::ofstream(n.dir + "/reflexd.yaml") << "fleet:\n"
                                           << "  node_id: " << id << "\n"
                                           << "  servers: [" << nats_->url() << "]\n"
                                           << "  token_file: " << token_file_ << "\n"
                                           << "  reconnect_wait: 200ms\n";
    nodes_.push_back(std::move(n));
  }

  void start(Node& n) {
    n.pid = spawn_logged({REFLEXD_BIN, "--log-level", "info", "run", "--config", n.dir + "/reflexd.yaml", "--iface", n.key,
                   "--listen", "127.0.0.1:" + std::to_string(n.port), "--unix-socket", "off", "--store",
                   n.dir + "/store.db", "--token-file", n.dir + "/token", "--policies", REFLEX_SOURCE_DIR "/policies",
                   "--tick-ms", "100", "--pin-root", n.pin_root},
                  n.log());
  }

  // Ready, and its fleet link connected.
  void wait_joined(const Node& n) {
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      int status = 0;
      ASSERT_NE(waitpid(n.pid, &status, WNOHANG), n.pid) << n.id << ": reflexd exited: " << read_file(n.log());
      auto ready = sim::http_get("127.0.0.1", n.port, "/readyz", 500ms);
      auto st = n.get("/v1/status");
      if (ready && ready->status == 200 && st && st->is_object() && st->as_object().contains("fleet") &&
          st->at("fleet").at("link").at("state") == "connected")
        return;
      std::this_thread::sleep_for(50ms);  // polling a child's readiness: nothing to wait on
    }
    FAIL() << n.id << " did not join the fleet within 30 s: " << read_file(n.log());
  }

  std::string root_, token_file_;
  std::optional<testing::NatsServer> nats_;
  std::vector<Node> nodes_;
};

TEST_F(Fleet, AVerifiedVerdictWarnsTheNextEntriesAndALiarBlocksNothing) {
  // Benign clients at every node from the start; the flood walks a -> b -> c.
  // The walk's times leave room for a's ladder (flood-ladder: 10 s of
  // persistence, a 30 s shadow, then a rate limit) and for each verdict's
  // verification (2 s).
  const std::array<std::pair<TimeNs, TimeNs>, 3> visits{{{4 * kNsPerSec, 52 * kNsPerSec},
                                                         {52 * kNsPerSec, 64 * kNsPerSec},
                                                         {64 * kNsPerSec, 74 * kNsPerSec}}};
  std::vector<std::uint32_t> benign;
  for (int i = 1; i <= 8; ++i) benign.push_back(host_addr(("100.64.1." + std::to_string(i)).c_str()));
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    sim::Stream b;
    b.cls = 0;
    b.sources = benign;
    // 100 pps per client: slow enough that a client's burstiest tick (the
    // generator sends in batches; one read 3.7x its rate) stays far under a
    // third of the flood's, so the flood's score holds past flood-ladder's
    // bar on every tick and its `for` never restarts.
    b.pps = 800;
    b.from_ns = 0;
    b.until_ns = 80 * kNsPerSec;
    n.gen->add(b);
    sim::Stream f;
    f.cls = 1;
    f.sources = {host_addr(kFloodSource)};
    f.pps = 3000;  // 30x a client, under the critical 5000 pps: a marginal flood
    f.from_ns = visits[i].first;
    f.until_ns = visits[i].second;
    n.flood_stream = n.gen->add(f);
  }
  for (auto& n : nodes_) start(n);
  for (auto& n : nodes_) wait_joined(n);
  Liar liar(*nats_, token_file_);

  const auto t0 = Clock::now();
  for (auto& n : nodes_) n.gen->start(t0);
  std::array<std::optional<double>, 3> first_drop_s;  // since the flood reached the node
  std::array<bool, 3> lie_dropped{};
  auto next_lie = t0 + 2s;
  while (Clock::now() < t0 + 76s) {
    const double t = std::chrono::duration<double>(Clock::now() - t0).count();
    if (Clock::now() >= next_lie) {
      liar.lie(wall_ns());
      next_lie += 3s;
    }
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto& n = nodes_[i];
      if (n.drops(kLiePrefix) || n.drops("100.64.1.3")) lie_dropped[i] = true;
      const double onset = static_cast<double>(visits[i].first) / kNsPerSec;
      if (!first_drop_s[i] && t >= onset - 0.05 && n.drops(kFloodSource)) first_drop_s[i] = std::max(0.0, t - onset);
    }
    std::this_thread::sleep_for(50ms);  // sampling the kernel's rule tables: they have no change event
  }
  for (auto& n : nodes_) n.gen->stop();

  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const auto& n = nodes_[i];
    SCOPED_TRACE(n.id);
    EXPECT_GT(n.gen->sent(n.flood_stream), 0u);
    ASSERT_TRUE(first_drop_s[i]) << n.id << " never dropped the flood: " << read_file(n.log()) << "\nverdicts: "
                                 << boost::json::serialize(n.get("/v1/history?kind=verdict").value_or(nullptr))
                                 << "\nactions: " << boost::json::serialize(n.get("/v1/actions").value_or(nullptr))
                                 << "\nsymptoms: " << boost::json::serialize(n.get("/v1/history?kind=symptom").value_or(nullptr))
                                 << "\na's verdicts: "
                                 << boost::json::serialize(nodes_[0].get("/v1/history?kind=verdict").value_or(nullptr));
    std::printf("node %s: onset to drop %.2f s\n", n.id.c_str(), *first_drop_s[i]);
    EXPECT_FALSE(lie_dropped[i]) << n.id << " dropped the benign prefix a lone liar named";
    const auto m = n.metrics();
    EXPECT_NE(m.find("reflex_fleet_verdicts_received_total"), std::string::npos);
  }
  // a climbed its ladder alone; b had a's verdict (one peer, and its own
  // sight of the flood: blocked at once); c had two peers (blocked ahead).
  EXPECT_LT(*first_drop_s[1], *first_drop_s[0]);
  EXPECT_LT(*first_drop_s[2], *first_drop_s[0]);
  EXPECT_LE(*first_drop_s[2], 0.2) << "c should hold the block before the flood reaches it";
  EXPECT_GT(liar.sent(), 10);

  // Knowledge holds the verdicts: sent by a and b, received and acted on by c.
  auto sent_a = nodes_[0].get("/v1/history?kind=verdict");
  ASSERT_TRUE(sent_a);
  EXPECT_NE(boost::json::serialize(*sent_a).find("\"sent\""), std::string::npos) << *sent_a;
  auto got_c = nodes_[2].get("/v1/history?kind=verdict");
  ASSERT_TRUE(got_c);
  const auto text_c = boost::json::serialize(*got_c);
  EXPECT_NE(text_c.find("acted_on"), std::string::npos) << text_c;
  EXPECT_NE(text_c.find("mallory"), std::string::npos) << "the liar's verdicts were not recorded";
}

}  // namespace
}  // namespace reflex
