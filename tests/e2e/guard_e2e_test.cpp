// The guard on a real veth pair with real traffic, driven by reflex-guard.
#include "tests/e2e/guard_fixture.h"

#include "bench/guard/rule_gen.h"
#include "guard/rule.h"
#include "xdp_baseline.skel.h"

#include <boost/json.hpp>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::testing;

namespace {

// The guard on `iface` in namespace b (its pin key is IFACE@b).
boost::json::object status_of(GuardE2E* t, const std::string& iface) {
  auto r = guard_cli({"status", "--json", "--iface", t->key_b(iface)});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto v = boost::json::parse(r.out);
  return v.as_object()["interfaces"].as_array().at(0).as_object();
}

std::uint32_t xdp_prog_on(const sim::NetNs& ns, const std::string& iface, std::uint32_t flags) {
  std::uint32_t id = 0;
  EXPECT_TRUE(ns.run([&] {
    unsigned ifindex = if_nametoindex(iface.c_str());
    if (ifindex) bpf_xdp_query_id(static_cast<int>(ifindex), static_cast<int>(flags), &id);
  }));
  return id;
}

class GuardTraffic : public GuardE2E {};

TEST_F(GuardTraffic, UdpAndTcpPassAreBlockedAndPassAgain) {
  auto load = cli_b({"load", if_b_});
  ASSERT_EQ(load.exit_code, 0) << load.out;
  EXPECT_NE(load.out.find("native mode"), std::string::npos) << load.out;  // veth has native XDP

  EXPECT_EQ(udp_round(kA, 50), 50u);
  EXPECT_EQ(udp_round(kA6, 50), 50u);
  EXPECT_TRUE(sim::tcp_exchange(*a_, kA, *b_, kB, 7000, 256 * 1024, 3s));
  EXPECT_TRUE(sim::tcp_exchange(*a_, kA6, *b_, kB6, 7001, 64 * 1024, 3s));

  auto blk = guard_cli({"block", "10.77.0.0/29"});
  ASSERT_EQ(blk.exit_code, 0) << blk.out;
  auto blk6 = guard_cli({"block", "fd00:77::/120"});
  ASSERT_EQ(blk6.exit_code, 0) << blk6.out;
  auto before = counters();
  EXPECT_EQ(udp_round(kA, 50), 0u);
  EXPECT_EQ(udp_round(kA6, 50), 0u);
  auto after = counters();
  EXPECT_GE(after[GUARD_R_DROP_RULE].packets - before[GUARD_R_DROP_RULE].packets, 100u);
  auto tcp = sim::tcp_exchange(*a_, kA, *b_, kB, 7002, 1024, 1s);
  EXPECT_FALSE(tcp) << "TCP got through a block";
  // A source outside the blocked /29 still gets through.
  EXPECT_EQ(udp_round(kA11, 20), 20u);

  ASSERT_EQ(guard_cli({"unblock", "10.77.0.0/29"}).exit_code, 0);
  ASSERT_EQ(guard_cli({"unblock", "fd00:77::/120"}).exit_code, 0);
  EXPECT_EQ(udp_round(kA, 50), 50u);
  EXPECT_EQ(udp_round(kA6, 50), 50u);
  EXPECT_TRUE(sim::tcp_exchange(*a_, kA, *b_, kB, 7003, 256 * 1024, 3s));
}

TEST_F(GuardTraffic, KeepsDroppingAfterEveryProcessExitedAndIsReadopted) {
  ASSERT_EQ(cli_b({"load", if_b_}).exit_code, 0);
  ASSERT_EQ(guard_cli({"block", kA12}).exit_code, 0);
  // Both processes are gone (guard_cli waits for them); only pins remain.
  EXPECT_EQ(udp_round(kA12, 40), 0u);
  EXPECT_EQ(udp_round(kA11, 40), 40u);

  // A new process adopts the pinned guard: rules, mode and counters are there.
  auto st = status_of(this, if_b_);
  EXPECT_EQ(st["mode"].as_string(), "native");
  EXPECT_TRUE(st["attached"].as_bool());
  EXPECT_EQ(st["rules"].as_int64(), 1);
  EXPECT_GE(st["counters"].as_object()["drop"].as_object()["packets"].as_int64(), 40);
  auto rules = guard_cli({"rules", "--json"});
  ASSERT_EQ(rules.exit_code, 0);
  auto arr = boost::json::parse(rules.out).as_array();
  ASSERT_EQ(arr.size(), 1u);
  auto r0 = arr[0].as_object()["rules"].as_array().at(0).as_object();
  EXPECT_EQ(r0["prefix"].as_string(), kA12);
  EXPECT_GE(r0["packets"].as_int64(), 40);

  // Unload removes the program and the pins; traffic flows.
  ASSERT_EQ(cli_b({"unload", if_b_}).exit_code, 0);
  EXPECT_EQ(xdp_prog_on(*b_, if_b_, 0), 0u);
  EXPECT_FALSE(std::filesystem::exists(test_pin_root() + "/" + key_b(if_b_)));
  // No guard to count for us now: everything must simply arrive.
  auto rx = sim::UdpPeer::open(*b_, kB, 9400);
  auto tx = sim::UdpPeer::open(*a_, kA12, 0);
  ASSERT_TRUE(rx && tx);
  ASSERT_TRUE(tx->send_many(kB, 9400, 0, 20));
  EXPECT_EQ(rx->receive(20, 2s), 20u);
}

TEST_F(GuardTraffic, TtlExpiresInTheDatapathWithoutAnyProcess) {
  ASSERT_EQ(cli_b({"load", if_b_}).exit_code, 0);
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(guard_cli({"block", kA13, "--ttl", "2"}).exit_code, 0);
  EXPECT_EQ(udp_round(kA13, 10), 0u);
  // Nothing runs now but the kernel. Probe until the block lapses.
  std::size_t got = 0;
  while (got == 0 && std::chrono::steady_clock::now() - start < 6s) got = udp_round(kA13, 5);
  auto lapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got, 5u);
  EXPECT_GE(lapsed, 2s);
  // The rule is still listed, marked expired, until the next swap collects it.
  auto rules = guard_cli({"rules"});
  EXPECT_NE(rules.out.find("expired"), std::string::npos) << rules.out;
}

