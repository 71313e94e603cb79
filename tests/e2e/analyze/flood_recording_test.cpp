// A flood and a flash crowd of real UDP traffic between namespaces, observed
// by the Monitor through the guard at a 100 ms tick: the Analyzer raises a
// critical flood within two ticks of the flood's onset and nothing for the
// crowd. The same runs measure the multivariate (Mahalanobis) view of the
// interface against the per-source rule, and print the confusion table
// (docs/analyze.md). With REFLEX_RECORD_DIR set, the Observations are written
// there as JSON lines, as `reflexd observe` prints them (tests/data/analyze/).

#include "analyze/analyzer.h"
#include "tests/e2e/analyze/mahalanobis.h"
#include "knowledge/json/observation_json.h"
#include "tests/e2e/monitor/monitor_fixture.h"

#include <boost/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

namespace reflex::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kBenignTicks = 60;   // 6 s of history
constexpr int kEventTicks = 40;    // 4 s of flood or crowd
constexpr std::uint16_t kPort = 7000;

struct Source {
  std::string addr;
  std::unique_ptr<sim::UdpPeer> tx;
  std::size_t per_tick = 0;
  int from = 0;  // first tick it sends
};

class AnalyzeE2E : public MonitorE2E {
 protected:
  void TearDown() override {
    // The guard handle first: unloading waits for its lock.
    sources_.clear();
    guard_.reset();
    MonitorE2E::TearDown();
  }

  // Adds addresses 10.78.0.<first>.. on a's side, one source each.
  void add_sources(int first, int n, std::size_t per_tick, int from, int every = 0) {
    for (int i = 0; i < n; ++i) {
      const std::string addr = "10.78.0." + std::to_string(first + i);
      ASSERT_NO_FATAL_FAILURE(must_run({"ip", "-n", a_->name(), "addr", "add", addr + "/24", "dev", if_a_}));
      auto tx = sim::UdpPeer::open(*a_, addr, 0);
      ASSERT_TRUE(tx) << tx.error().message();
      sources_.push_back({addr, std::make_unique<sim::UdpPeer>(std::move(*tx)), per_tick, from + i * every});
    }
  }

  // Runs the scenario: every 100 ms each source due sends its packets, the
  // receiver drains, the Monitor ticks. Returns the Observations.
  std::vector<Observation> run(int ticks) {
    guard_.emplace(load_guard());
    make_monitor({key_b()});
    auto rx = sim::UdpPeer::open(*b_, kB, kPort);
    EXPECT_TRUE(rx) << rx.error().message();
    std::vector<Observation> out;
    out.push_back(tick());
    auto next = std::chrono::steady_clock::now();
    for (int t = 0; t < ticks; ++t) {
      for (auto& s : sources_)
        if (t >= s.from) (void)s.tx->send_many(kB, kPort, 0, s.per_tick);
      (void)rx->receive(1u << 30, 1ms);
      next += 100ms;
      // Traffic pacing, not synchronisation: each tick covers ~100 ms of sending.
      std::this_thread::sleep_until(next);
      out.push_back(tick());
    }
    return out;
  }

  // The five regular sources: 50 to 750 pps.
  void benign() {
    add_sources(20, 1, 5, 0);
    add_sources(21, 1, 10, 0);
    add_sources(22, 1, 20, 0);
    add_sources(23, 1, 40, 0);
    add_sources(24, 1, 75, 0);
  }

  static void record(const std::vector<Observation>& obs, const std::string& name) {
    const char* dir = std::getenv("REFLEX_RECORD_DIR");
    if (!dir) return;
    std::ofstream f(std::string(dir) + "/" + name + ".jsonl");
    for (const auto& o : obs) f << boost::json::serialize(to_json(o)) << "\n";
  }

  std::vector<Source> sources_;
  std::optional<guard::Guard> guard_;
};

// Per tick after the history: did the per-source rule raise a flood, and how
// far is the interface's joint feature vector from its benign history?
struct Judged {
  std::vector<bool> flood;
  std::vector<double> distance;
  int first_flood = -1;
  Severity severity = Severity::info;
};

