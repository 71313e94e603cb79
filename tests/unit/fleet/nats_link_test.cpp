// NatsLink against a real nats-server on loopback: connect, publish and
// receive; token and nkey authentication with per-node publish permissions;
// TLS; a lost server and its return; no server at all. The io_context the
// link posts to is the test's own "loop", so the tests also show the loop
// keeps running (timers fire) while the link is down.

#include "fleet/nats_link.h"
#include "fleet/nkey.h"
#include "fleet/verdict.h"
#include "tests/support/nats_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>

namespace reflex::fleet {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using testing::NatsServer;

#define REQUIRE_NATS()                                                   \
  do {                                                                   \
    if (auto why = ::reflex::testing::nats_server_unavailable_reason(); \
        !why.empty())                                                    \
      GTEST_SKIP() << why;                                               \
  } while (0)

// Runs the loop until pred holds or the deadline passes.
bool run_until(asio::io_context& io, const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_for(5ms);
    io.restart();
  }
  return true;
}

std::string write_secret(const std::string& dir, const std::string& name, const std::string& text, mode_t mode) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text << "\n";
  chmod(path.c_str(), mode);
  return path;
}

struct Peer {
  std::unique_ptr<NatsLink> link;
  std::vector<Inbound> got;
  std::vector<LinkStatus> states;
  LinkState state() const { return states.empty() ? LinkState::connecting : states.back().state; }
};

std::unique_ptr<Peer> connect(asio::io_context& io, NatsLinkOptions o) {
  auto p = std::make_unique<Peer>();
  auto* raw = p.get();
  auto link = NatsLink::start(
      io.get_executor(), std::move(o), [raw](Inbound m) { raw->got.push_back(std::move(m)); },
      [raw](const LinkStatus& s) { raw->states.push_back(s); });
  if (!link) {
    ADD_FAILURE() << link.error().message();
    return nullptr;
  }
  p->link = std::move(*link);
  return p;
}

NatsLinkOptions options(const NatsServer& srv, const std::string& name) {
  NatsLinkOptions o;
  o.servers = {srv.url()};
  o.name = name;
  o.reconnect_wait = 100 * kNsPerMs;
  o.connect_timeout = 1 * kNsPerSec;
  o.ping_interval = 1 * kNsPerSec;
  o.subscribe = verdict_wildcard("reflex");
  return o;
}