TEST_F(GuardTraffic, RateLimitHoldsWithinTenPercent) {
  ASSERT_EQ(cli_b({"load", if_b_}).exit_code, 0);
  constexpr int kPps = 2000, kBurst = 100;
  ASSERT_EQ(guard_cli({"limit", kA11, "--pps", std::to_string(kPps), "--burst", std::to_string(kBurst)}).exit_code, 0);
  auto rx = sim::UdpPeer::open(*b_, kB, 9100);
  ASSERT_TRUE(rx);
  auto tx = sim::UdpPeer::open(*a_, kA11, 0);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(tx->send_seq(kB, 9100, 0));  // resolve ARP outside the measurement
  rx->receive(1, 1s);

  auto before = counters();
  std::atomic<std::size_t> received{0};
  std::atomic<bool> sending{true};
  std::thread receiver([&] {
    while (sending || rx->receive(1, 200ms) > 0) received += rx->receive(1'000'000, 50ms);
  });
  // Offer 5x the limit for 3 s, paced in 1 ms slices.
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  for (int slice = 0; slice < 3000; ++slice) {
    auto n = tx->send_many(kB, 9100, static_cast<std::uint32_t>(sent), 10);
    ASSERT_TRUE(n);
    sent += *n;
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(slice + 1));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Wait for this source's packets, not for any packets: the namespace sends
  // its own (IPv6 neighbour discovery) now and then.
  auto limit_verdicts = [&](const guard::VerdictCounters& v) {
    return v[GUARD_R_PASS_RATE_OK].packets + v[GUARD_R_DROP_RATE].packets -
           before[GUARD_R_PASS_RATE_OK].packets - before[GUARD_R_DROP_RATE].packets;
  };
  auto after = wait_counters([&](const auto& v) { return limit_verdicts(v) >= sent; }, "every limited packet judged");
  sending = false;
  receiver.join();

  const double passed = static_cast<double>(after[GUARD_R_PASS_RATE_OK].packets - before[GUARD_R_PASS_RATE_OK].packets);
  const double limited = static_cast<double>(after[GUARD_R_DROP_RATE].packets - before[GUARD_R_DROP_RATE].packets);
  const double rate = (passed - kBurst) / secs;
  RecordProperty("passed_pps", std::to_string(rate));
  std::printf("offered %.0f pps, passed %.0f pps (limit %d), rate-limited %.0f\n", sent / secs, rate, kPps, limited);
  EXPECT_NEAR(rate, kPps, kPps * 0.10);
  EXPECT_GT(limited, sent * 0.5);
  EXPECT_EQ(passed + limited, static_cast<double>(sent));
  EXPECT_NEAR(static_cast<double>(received.load()), passed, passed * 0.01);
}