Judged judge(const std::vector<Observation>& obs, const std::string& iface) {
  analyze::Analyzer a;
  analyze::Mahalanobis<5> m(0.05);
  std::set<Prefix> seen;
  std::uint64_t prev_drops = 0, prev_rx = 0;
  Judged j;
  for (std::size_t t = 0; t < obs.size(); ++t) {
    const auto& o = obs[t];
    a.analyze(o);
    bool flood = false;
    for (const auto& s : a.active())
      if (s.kind == SymptomKind::flood) {
        flood = true;
        if (s.severity > j.severity) j.severity = s.severity;
      }
    // Features: log pps, log bps, mean packet size, new sources per second, drop share.
    const auto it = o.interfaces.find(iface);
    if (it == o.interfaces.end()) continue;
    const auto& io = it->second;
    double fresh = 0;
    for (const auto& tk : o.talkers)
      if (tk.iface == iface && seen.insert(tk.source).second) ++fresh;
    const double dt = o.interval_ns > 0 ? static_cast<double>(o.interval_ns) / 1e9 : 0.1;
    std::uint64_t drops = io.rx_dropped;
    for (const auto& [_, n] : io.drops) drops += n;
    const double d_drops = static_cast<double>(drops - std::min(drops, prev_drops));
    const double d_rx = static_cast<double>(io.rx_packets - std::min(io.rx_packets, prev_rx));
    prev_drops = drops;
    prev_rx = io.rx_packets;
    const double share = d_rx + d_drops > 0 ? d_drops / (d_rx + d_drops) : 0;
    analyze::Mahalanobis<5>::Vec x;
    x << std::log1p(io.rx_pps), std::log1p(io.rx_bps), io.rx_pps > 0 ? io.rx_bps / 8 / io.rx_pps : 0, fresh / dt,
        share;
    const int k = static_cast<int>(t) - 1;  // ticks of the scenario from 0
    // Learns the benign history only; judged after it.
    const double d = k < kBenignTicks ? (m.update(x), 0.0) : m.distance(x);
    if (k >= kBenignTicks) {
      j.flood.push_back(flood);
      j.distance.push_back(d);
      if (flood && j.first_flood < 0) j.first_flood = k - kBenignTicks;
    }
  }
  return j;
}

void print_table(const Judged& flood, const Judged& crowd, double d_alarm) {
  auto count = [](const std::vector<bool>& v) { return static_cast<int>(std::count(v.begin(), v.end(), true)); };
  auto over = [&](const Judged& j) {
    int n = 0;
    for (double d : j.distance) n += d >= d_alarm;
    return n;
  };
  auto both = [&](const Judged& j) {
    int n = 0;
    for (std::size_t i = 0; i < j.flood.size(); ++i) n += j.flood[i] && j.distance[i] >= d_alarm;
    return n;
  };
  const int nf = static_cast<int>(flood.flood.size()), nc = static_cast<int>(crowd.flood.size());
  std::printf("ticks judged flood (of %d flood ticks / %d crowd ticks):\n", nf, nc);
  std::printf("  per-source rule:                     flood %d, crowd %d\n", count(flood.flood), count(crowd.flood));
  std::printf("  Mahalanobis d >= %.1f alone:          flood %d, crowd %d\n", d_alarm, over(flood), over(crowd));
  std::printf("  per-source rule and Mahalanobis:     flood %d, crowd %d\n", both(flood), both(crowd));
  auto either = [&](const Judged& j) {
    int n = 0;
    for (std::size_t i = 0; i < j.flood.size(); ++i) n += j.flood[i] || j.distance[i] >= d_alarm;
    return n;
  };
  std::printf("  per-source rule or Mahalanobis:      flood %d, crowd %d\n", either(flood), either(crowd));
  std::printf("  flood first raised %d ticks after onset, severity %s\n", flood.first_flood,
              std::string(to_string(flood.severity)).c_str());
}

TEST_F(AnalyzeE2E, AFloodIsRaisedAndAFlashCrowdIsNot) {
  // Flood: one source at 10k pps after the history.
  benign();
  add_sources(200, 1, 1000, kBenignTicks);
  const auto flood_obs = run(kBenignTicks + kEventTicks);
  record(flood_obs, "flood");
  const auto flood = judge(flood_obs, key_b());

  // The crowd: on a fresh pair of namespaces, 40 new sources arriving one per
  // tick after the history, each at 300 pps (within the regular sources' range).
  TearDown();
  SetUp();
  benign();
  add_sources(100, 40, 30, kBenignTicks, 1);
  const auto crowd_obs = run(kBenignTicks + kEventTicks);
  record(crowd_obs, "flash_crowd");
  const auto crowd = judge(crowd_obs, key_b());

  // Chi-square with 5 degrees of freedom, 0.1% tail: d^2 >= 20.5.
  print_table(flood, crowd, std::sqrt(20.5));
  EXPECT_GE(flood.first_flood, 0) << "the flood was never raised";
  EXPECT_LE(flood.first_flood, 1) << "the flood was raised late";
  EXPECT_EQ(flood.severity, Severity::critical);
  for (std::size_t i = 0; i < crowd.flood.size(); ++i) EXPECT_FALSE(crowd.flood[i]) << "crowd tick " << i;
  // The crowd did multiply the traffic.
  EXPECT_GT(crowd_obs.back().interfaces.at(key_b()).rx_pps, 4 * crowd_obs[kBenignTicks].interfaces.at(key_b()).rx_pps);
}

}  // namespace
}  // namespace reflex::testing