TEST(NatsLink, PublishesAndReceivesThroughARealServer) {
  REQUIRE_NATS();
  NatsServer srv;
  ASSERT_TRUE(srv.error().empty()) << srv.error();
  asio::io_context io;
  auto a = connect(io, options(srv, "a"));
  auto b = connect(io, options(srv, "b"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(run_until(io, [&] { return a->state() == LinkState::connected && b->state() == LinkState::connected; }));
  EXPECT_EQ(a->link->status().server, srv.url());
  // The subscription is in place once the server answered a round trip; keep
  // publishing until one arrives (the first may race the SUB).
  const std::string subj = verdict_subject("reflex", "b");
  ASSERT_TRUE(run_until(io, [&] {
    if (a->got.empty()) b->link->publish(subj, "{\"hello\":1}");
    return !a->got.empty();
  }));
  EXPECT_EQ(a->got[0].subject, subj);
  EXPECT_EQ(a->got[0].payload, "{\"hello\":1}");
  EXPECT_GE(b->link->status().published, 1u);
  EXPECT_GE(a->link->status().received, 1u);
}

TEST(NatsLink, AuthenticatesWithATokenFromAPrivateFileOnly) {
  REQUIRE_NATS();
  NatsServer srv("authorization { token: \"s3cret-t0ken\" }");
  ASSERT_TRUE(srv.error().empty()) << srv.error();
  asio::io_context io;
  auto o = options(srv, "a");
  o.token_file = write_secret(srv.dir(), "token", "s3cret-t0ken", 0600);
  auto a = connect(io, o);
  ASSERT_TRUE(a);
  ASSERT_TRUE(run_until(io, [&] { return a->state() == LinkState::connected; }))
      << a->link->status().reason << "\n" << srv.log();

  auto wrong = options(srv, "w");
  wrong.token_file = write_secret(srv.dir(), "wrong", "guess", 0600);
  auto w = connect(io, wrong);
  ASSERT_TRUE(w);
  ASSERT_TRUE(run_until(io, [&] {
    auto st = w->link->status();
    return st.state == LinkState::reconnecting && st.reason.find("uthoriz") != std::string::npos;
  })) << w->link->status().reason;
  EXPECT_TRUE(w->link->status().degraded());

  auto loose = options(srv, "l");
  loose.token_file = write_secret(srv.dir(), "loose", "s3cret-t0ken", 0644);
  auto r = NatsLink::start(io.get_executor(), loose, [](Inbound) {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("mode 0644"), std::string::npos) << r.error().what;
  EXPECT_NE(r.error().hint.find("chmod 600"), std::string::npos);
}

TEST(NatsLink, NkeyUsersMayPublishOnlyAsThemselves) {
  REQUIRE_NATS();
  std::array<std::uint8_t, 32> ka{}, kb{};
  for (int i = 0; i < 32; ++i) {
    ka[i] = static_cast<std::uint8_t>(rand());
    kb[i] = static_cast<std::uint8_t>(rand());
  }
  const auto seed_a = nkey_user_seed(ka), seed_b = nkey_user_seed(kb);
  const auto pub_a = nkey_user_public_key(seed_a).value(), pub_b = nkey_user_public_key(seed_b).value();
  // What docs/fleet.md tells operators to write: each node publishes on its
  // own subject only, and reads everyone's.
  NatsServer srv("authorization { users = [\n"
                 "  {nkey: " + pub_a + ", permissions: {publish: \"reflex.v1.verdict.a\", subscribe: \"reflex.v1.verdict.*\"}}\n"
                 "  {nkey: " + pub_b + ", permissions: {publish: \"reflex.v1.verdict.b\", subscribe: \"reflex.v1.verdict.*\"}}\n"
                 "] }");
  ASSERT_TRUE(srv.error().empty()) << srv.error();
  asio::io_context io;
  auto oa = options(srv, "a");
  oa.nkey_seed_file = write_secret(srv.dir(), "a.nk", seed_a, 0600);
  auto ob = options(srv, "b");
  ob.nkey_seed_file = write_secret(srv.dir(), "b.nk", seed_b, 0600);
  auto a = connect(io, oa);
  auto b = connect(io, ob);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(run_until(io, [&] { return a->state() == LinkState::connected && b->state() == LinkState::connected; }))
      << a->link->status().reason << " / " << b->link->status().reason << "\n" << srv.log();
  // b pretends to be c, then speaks as itself; only the latter gets through.
  ASSERT_TRUE(run_until(io, [&] {
    if (a->got.empty()) {
      b->link->publish(verdict_subject("reflex", "c"), "forged");
      b->link->publish(verdict_subject("reflex", "b"), "honest");
    }
    return !a->got.empty();
  }));
  io.run_for(200ms);  // anything else in flight lands too
  for (const auto& m : a->got) {
    EXPECT_EQ(m.subject, verdict_subject("reflex", "b"));
    EXPECT_EQ(m.payload, "honest");
  }
}

TEST(NatsLink, ALostServerIsADegradedStateTheLoopRunsThroughAndRecoversFrom) {
  REQUIRE_NATS();
  NatsServer srv;
  ASSERT_TRUE(srv.error().empty()) << srv.error();
  asio::io_context io;
  auto a = connect(io, options(srv, "a"));
  auto b = connect(io, options(srv, "b"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(run_until(io, [&] { return a->state() == LinkState::connected && b->state() == LinkState::connected; }));

  // The loop's timer: it must keep firing every 10 ms while the server is gone.
  int ticks = 0;
  asio::steady_timer timer(io);
  std::function<void()> arm = [&] {
    timer.expires_after(10ms);
    timer.async_wait([&](auto ec) {
      if (ec) return;
      ++ticks;
      arm();
    });
  };
  arm();
  srv.stop();
  ASSERT_TRUE(run_until(io, [&] { return a->state() == LinkState::reconnecting && b->state() == LinkState::reconnecting; }));
  EXPECT_NE(b->link->status().reason.find("reconnecting"), std::string::npos) << b->link->status().reason;
  const int before = ticks;
  // Published while down: kept in libnats's reconnect buffer.
  b->link->publish(verdict_subject("reflex", "b"), "while-down");
  const auto t0 = std::chrono::steady_clock::now();
  io.run_for(300ms);
  io.restart();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "publish must not block";
  EXPECT_GE(ticks - before, 10) << "the loop stalled while the link was down";

  ASSERT_TRUE(srv.restart()) << srv.error();
  ASSERT_TRUE(run_until(io, [&] { return a->state() == LinkState::connected && b->state() == LinkState::connected; }))
      << a->link->status().reason;
  EXPECT_EQ(a->link->status().reconnects, 1u);
  EXPECT_EQ(a->link->status().disconnects, 1u);
  // libnats sends the reconnect buffer after re-subscribing, so b's own
  // subscription sees it (a's may come back a moment too late: core NATS
  // keeps nothing for a subscriber that is not there).
  ASSERT_TRUE(run_until(io, [&] { return !b->got.empty(); })) << "the verdict published while down never went out";
  EXPECT_EQ(b->got[0].payload, "while-down");
  timer.cancel();
}

TEST(NatsLink, NoServerAtAllNeitherBlocksStartNorPublish) {
  REQUIRE_NATS();
  asio::io_context io;
  NatsLinkOptions o;
  o.servers = {"nats://127.0.0.1:1"};  // nothing listens on port 1
  o.reconnect_wait = 100 * kNsPerMs;
  o.send_queue = 4;
  o.subscribe = verdict_wildcard("reflex");
  const auto t0 = std::chrono::steady_clock::now();
  auto a = connect(io, o);
  ASSERT_TRUE(a);
  for (int i = 0; i < 100; ++i) a->link->publish("reflex.v1.verdict.a", "x");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
  ASSERT_TRUE(run_until(io, [&] { return !a->states.empty(); }));
  auto st = a->link->status();
  EXPECT_TRUE(st.degraded());
  EXPECT_FALSE(st.reason.empty());
  EXPECT_GT(st.publish_dropped, 0u) << "a full send queue drops (and counts) the oldest";
}

// A CA and a server certificate for 127.0.0.1, made with openssl(1).
bool make_certs(const std::string& dir) {
  const std::string cmd =
      "cd " + dir +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem"
      " -days 1 -subj /CN=rfx-test-ca >/dev/null 2>&1"
      " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr"
      " -subj /CN=nats.test >/dev/null 2>&1"
      " && printf 'subjectAltName=DNS:nats.test,IP:127.0.0.1' > ext.cnf"
      " && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1"
      " -extfile ext.cnf >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

TEST(NatsLink, SpeaksTlsToAServerItsCaVouchesFor) {
  REQUIRE_NATS();
  char tmpl[] = "/tmp/rfx-tls-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  const std::string dir = tmpl;
  ASSERT_TRUE(make_certs(dir)) << "openssl failed";
  NatsServer srv("tls { cert_file: \"" + dir + "/srv.pem\", key_file: \"" + dir + "/srv.key\" }");
  ASSERT_TRUE(srv.error().empty()) << srv.error();
  asio::io_context io;
  auto o = options(srv, "a");
  o.servers = {"tls://127.0.0.1:" + std::to_string(srv.port())};
  o.tls.enabled = true;
  o.tls.ca_file = dir + "/ca.pem";
  o.tls.server_name = "nats.test";
  auto a = connect(io, o);
  ASSERT_TRUE(a);
  ASSERT_TRUE(run_until(io, [&] { return a->state() == LinkState::connected; })) << a->link->status().reason;

  // Without the CA the server's certificate is not trusted: refused, with the reason.
  auto untrusting = o;
  untrusting.tls.ca_file.clear();
  auto u = connect(io, untrusting);
  ASSERT_TRUE(u);
  ASSERT_TRUE(run_until(io, [&] { return u->link->status().degraded() && !u->link->status().reason.empty() &&
                                         u->link->status().reason != a->link->status().reason; }));
  io.run_for(500ms);
  EXPECT_NE(u->link->status().state, LinkState::connected);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace reflex::fleet
