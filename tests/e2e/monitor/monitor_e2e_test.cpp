// The Monitor on real veth pairs with real traffic: counters and rates,
// kernel drop reasons, guard verdicts and sampled events, map fill, TCP RTT
// under queueing, a guard detached from outside, and `reflexd observe`.
// TCP retransmits: retrans_e2e_test.cpp.
#include <boost/json.hpp>
#include <cmath>
#include <sstream>

#include "guard/rule.h"
#include "knowledge/json/observation_json.h"
#include "sim/tcp_load.h"
#include "tests/e2e/monitor/monitor_fixture.h"

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::testing;

namespace {

guard::GuardRule rule(const std::string& prefix, guard::RuleAction action, std::uint32_t pps = 0) {
  guard::GuardRule r;
  r.prefix = *Prefix::parse(prefix);
  r.action = action;
  r.pps = pps;
  return r;
}

std::uint64_t drops_of(const InterfaceObservation& i, const std::string& reason) {
  auto it = i.drops.find(reason);
  return it == i.drops.end() ? 0 : it->second;
}

double seconds(const Observation& o) { return static_cast<double>(o.interval_ns) / 1e9; }

// |got - want| within 1% of want.
::testing::AssertionResult within_1pct(double got, double want) {
  if (std::fabs(got - want) <= 0.01 * want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << got << " is not within 1% of " << want;
}

}  // namespace

TEST_F(MonitorE2E, CountersAndRatesMatchThePacketsSent) {
  load_guard();
  make_monitor({key_b()}, [](monitor::MonitorConfig& c) { c.run_time_every = 10; });
  const std::string k = key_b();
  // The first tick asks for BPF run-time stats (switched on their own
  // thread); once they are on, the next tick opens the window.
  tick();
  mon_->settle_run_time_stats();
  // Resolve ARP first, so the measured window holds only the datagrams.
  ASSERT_EQ(send_udp(kA, 10, 9000), 10u);
  Observation before = tick();
  ASSERT_TRUE(before.interfaces.at(k).present);
  EXPECT_EQ(before.interfaces.at(k).mode, AttachMode::native);
  EXPECT_EQ(before.interfaces.at(k).wanted_mode, AttachMode::native);

  constexpr std::size_t kN = 20000;
  ASSERT_EQ(send_udp(kA, kN, 9000), kN);
  // The receiver has every datagram, so the counters have counted them.
  Observation after = tick();
  const auto& i0 = before.interfaces.at(k);
  const auto& i1 = after.interfaces.at(k);
  const double dt = seconds(after);
  ASSERT_GT(dt, 0);

  const double rx = static_cast<double>(i1.rx_packets - i0.rx_packets);
  EXPECT_TRUE(within_1pct(rx, kN));
  EXPECT_TRUE(within_1pct(i1.rx_pps * dt, kN));
  // 64-byte payloads + UDP 8 + IPv4 20 = 92; drivers count with (106) or
  // without (veth on its XDP path) the Ethernet header.
  const double bytes = static_cast<double>(i1.rx_bytes - i0.rx_bytes);
  EXPECT_TRUE(within_1pct(bytes, kN * 92.0) || within_1pct(bytes, kN * 106.0))
      << bytes / kN << " bytes/packet";
  EXPECT_TRUE(within_1pct(i1.rx_bps * dt, bytes * 8));  // bits per second

  const double passed = static_cast<double>(i1.xdp.pass - i0.xdp.pass);
  EXPECT_TRUE(within_1pct(passed, kN));
  EXPECT_TRUE(within_1pct(i1.xdp_rates.pass_pps * dt, kN));
  EXPECT_EQ(i1.xdp.drop, 0u);

  // The sender is the top talker, at the rate it was counted.
  ASSERT_FALSE(after.talkers.empty());
  EXPECT_EQ(after.talkers[0].source.to_string(), kA);
  EXPECT_TRUE(within_1pct(after.talkers[0].pps * dt, kN));

  // The window opened at `before` and closes at this tick.
  ASSERT_TRUE(i1.guard_ns_per_packet.has_value());
  EXPECT_GT(*i1.guard_ns_per_packet, 0.0);
  EXPECT_LT(*i1.guard_ns_per_packet, 100000.0);
  EXPECT_TRUE(after.degraded.empty()) << after.degraded[0].probe << ": " << after.degraded[0].reason;
}

TEST_F(MonitorE2E, KernelDropReasonsAppearForPacketsTheKernelDrops) {
  make_monitor({key_b()}, [](monitor::MonitorConfig& c) { c.guard = false; });
  const std::string k = key_b();
  ASSERT_EQ(send_udp(kA, 5, 9000), 5u);  // ARP
  Observation before = tick();
  const std::uint64_t base = drops_of(before.interfaces.at(k), "NO_SOCKET");

  // Nobody listens on 9999: the kernel drops every datagram with NO_SOCKET.
  constexpr std::size_t kN = 3000;
  send_udp(kA, kN, 9999, /*receive=*/false);
  Observation after =
      tick_until([&](const Observation& o) { return drops_of(o.interfaces.at(k), "NO_SOCKET") >= base + kN; },
                 "NO_SOCKET drops on " + k);
  EXPECT_TRUE(within_1pct(static_cast<double>(drops_of(after.interfaces.at(k), "NO_SOCKET") - base), kN));
  EXPECT_GT(after.maps.at("drop_reasons").entries, 0u);
}

TEST_F(MonitorE2E, GuardDropsRulesAndSampledEvents) {
  auto g = load_guard();
  ASSERT_TRUE(g.set_sample_every(1));  // every drop to the ring buffer
  std::vector<guard::GuardRule> rules{rule(std::string(kA11) + "/32", guard::RuleAction::drop),
                                      rule("192.0.2.0/24", guard::RuleAction::drop)};
  ASSERT_TRUE(g.replace(rules));
  make_monitor({key_b()});
  const std::string k = key_b();
  ASSERT_EQ(send_udp(kA, 5, 9000), 5u);
  Observation before = tick();

  constexpr std::size_t kN = 3000;
  EXPECT_EQ(send_udp(kA11, kN, 9000), 0u);  // all dropped by the guard
  std::vector<DropSample> samples;
  std::vector<std::string> top;  // top rules of every tick that saw drops
  Observation after = tick_until(
      [&](const Observation& o) {
        samples.insert(samples.end(), o.drop_samples.begin(), o.drop_samples.end());
        for (const auto& r : o.interfaces.at(k).top_rules) top.push_back(r.rule);
        const auto& i = o.interfaces.at(k);
        return i.xdp.drop >= kN && i.drop_events >= kN;
      },
      "guard drops and events");
  const auto& i0 = before.interfaces.at(k);
  const auto& i1 = after.interfaces.at(k);
  EXPECT_TRUE(within_1pct(static_cast<double>(i1.xdp.drop - i0.xdp.drop), kN));
  EXPECT_EQ(i1.drop_events - i0.drop_events, kN);  // the ring buffer lost none
  // veth frees what XDP dropped as skbs: the kernel drop probe names those
  // XDP (not NOT_SPECIFIED), so they do not pass for unintended drops.
  EXPECT_TRUE(within_1pct(static_cast<double>(drops_of(i1, "XDP") - drops_of(i0, "XDP")), kN));
  EXPECT_LT(drops_of(i1, "NOT_SPECIFIED") - drops_of(i0, "NOT_SPECIFIED"), kN / 100);
  EXPECT_EQ(i1.rules, 2u);
  EXPECT_EQ(i1.sample_every, 1u);
  ASSERT_FALSE(samples.empty());
  EXPECT_EQ(samples[0].reason, "drop");
  EXPECT_EQ(samples[0].source.to_string(), kA11);  // a host prefix prints as the bare address
  EXPECT_EQ(samples[0].dport, 9000);
  EXPECT_EQ(samples[0].iface, k);
  // Only the /32 matched: it is the only rule ever on top.
  ASSERT_FALSE(top.empty());
  for (const auto& r : top) EXPECT_EQ(r, std::string(kA11) + " drop");
}

TEST_F(MonitorE2E, TopRulesNameTheRuleThatMatchedThisTick) {
  auto g = load_guard();
  ASSERT_TRUE(
      g.replace(std::vector<guard::GuardRule>{rule(std::string(kA12) + "/32", guard::RuleAction::shadow)}));
  make_monitor({key_b()});
  const std::string k = key_b();
  ASSERT_EQ(send_udp(kA, 5, 9000), 5u);
  Observation before = tick();
  constexpr std::size_t kN = 1000;
  EXPECT_EQ(send_udp(kA12, kN, 9000), kN);  // shadow: counted as would-drop, passed
  Observation after = tick();
  const auto& i1 = after.interfaces.at(k);
  EXPECT_TRUE(within_1pct(static_cast<double>(i1.xdp.shadow - before.interfaces.at(k).xdp.shadow), kN));
  ASSERT_EQ(i1.top_rules.size(), 1u);
  EXPECT_EQ(i1.top_rules[0].rule, std::string(kA12) + " shadow");
  EXPECT_TRUE(within_1pct(i1.top_rules[0].pps * seconds(after), kN));
}

TEST_F(MonitorE2E, MapPressureTracksRulesAddedAndRemoved) {
  auto g = load_guard();
  make_monitor({key_b()}, [](monitor::MonitorConfig& c) { c.max_rules = 50000; });
  const std::string k = key_b();
  const std::string rules_map = k + "/rules";

  std::vector<guard::GuardRule> many;
  for (std::uint32_t i = 0; i < 1000; ++i)
    many.push_back(rule(Prefix::v4(0xC6120000u + i * 4, 30).to_string(), guard::RuleAction::drop));
  ASSERT_TRUE(g.replace(many));
  Observation o = tick_until(
      [&](const Observation& o) { return o.maps.count(rules_map) && o.maps.at(rules_map).entries == 1000; },
      "1000 rules in " + rules_map);
  EXPECT_EQ(o.maps.at(rules_map).max_entries, 50000u);

  ASSERT_TRUE(g.replace(std::vector<guard::GuardRule>(many.begin(), many.begin() + 10)));
  o = tick(10ms);
  EXPECT_EQ(o.maps.at(rules_map).entries, 10u);
  EXPECT_LT(o.maps.at(rules_map).growth_per_s, 0.0);

  // One talker per source address (the sources the talker table holds), a
  // rate-limiter state per (rule, source) (a hash, counted in the kernel).
  ASSERT_TRUE(
      g.replace(std::vector<guard::GuardRule>{rule("10.78.0.0/24", guard::RuleAction::rate_limit, 1000000)}));
  Observation before = tick(10ms);
  EXPECT_EQ(before.maps.at(k + "/talkers").entries, 0u);
  EXPECT_EQ(before.maps.at(k + "/rl_state").entries, 0u);
  for (const char* src : {kA, kA11, kA12, kA13}) EXPECT_EQ(send_udp(src, 20, 9000), 20u);
  o = tick_until([&](const Observation& o) { return o.maps.at(k + "/talkers").entries == 4; }, "4 talkers");
  EXPECT_EQ(o.maps.at(k + "/talkers").max_entries, GUARD_TALKER_SLOTS);
  EXPECT_EQ(o.maps.at(k + "/rl_state").entries, 4u);
  EXPECT_GT(o.maps.at(k + "/talkers").growth_per_s, 0.0);
}

TEST_F(MonitorE2E, RttRisesUnderAQueueAndFallsWhenItGoes) {
  // The sender's side: ACKs come back in on a's interface.
  make_monitor({key_a()}, [](monitor::MonitorConfig& c) { c.guard = false; });
  const std::string k = key_a();
  auto load = sim::TcpLoad::start(*a_, kA, *b_, kB, 7100);
  ASSERT_TRUE(load) << load.error().message();

  auto p50 = [&](const Observation& o) {
    return o.interfaces.at(k).rtt ? o.interfaces.at(k).rtt->p50_us : 0.0;
  };
  auto samples = [&](const Observation& o) {
    return o.interfaces.at(k).rtt ? o.interfaces.at(k).rtt->samples : 0;
  };
  Observation o = tick_until([&](const Observation& o) { return samples(o) >= 100; },
                             "RTT samples on a bare veth", 100ms);
  const double bare = p50(o);
  RecordProperty("rtt_p50_bare_us", std::to_string(bare));
  EXPECT_GT(bare, 0.0);
  EXPECT_LT(bare, 5000.0);

  // A slow link with a deep buffer: the queue fills and every segment waits.
  ScopedQdisc q(*a_, if_a_);
  ASSERT_NO_FATAL_FAILURE(q.add({"tbf", "rate", "20mbit", "burst", "32kb", "latency", "400ms"}));
  o = tick_until(
      [&](const Observation& o) { return samples(o) >= 20 && p50(o) > 20 * bare && p50(o) > 10000; },
      "RTT p50 to rise under the tbf queue", 100ms);
  const double queued = p50(o);
  RecordProperty("rtt_p50_queued_us", std::to_string(queued));
  EXPECT_GT(o.interfaces.at(k).rtt->p99_us, queued * 0.99);

  q.del();
  o = tick_until([&](const Observation& o) { return samples(o) >= 20 && p50(o) < 5 * bare + 1000; },
                 "RTT p50 to fall once the queue is gone", 100ms);
  RecordProperty("rtt_p50_after_us", std::to_string(p50(o)));
  (*load)->stop();
  EXPECT_GT((*load)->bytes_received(), 0u);
}

TEST_F(MonitorE2E, AGuardDetachedFromOutsideIsDegradedAndRecoversWhenReattached) {
  load_guard();
  make_monitor({key_b()});
  const std::string k = key_b();
  const std::string probe = "guard:" + k;
  Observation o = tick();
  EXPECT_FALSE(degraded(o, probe));
  EXPECT_EQ(o.interfaces.at(k).mode, AttachMode::native);

  // Someone else detaches the guard's link (it stays pinned, now dangling).
  ASSERT_NO_FATAL_FAILURE(
      must_run({"bpftool", "link", "detach", "pinned", test_pin_root() + "/" + key_b() + "/link"}));
  std::string why;
  o = tick_until([&](const Observation& o) { return degraded(o, probe, &why); },
                 "the guard probe to report the detach");
  EXPECT_NE(why.find("detached"), std::string::npos) << why;
  EXPECT_EQ(o.interfaces.at(k).mode, AttachMode::none);
  EXPECT_EQ(o.interfaces.at(k).wanted_mode, AttachMode::native);
  ASSERT_FALSE(o.interfaces.at(k).attach_errors.empty());
  // The rest of the picture is still there.
  EXPECT_TRUE(o.interfaces.at(k).present);
  EXPECT_FALSE(degraded(o, "drop_reasons"));

  // An operator re-attaches it, from another process.
  ASSERT_NO_FATAL_FAILURE(
      must_run({REFLEX_GUARD_BIN, "--pin-root", test_pin_root(), "--netns", b_->name(), "load", if_b_}));
  o = tick_until(
      [&](const Observation& o) {
        return !degraded(o, probe) && o.interfaces.at(k).mode == AttachMode::native;
      },
      "the guard probe to recover");
  const auto pass0 = o.interfaces.at(k).xdp.pass;
  ASSERT_EQ(send_udp(kA, 100, 9000), 100u);
  o = tick();
  EXPECT_GE(o.interfaces.at(k).xdp.pass - pass0, 100u);

  // Unloaded altogether: the probe fails, retries with backoff, and picks up the next load.
  ASSERT_TRUE(guard::Guard::unload(key_b(), guard::GuardOptions{test_pin_root()}));
  o = tick_until([&](const Observation& o) { return degraded(o, probe, &why); }, "the guard probe to fail");
  EXPECT_NE(why.find("reflex-guard load"), std::string::npos) << why;
  const auto pass1 = o.interfaces.at(k).xdp.pass;
  load_guard();
  o = tick_until([&](const Observation& o) { return !degraded(o, probe); }, "the guard probe to reopen",
                 50ms);
  ASSERT_EQ(send_udp(kA, 50, 9000), 50u);
  o = tick();
  // Fresh maps count from zero; the Observation's counter keeps climbing.
  EXPECT_GE(o.interfaces.at(k).xdp.pass, pass1 + 50);
}

TEST_F(MonitorE2E, ReflexdObservePrintsOneJsonObjectPerTick) {
  load_guard();
  ASSERT_EQ(send_udp(kA, 10, 9000), 10u);
  auto out =
      sim::run_command({REFLEXD_BIN, "observe", "--netns", b_->name(), "--iface", if_b_, "--pin-root",
                        test_pin_root(), "--interval", "100", "--count", "3", "--run-time-every", "0"});
  ASSERT_TRUE(out) << out.error().message();
  std::istringstream lines(*out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;  // stderr shares the pipe
    auto v = boost::json::parse(line).as_object();
    ++n;
    EXPECT_TRUE(v.contains("ts_ns"));
    const auto& i = v.at("interfaces").at(if_b_).as_object();
    EXPECT_EQ(i.at("mode").as_string(), "native");
    for (const char* f : {"rx_packets", "rx_pps", "rx_bytes", "drops", "xdp", "rtt_us", "retrans"})
      EXPECT_TRUE(i.contains(f)) << f;
    for (const char* f : {"retransmits", "per_s", "segments_per_s"})
      EXPECT_TRUE(i.at("retrans").as_object().contains(f)) << f;
    for (const char* f : {"pass", "drop", "rate_limited", "shadow"})
      EXPECT_TRUE(i.at("xdp").as_object().contains(f)) << f;
    for (const char* f : {"p50", "p90", "p99", "samples"})
      EXPECT_TRUE(i.at("rtt_us").as_object().contains(f)) << f;
    EXPECT_GE(i.at("rx_packets").to_number<std::uint64_t>(), 10u);
    EXPECT_TRUE(v.at("maps").as_object().contains(if_b_ + "/talkers"));
    EXPECT_EQ(v.at("degraded").as_array().size(), 0u) << line;
  }
  EXPECT_EQ(n, 3);
}