// Packets the sending veth dropped because its peer's queue was full: they
// never reached the guard, so they are not the guard's to answer for.
std::uint64_t veth_tx_dropped(const sim::NetNs& ns, const std::string& dev) {
  auto out = sim::run_command({"ip", "-n", ns.name(), "-j", "-s", "link", "show", "dev", dev});
  EXPECT_TRUE(out);
  if (!out) return 0;
  auto v = boost::json::parse(*out);
  return v.as_array().at(0).as_object().at("stats64").as_object().at("tx").as_object().at("dropped").to_number<std::uint64_t>();
}

TEST_F(GuardTraffic, AtomicReplaceOf100kRulesUnderTraffic) {
  ASSERT_EQ(cli_b({"load", if_b_}).exit_code, 0);
  // Two rule sets that agree on the four test sources but differ in shape
  // (one blocks a /31, the other two /32s) and in 100k other rules. The
  // allowed sources have the same rules in both, so their per-rule counters
  // carry over every swap and count every packet the guard let through.
  auto write = [&](const std::string& path, std::uint64_t seed, bool shape_a) {
    std::ofstream f(path);
    f << (shape_a ? "10.77.0.12/31 drop\n" : "10.77.0.12 drop\n10.77.0.13 drop\n");
    f << "10.77.0.1 allow\n10.77.0.11 shadow\n";
    for (const auto& r : bench::make_rules(bench::RuleShape::v4_prefix, 100'000, *Prefix::parse("10.77.0.0/16"), seed))
      f << guard::format_rule(r, 0) << "\n";
  };
  const std::string file_a = "/tmp/" + if_b_ + "-a.rules";
  const std::string file_b = "/tmp/" + if_b_ + "-b.rules";
  write(file_a, 1, true);
  write(file_b, 2, false);
  struct Cleanup {
    std::vector<std::string> files;
    ~Cleanup() {
      for (auto& f : files) std::remove(f.c_str());
    }
  } cleanup{{file_a, file_b}};
  auto first = guard_cli({"replace", "--file", file_a});
  ASSERT_EQ(first.exit_code, 0) << first.out;

  auto rx = sim::UdpPeer::open(*b_, kB, 9200);
  ASSERT_TRUE(rx);
  const std::vector<std::string> allowed{kA, kA11}, blocked{kA12, kA13};
  std::vector<sim::UdpPeer> tx;
  for (const auto& s : {kA, kA11, kA12, kA13}) {
    auto p = sim::UdpPeer::open(*a_, s, 0);
    ASSERT_TRUE(p);
    tx.push_back(std::move(*p));
  }
  ASSERT_TRUE(tx[0].send_seq(kB, 9200, 0));  // ARP
  rx->receive(1, 1s);

  auto g = open_guard();
  auto passed_by_rule = [&](const std::string& src) -> std::uint64_t {
    auto stats = g.rule_stats();
    EXPECT_TRUE(stats);
    for (const auto& st : *stats)
      if (st.rule.prefix.to_string() == src) return st.packets;
    ADD_FAILURE() << "no rule for " << src;
    return 0;
  };
  // Baselines before the sender starts: every packet it sends is accounted.
  const auto before = counters();
  const std::uint64_t passed_before = passed_by_rule(kA) + passed_by_rule(kA11);
  const std::uint64_t queue_drops_before = veth_tx_dropped(*a_, if_a_);
  std::map<std::string, std::size_t> got;
  std::mutex mu;
  std::atomic<bool> run{true};
  std::thread receiver([&] {
    while (run || rx->receive(1, 300ms) > 0)
      rx->receive(1'000'000, 50ms, [&](std::uint32_t, const std::string& from) {
        std::lock_guard lk(mu);
        ++got[from];
      });
  });
  std::size_t sent_each = 0;
  std::thread sender([&] {
    while (run) {
      for (auto& p : tx) ASSERT_TRUE(p.send_seq(kB, 9200, static_cast<std::uint32_t>(sent_each)));
      ++sent_each;
      if (sent_each % 20 == 0) std::this_thread::sleep_for(1ms);  // pacing, about 10k pps in all
    }
  });
  int swaps = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = guard_cli({"replace", "--file", i % 2 ? file_a : file_b});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    swaps += r.exit_code == 0;
  }
  run = false;
  sender.join();
  const std::uint64_t sent = 4 * sent_each;

  // Every packet sent is either judged by the guard (passed by an allowed
  // source's rule, or dropped by a block) or was dropped by the sending veth
  // before the guard saw it. Wait until that adds up, then check it exactly.
  std::uint64_t passed = 0, dropped = 0, queue_drops = 0;
  auto accounted = [&](const guard::VerdictCounters& v) {
    passed = passed_by_rule(kA) + passed_by_rule(kA11) - passed_before;
    dropped = v[GUARD_R_DROP_RULE].packets - before[GUARD_R_DROP_RULE].packets;
    queue_drops = veth_tx_dropped(*a_, if_a_) - queue_drops_before;
    return passed + dropped + queue_drops >= sent;
  };
  wait_counters(accounted, "every packet sent judged by the guard or dropped by the veth queue");
  receiver.join();
  EXPECT_EQ(swaps, 6);
  ASSERT_GT(sent_each, 1000u) << "too little traffic to mean anything";
  EXPECT_EQ(passed + dropped + queue_drops, sent) << "packets counted twice or lost without a count";
  for (const auto& s : blocked) EXPECT_EQ(got[s], 0u) << "blocked source " << s << " got through";
  // Nothing the guard passed went missing, and it dropped nothing allowed:
  // whatever did not arrive was lost in the veth queue, never judged.
  EXPECT_EQ(got[kA] + got[kA11], passed);
  EXPECT_LE(queue_drops, sent / 100) << "the veth queue dropped too much for the test to mean anything";
  ASSERT_LE(dropped, 2 * sent_each) << "the guard dropped more than the blocked sources sent";
  const std::uint64_t blocked_lost_in_queue = 2 * sent_each - dropped;
  EXPECT_EQ(got[kA] + got[kA11] + (queue_drops - blocked_lost_in_queue), 2 * sent_each)
      << "allowed packets were lost by the guard";
  std::printf("%zu packets per source across %d swaps of 100k rules (%llu lost in the veth queue)\n", sent_each,
              swaps, static_cast<unsigned long long>(queue_drops));
}

// An ifb device in b (no native XDP), whose guard is unloaded when it goes.
class GuardLadder : public GuardE2E {
 protected:
  void SetUp() override {
    GuardE2E::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ifb_ = sim::unique_name("rfxifb");
    ASSERT_TRUE(b_->ip({"link", "add", ifb_, "type", "ifb"}));
    ASSERT_TRUE(b_->ip({"link", "set", ifb_, "up"}));
  }
  void TearDown() override {
    if (!ifb_.empty()) (void)guard::Guard::unload(key_b(ifb_), guard::GuardOptions{test_pin_root()});
    GuardE2E::TearDown();
  }
  std::string ifb_;
};

TEST_F(GuardLadder, StepsDownToGenericWhenNativeIsRefused) {
  const std::string& ifb = ifb_;

  auto native = cli_b({"load", ifb, "--mode", "native"});
  EXPECT_NE(native.exit_code, 0);
  EXPECT_NE(native.out.find("no native XDP"), std::string::npos) << native.out;
  EXPECT_FALSE(std::filesystem::exists(test_pin_root() + "/" + key_b(ifb))) << "a failed load left pins behind";

  auto autom = cli_b({"-v", "warn", "load", ifb, "--mode", "auto"});
  ASSERT_EQ(autom.exit_code, 0) << autom.out;
  EXPECT_NE(autom.out.find("generic mode"), std::string::npos) << autom.out;
  EXPECT_NE(autom.out.find("native: "), std::string::npos) << "the step down is reported with its reason: " << autom.out;
  EXPECT_EQ(status_of(this, ifb)["mode"].as_string(), "generic");
  EXPECT_NE(xdp_prog_on(*b_, ifb, XDP_FLAGS_SKB_MODE), 0u);
}

TEST_F(GuardLadder, FallsToTcWhenXdpIsTakenAndLeavesTheOtherProgramAlone) {
  const std::string& ifb = ifb_;
  // Somebody else's XDP program, attached the old way (netlink, no link).
  struct D {
    void operator()(xdp_baseline* s) const { xdp_baseline__destroy(s); }
  };
  std::unique_ptr<xdp_baseline, D> other(xdp_baseline__open_and_load());
  ASSERT_TRUE(other);
  int other_fd = bpf_program__fd(other->progs.xdp_pass_all);
  ASSERT_TRUE(b_->run([&] {
    ASSERT_EQ(bpf_xdp_attach(static_cast<int>(if_nametoindex(ifb.c_str())), other_fd, XDP_FLAGS_SKB_MODE, nullptr), 0);
  }));
  std::uint32_t other_id = xdp_prog_on(*b_, ifb, XDP_FLAGS_SKB_MODE);
  ASSERT_NE(other_id, 0u);

  auto r = cli_b({"load", ifb});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("tc mode"), std::string::npos) << r.out;
  EXPECT_EQ(status_of(this, ifb)["mode"].as_string(), "tc");

  ASSERT_EQ(cli_b({"unload", ifb}).exit_code, 0);
  EXPECT_EQ(xdp_prog_on(*b_, ifb, XDP_FLAGS_SKB_MODE), other_id) << "unload touched somebody else's program";
}

TEST_F(GuardLadder, ModeChangesKeepTheRulesAndNeverLeaveAGap) {
  ASSERT_EQ(cli_b({"load", if_b_}).exit_code, 0);
  ASSERT_EQ(guard_cli({"block", kA12}).exit_code, 0);
  for (const char* mode : {"generic", "tc", "native"}) {
    auto r = cli_b({"load", if_b_, "--mode", mode});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(status_of(this, if_b_)["mode"].as_string(), mode);
    EXPECT_EQ(udp_round(kA12, 20), 0u) << "in " << mode << " mode";
    EXPECT_EQ(udp_round(kA11, 20), 20u) << "in " << mode << " mode";
  }
  EXPECT_EQ(status_of(this, if_b_)["rules"].as_int64(), 1);
}

class GuardBadInput : public GuardE2E {};

TEST_F(GuardBadInput, OneClearLineAndNothingChanges) {
  auto missing = guard_cli({"load", "rfxnosuchif0"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.out.find("interface rfxnosuchif0 not found"), std::string::npos) << missing.out;

  auto none = guard_cli({"block", "192.0.2.1"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.out.find("no interface is guarded"), std::string::npos) << none.out;

  ASSERT_EQ(cli_b({"load", if_b_}).exit_code, 0);
  ASSERT_EQ(guard_cli({"block", "192.0.2.0/24"}).exit_code, 0);
  auto version = status_of(this, if_b_)["version"].as_int64();

  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  const std::string badfile = "/tmp/" + if_b_ + "-bad.rules";
  {
    std::ofstream(badfile) << "10.0.0.0/8 drop\n10.0.0.0/33 drop\n";
  }
  const std::string bigfile = "/tmp/" + if_b_ + "-big.rules";
  {
    std::ofstream f(bigfile);
    for (int i = 0; i < 20; ++i) f << "10.1.0." << i << " drop\n";
  }
  for (const Bad& b : std::vector<Bad>{
           {{"block", "300.1.2.3"}, "invalid prefix '300.1.2.3'"},
           {{"block", "10.0.0.0/40"}, "exceeds 32"},
           {{"limit", "10.0.0.0/8", "--pps", "0"}, "limit needs a rate"},
           {{"block", "10.0.0.0/8", "--ttl", "soon"}, "invalid duration"},
           {{"block", "10.0.0.0/8", "--iface", "rfxnope0"}, "no reflex guard on rfxnope0"},
           {{"unblock", "198.51.100.0/24"}, "no rule for 198.51.100.0/24"},
           {{"replace", "--file", badfile}, badfile + ":2: invalid prefix"},
           {{"replace", "--file", "/nonexistent/rules"}, "cannot read rules file /nonexistent/rules"},
           {{"--max-rules", "10", "replace", "--file", bigfile}, "20 rules, more than the guard's limit of 10"},
           {{"load", if_b_, "--mode", "sideways"}, "unknown mode 'sideways'"},
       }) {
    auto r = guard_cli(b.args);
    EXPECT_NE(r.exit_code, 0) << b.args[0];
    EXPECT_NE(r.out.find(b.says), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line: " << r.out;
  }
  std::remove(badfile.c_str());
  std::remove(bigfile.c_str());
  EXPECT_EQ(status_of(this, if_b_)["version"].as_int64(), version) << "a refused command changed the rule set";
  auto rules = guard_cli({"rules"});
  EXPECT_NE(rules.out.find("192.0.2.0/24 drop"), std::string::npos) << rules.out;

  // bpffs missing where pins should go.
  auto nofs = sim::run_command({REFLEX_GUARD_BIN, "--pin-root", "/tmp/reflex-nobpffs/reflex", "status"});
  ASSERT_FALSE(nofs);
  EXPECT_NE(nofs.error().what.find("bpffs is not mounted at /tmp/reflex-nobpffs"), std::string::npos);
  // Under `ip netns exec` (a fresh /sys without bpffs) the hint points at --netns.
  auto hidden = sim::run_command({"ip", "netns", "exec", b_->name(), REFLEX_GUARD_BIN, "status"});
  ASSERT_FALSE(hidden);
  EXPECT_NE(hidden.error().what.find("run `reflex-guard --netns NAME ...` instead"), std::string::npos)
      << hidden.error().what;
}

TEST_F(GuardBadInput, EventsStreamSampledDrops) {
  ASSERT_EQ(cli_b({"load", if_b_}).exit_code, 0);
  ASSERT_EQ(guard_cli({"block", kA12, "--proto", "udp"}).exit_code, 0);
  auto g = open_guard();
  ASSERT_TRUE(g.set_sample_every(1));
  EXPECT_EQ(udp_round(kA12, 5, 9300), 0u);
  // The events are waiting in the ring buffer for whoever reads next.
  auto ev = guard_cli({"events", "--count", "3", "--timeout", "5"});
  ASSERT_EQ(ev.exit_code, 0) << ev.out;
  EXPECT_EQ(std::count(ev.out.begin(), ev.out.end(), '\n'), 4) << ev.out;  // 1 header on stderr + 3 events
  EXPECT_NE(ev.out.find("drop         10.77.0.12 udp dport 9300"), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("rule: 10.77.0.12 drop proto=udp"), std::string::npos) << ev.out;
}

}  // namespace
