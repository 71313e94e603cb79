// Analyzer: table-driven scenarios, each a sequence of Observations and the
// symptoms expected after each one.

#include "analyze/analyzer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace reflex::analyze {
namespace {

constexpr TimeNs kTick = kNsPerSec;

Observation tick(int i) {
  Observation o;
  o.ts_ns = static_cast<TimeNs>(i) * kTick;
  return o;
}

// The active set after one tick (what the planner reads).
std::vector<Symptom> step(Analyzer& a, const Observation& o) {
  a.analyze(o);
  return a.active();
}

int count(const std::vector<Symptom>& ss, SymptomKind k) {
  int n = 0;
  for (const auto& s : ss) n += s.kind == k;
  return n;
}

const Symptom* find(const std::vector<Symptom>& ss, SymptomKind k, const std::string& reason = "") {
  for (const auto& s : ss)
    if (s.kind == k && s.subject.reason == reason) return &s;
  return nullptr;
}

// ---- drop_rate_high -------------------------------------------------------

struct DropCase {
  const char* name;
  std::vector<double> drop_fraction;  // per tick, of 10000 packets
  std::vector<int> want;              // interface-level symptom present after each tick
};

TEST(AnalyzerDropRate, Table) {
  const std::vector<DropCase> cases = {
      {"quiet interface", {0, 0.001, 0.002, 0.001}, {0, 0, 0, 0}},
      {"raised at 5% and held until below 2% twice", {0, 0.10, 0.04, 0.03, 0.01, 0.01, 0.0},
       {0, 1, 1, 1, 1, 0, 0}},
      {"a single tick between the levels does not raise", {0, 0.03, 0.04, 0.01}, {0, 0, 0, 0}},
  };
  for (const auto& c : cases) {
    Analyzer a;
    InterfaceObservation io;
    std::uint64_t pass = 0, drop = 0;
    for (std::size_t i = 0; i < c.drop_fraction.size(); ++i) {
      const auto d = static_cast<std::uint64_t>(10000 * c.drop_fraction[i]);
      drop += d;
      pass += 10000 - d;
      io.xdp.pass = pass;
      io.drops["SKB_DROP_REASON_NOMEM"] = drop;
      Observation o = tick(static_cast<int>(i));
      o.interfaces["eth0"] = io;
      const auto ss = step(a, o);
      const Symptom* s = find(ss, SymptomKind::drop_rate_high);
      EXPECT_EQ(s != nullptr, c.want[i] == 1) << c.name << " tick " << i;
      // The per-reason symptom follows the same signal here (one reason).
      EXPECT_EQ(find(ss, SymptomKind::drop_rate_high, "SKB_DROP_REASON_NOMEM") != nullptr, c.want[i] == 1)
          << c.name << " tick " << i;
      if (s) {
        EXPECT_EQ(s->subject.iface, "eth0");
        EXPECT_GE(s->score, 0.0);
        EXPECT_LE(s->score, 1.0);
        EXPECT_FALSE(s->evidence.detail.empty());
      }
    }
  }
}

TEST(AnalyzerDropRate, PolicyDropsAreNotSymptoms) {
  // Our own XDP drop verdicts (a block rule doing its job) must not raise.
  Analyzer a;
  InterfaceObservation io;
  for (int i = 0; i < 5; ++i) {
    io.xdp.pass += 1000;
    io.xdp.drop += 9000;
    Observation o = tick(i);
    o.interfaces["eth0"] = io;
    EXPECT_EQ(count(step(a, o), SymptomKind::drop_rate_high), 0);
  }
}

TEST(AnalyzerDropRate, CounterResetIsNotADropStorm) {
  Analyzer a;
  InterfaceObservation io;
  io.xdp.pass = 1'000'000;
  io.rx_dropped = 900'000;
  Observation o = tick(0);
  o.interfaces["eth0"] = io;
  a.analyze(o);
  io.xdp.pass = 100;  // probe restarted
  io.rx_dropped = 0;
  o = tick(1);
  o.interfaces["eth0"] = io;
  EXPECT_EQ(count(step(a, o), SymptomKind::drop_rate_high), 0);
}

// The drop share through the series detector, at the loop's 100 ms tick:
// returns, per tick, whether the interface-level drop_rate_high is active.
std::vector<int> drop_run(const std::vector<double>& fraction, Severity* last_severity = nullptr) {
  constexpr TimeNs kLoopTick = kNsPerSec / 10;
  Analyzer a;
  InterfaceObservation io;
  std::vector<int> raised;
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    const auto d = static_cast<std::uint64_t>(std::lround(1000 * fraction[i]));
    io.xdp.pass += 1000 - d;
    io.drops["SKB_DROP_REASON_NOMEM"] += d;
    Observation o;
    o.ts_ns = static_cast<TimeNs>(i) * kLoopTick;
    o.interfaces["eth0"] = io;
    const auto ss = step(a, o);
    const Symptom* s = find(ss, SymptomKind::drop_rate_high);
    raised.push_back(s != nullptr);
    if (s && last_severity) *last_severity = s->severity;
  }
  return raised;
}

// A link whose drop share swings between 1% and 4% and every fifth tick
// reaches 6-7% (past the 5% raise level): the absolute rule alone raises on
// every such tick; once the detector has its baseline it learns them.
std::vector<double> swinging_drops(std::size_t n) {
  std::vector<double> f;
  for (std::size_t i = 0; i < n; ++i) f.push_back(i % 5 == 4 ? (i % 10 == 9 ? 0.07 : 0.06) : 0.01 + 0.01 * (i % 4));
  return f;
}

TEST(AnalyzerDropRate, ALinkWhoseDropsOftenPassTheRaiseLevelLearnsThem) {
  const auto r = drop_run(swinging_drops(400));
  int late = 0;
  for (std::size_t i = 100; i < r.size(); ++i) late += r[i];
  EXPECT_EQ(late, 0) << "raised on " << late << " of 300 ticks after the baseline";
  // During the warm-up the absolute levels alone decide (a fresh analyzer in a
  // storm still raises): the first 6% tick does.
  EXPECT_EQ(r[4], 1);
}

TEST(AnalyzerDropRate, ASteadyLinkThatStartsDroppingRaises) {
  std::vector<double> f(200, 0.001);
  f.push_back(0.06);
  f.push_back(0.06);
  Severity sev = Severity::info;
  const auto r = drop_run(f, &sev);
  for (std::size_t i = 0; i < 200; ++i) ASSERT_EQ(r[i], 0) << i;
  EXPECT_EQ(r[200], 1);  // raise_after 1: the onset tick
  EXPECT_EQ(sev, Severity::warning);
}

TEST(AnalyzerDropRate, CriticalDropsRaiseWhateverTheHistory) {
  auto f = swinging_drops(300);
  f.push_back(0.30);
  Severity sev = Severity::info;
  const auto r = drop_run(f, &sev);
  EXPECT_EQ(r.back(), 1);
  EXPECT_EQ(sev, Severity::critical);
}

TEST(AnalyzerDropRate, TheBaselineIsTheEvidence) {
  constexpr TimeNs kLoopTick = kNsPerSec / 10;
  Analyzer a;
  InterfaceObservation io;
  const Symptom* s = nullptr;
  std::vector<Symptom> ss;
  for (int i = 0; i < 202; ++i) {
    const std::uint64_t d = i < 200 ? 3 : 100;  // 0.3%, then 10%
    io.xdp.pass += 1000 - d;
    io.rx_dropped += d;
    Observation o;
    o.ts_ns = i * kLoopTick;
    o.interfaces["eth0"] = io;
    ss = step(a, o);
  }
  s = find(ss, SymptomKind::drop_rate_high);
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(s->evidence.value, 0.10, 1e-9);
  // The detector's baseline: 0.3% floored at half the clear level (1%).
  EXPECT_NEAR(s->evidence.baseline, 0.01, 1e-3);
  EXPECT_NE(s->evidence.detail.find("baseline"), std::string::npos) << s->evidence.detail;
}

// ---- traffic (context, no symptom) ---------------------------------------

TEST(AnalyzerTraffic, TheDetectorLearnsAnInterfacesRatesAndFlagsAJump) {
  Analyzer a;
  EXPECT_FALSE(a.traffic("eth0"));
  InterfaceObservation io;
  double worst_ordinary = 0;
  for (int i = 0; i < 300; ++i) {
    io.rx_pps = 1000 + 50 * (i % 7);
    io.rx_bps = io.rx_pps * 8 * 500;
    Observation o;
    o.ts_ns = i * (kNsPerSec / 10);
    o.interfaces["eth0"] = io;
    a.analyze(o);
    if (i > 20) worst_ordinary = std::max(worst_ordinary, a.traffic("eth0")->pps_score);
  }
  auto t = a.traffic("eth0");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->trusted);
  EXPECT_NEAR(t->pps_baseline, 1150, 100);
  EXPECT_NEAR(t->bps_baseline, 1150 * 4000, 400000);
  EXPECT_LT(worst_ordinary, DetectorParams::kAlarmScore);
  io.rx_pps = 20000;
  io.rx_bps = io.rx_pps * 8 * 500;
  Observation o;
  o.ts_ns = 300 * (kNsPerSec / 10);
  o.interfaces["eth0"] = io;
  a.analyze(o);
  t = a.traffic("eth0");
  EXPECT_DOUBLE_EQ(t->pps, 20000);
  EXPECT_GE(t->pps_score, DetectorParams::kAlarmScore);
  EXPECT_GE(t->bps_score, DetectorParams::kAlarmScore);
}

TEST(AnalyzerTraffic, RatesComeFromTheCountersWhenTheMonitorGivesNone) {
  Analyzer a;
  InterfaceObservation io;
  for (int i = 0; i < 3; ++i) {
    io.rx_packets += 500;  // per second
    io.rx_bytes += 500 * 100;
    Observation o = tick(i);
    o.interfaces["eth0"] = io;
    a.analyze(o);
  }
  const auto t = a.traffic("eth0");
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(t->pps, 500);
  EXPECT_DOUBLE_EQ(t->bps, 500 * 100 * 8);
}

// ---- latency_high ---------------------------------------------------------

struct LatencyCase {
  const char* name;
  std::vector<double> p99_us;
  int first_raised;  // tick index of the first latency_high, -1 for never
  int cleared_by;    // tick by which it is gone again, -1 when it must stay
};

TEST(AnalyzerLatency, Table) {
  std::vector<double> steady(30, 1000.0);
  auto with = [&](std::vector<double> tail) {
    auto v = steady;
    v.insert(v.end(), tail.begin(), tail.end());
    return v;
  };
  const std::vector<LatencyCase> cases = {
      {"steady RTT", with({1100, 1000, 950, 1050}), -1, -1},
      {"one spike is not enough (needs two ticks)", with({5000, 1000, 1000}), -1, -1},
      {"sustained tripling raises, recovery clears", with({3000, 3000, 3000, 1000, 1000, 1000}), 31, 35},
      {"1.6x stays below the raise level", with({1600, 1600, 1600, 1600}), -1, -1},
  };
  for (const auto& c : cases) {
    Analyzer a;
    int first = -1, last = -1;
    for (std::size_t i = 0; i < c.p99_us.size(); ++i) {
      Observation o = tick(static_cast<int>(i));
      InterfaceObservation io;
      io.rtt = RttSummary{c.p99_us[i] / 2, c.p99_us[i] * 0.8, c.p99_us[i], 100, {}};
      o.interfaces["eth0"] = io;
      const auto ss = step(a, o);
      if (const Symptom* s = find(ss, SymptomKind::latency_high)) {
        if (first < 0) first = static_cast<int>(i);
        last = static_cast<int>(i);
        EXPECT_NEAR(s->evidence.baseline, 1000.0, 1.0) << c.name;  // the incident is not learned
        EXPECT_EQ(s->since_ns, static_cast<TimeNs>(first) * kTick) << c.name;
      }
    }
    EXPECT_EQ(first, c.first_raised) << c.name;
    if (c.cleared_by >= 0) {
      EXPECT_LT(last, c.cleared_by) << c.name;
    }
  }
}

TEST(AnalyzerLatency, APathWhoseP99OftenDoublesDoesNotRaise) {
  // A radio link: p99 swings between 1 and 2.8 ms from tick to tick. The
  // detector learns that swings are ordinary on this path; the same 2.8x on a
  // steady path raises (the table above).
  Analyzer a;
  std::uint32_t rng = 7;
  for (int i = 0; i < 600; ++i) {
    rng = rng * 1664525u + 1013904223u;
    const double p99 = (rng >> 31) ? 2800 : 1000;
    Observation o = tick(i);
    InterfaceObservation io;
    io.rtt = RttSummary{p99 / 2, p99 * 0.8, p99, 100, {}};
    o.interfaces["wlan0"] = io;
    if (i > 100) ASSERT_EQ(count(step(a, o), SymptomKind::latency_high), 0) << "tick " << i;
    else step(a, o);
  }
}

// ---- loss_high --------------------------------------------------------------

struct LossTick {
  double share;  // retransmitted / sent
  double segments_per_s = 10000;
};

std::vector<int> loss_run(const std::vector<LossTick>& ticks, Severity* last_severity = nullptr) {
  Analyzer a;
  std::vector<int> raised;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    Observation o;
    o.ts_ns = static_cast<TimeNs>(i) * 100 * kNsPerMs;
    InterfaceObservation io;
    const double per_s = ticks[i].share * ticks[i].segments_per_s;
    total += static_cast<std::uint64_t>(per_s / 10);
    io.retrans = RetransSummary{total, per_s, ticks[i].segments_per_s};
    o.interfaces["eth0"] = io;
    const auto ss = step(a, o);
    raised.push_back(count(ss, SymptomKind::loss_high));
    for (const auto& s : ss)
      if (s.kind == SymptomKind::loss_high) {
        EXPECT_EQ(s.subject.iface, "eth0");
        EXPECT_FALSE(s.evidence.detail.empty());
        if (last_severity) *last_severity = s.severity;
      }
  }
  return raised;
}

TEST(AnalyzerLoss, RetransmitsOnAQuietPathRaiseAndClear) {
  std::vector<LossTick> t(200, LossTick{0.001});
  for (int i = 0; i < 5; ++i) t.push_back({0.05});
  for (int i = 0; i < 5; ++i) t.push_back({0.001});
  Severity sev = Severity::info;
  const auto r = loss_run(t, &sev);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(r[static_cast<std::size_t>(i)], 0) << i;
  EXPECT_EQ(r[200], 0);  // two ticks to confirm
  EXPECT_EQ(r[201], 1);
  EXPECT_EQ(r[204], 1);
  EXPECT_EQ(r[205], 1);  // first quiet tick
  EXPECT_EQ(r[206], 0);  // second: cleared
  EXPECT_EQ(sev, Severity::warning);
}

TEST(AnalyzerLoss, HeavyLossIsCritical) {
  std::vector<LossTick> t(200, LossTick{0.001});
  for (int i = 0; i < 3; ++i) t.push_back({0.2});
  Severity sev = Severity::info;
  const auto r = loss_run(t, &sev);
  EXPECT_EQ(r.back(), 1);
  EXPECT_EQ(sev, Severity::critical);
}

TEST(AnalyzerLoss, APathThatAlwaysRetransmitsALittleDoesNotRaise) {
  // 3% all along (above the 2% raise level): ordinary for this path.
  const auto r = loss_run(std::vector<LossTick>(300, LossTick{0.03}));
  for (std::size_t i = 0; i < r.size(); ++i) ASSERT_EQ(r[i], 0) << i;
}

TEST(AnalyzerLoss, TooFewSegmentsAreNotJudged) {
  // 50% of 500 segments/s is 50 segments in a 100 ms tick: below the minimum.
  std::vector<LossTick> t(200, LossTick{0.001, 500});
  for (int i = 0; i < 5; ++i) t.push_back({0.5, 500});
  const auto r = loss_run(t);
  for (std::size_t i = 0; i < r.size(); ++i) ASSERT_EQ(r[i], 0) << i;
}

// ---- map_pressure ---------------------------------------------------------

struct MapCase {
  const char* name;
  std::vector<std::uint64_t> entries;  // of max 1000, one per second
  std::vector<int> want;
};

TEST(AnalyzerMapPressure, Table) {
  const std::vector<MapCase> cases = {
      {"half full and flat", {500, 500, 500}, {0, 0, 0}},
      {"fills past 80%, clears under 70%", {750, 810, 790, 750, 690, 650, 600}, {0, 1, 1, 1, 1, 0, 0}},
      {"60% but filling at 20/s: full in 20 s", {560, 580, 600, 620}, {0, 1, 1, 1}},
      {"30% and growing fast is too early to care", {260, 280, 300}, {0, 0, 0}},
  };
  for (const auto& c : cases) {
    Analyzer a;
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      Observation o = tick(static_cast<int>(i));
      o.maps["rules_v4"] = MapObservation{c.entries[i], 1000, 0.0};
      const auto ss = step(a, o);
      const Symptom* s = find(ss, SymptomKind::map_pressure);
      EXPECT_EQ(s != nullptr, c.want[i] == 1) << c.name << " tick " << i;
      if (s) {
        EXPECT_EQ(s->subject.map, "rules_v4");
        EXPECT_NEAR(s->evidence.value, static_cast<double>(c.entries[i]) / 1000.0, 1e-9);
      }
    }
  }
}

// A map that churns: at 55-58% full it grows 5 entries/s for five seconds,
// then empties as fast, again and again. The forecast alone would raise on
// every burst (full in ~100 s, inside the 300 s horizon but not the critical
// 60 s); the detector learns the bursts.
TEST(AnalyzerMapPressure, AMapThatChurnsLearnsItsBursts) {
  Analyzer a;
  std::uint64_t entries = 550;
  int late = 0, early = 0;
  for (int i = 0; i < 1200; ++i) {
    Observation o = tick(i);
    o.maps["flows"] = MapObservation{entries, 1000, 0.0};
    const bool raised = find(step(a, o), SymptomKind::map_pressure) != nullptr;
    (i < 100 ? early : late) += raised;
    entries = i % 10 < 5 ? entries + 5 : entries - 5;
  }
  EXPECT_GT(early, 0);  // the warm-up: the forecast alone, as before
  EXPECT_EQ(late, 0) << "raised on " << late << " of 1100 ticks after the baseline";
}

TEST(AnalyzerMapPressure, AFlatMapThatStartsFillingRaisesOnTheForecast) {
  Analyzer a;
  std::uint64_t entries = 560;
  std::vector<int> r;
  for (int i = 0; i < 220; ++i) {
    if (i >= 200) entries += 20;
    Observation o = tick(i);
    o.maps["flows"] = MapObservation{entries, 1000, 0.0};
    r.push_back(find(step(a, o), SymptomKind::map_pressure) != nullptr);
  }
  for (int i = 0; i < 200; ++i) ASSERT_EQ(r[static_cast<std::size_t>(i)], 0) << i;
  EXPECT_EQ(r[200], 1);  // 58%, growing 6/s (EW): full in ~70 s
  EXPECT_EQ(r.back(), 1);
}

TEST(AnalyzerMapPressure, AFullMapRaisesHoweverOftenItIsFull) {
  // Between 80% and 90% all along: the fill levels are absolute.
  Analyzer a;
  int raised = 0;
  for (int i = 0; i < 300; ++i) {
    Observation o = tick(i);
    o.maps["flows"] = MapObservation{static_cast<std::uint64_t>(820 + 10 * (i % 7)), 1000, 0.0};
    raised += find(step(a, o), SymptomKind::map_pressure) != nullptr;
  }
  EXPECT_EQ(raised, 300);
}

// ---- attach_degraded ------------------------------------------------------

TEST(AnalyzerAttach, Table) {
  struct Step {
    AttachMode mode, wanted;
    std::uint64_t rx_errors;
    std::vector<std::string> errors;
    int want;
  };
  struct Case {
    const char* name;
    std::vector<Step> steps;
  };
  using M = AttachMode;
  const std::vector<Case> cases = {
      {"native as wanted", {{M::native, M::native, 0, {}, 0}, {M::native, M::native, 0, {}, 0}}},
      {"fell back to generic, then recovered (clears after 3 good ticks)",
       {{M::generic, M::native, 0, {}, 1}, {M::native, M::native, 0, {}, 1}, {M::native, M::native, 0, {}, 1},
        {M::native, M::native, 0, {}, 0}}},
      {"attach error reported", {{M::native, M::native, 0, {"attach failed: EBUSY"}, 1}}},
      {"rx errors rising at 50/s", {{M::native, M::native, 0, {}, 0}, {M::native, M::native, 50, {}, 1}}},
      {"a few rx errors are not degradation",
       {{M::native, M::native, 0, {}, 0}, {M::native, M::native, 2, {}, 0}, {M::native, M::native, 4, {}, 0}}},
      {"nothing wanted, nothing attached", {{M::none, M::none, 0, {}, 0}}},
  };
  for (const auto& c : cases) {
    Analyzer a;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      const Step& st = c.steps[i];
      Observation o = tick(static_cast<int>(i));
      InterfaceObservation io;
      io.mode = st.mode;
      io.wanted_mode = st.wanted;
      io.rx_errors = st.rx_errors;
      io.attach_errors = st.errors;
      o.interfaces["eth0"] = io;
      EXPECT_EQ(count(step(a, o), SymptomKind::attach_degraded), st.want) << c.name << " step " << i;
    }
  }
}

// ---- flood ----------------------------------------------------------------

TalkerObservation talker(const char* ip, double pps) {
  TalkerObservation t;
  t.iface = "eth0";
  t.source = Prefix::parse(ip).value();
  t.pps = pps;
  return t;
}

std::vector<TalkerObservation> benign_talkers() {
  return {talker("192.0.2.10", 1500), talker("192.0.2.11", 1200), talker("192.0.2.12", 1800),
          talker("198.51.100.50", 1400), talker("203.0.113.7", 1000), talker("203.0.113.8", 1300)};
}

TEST(AnalyzerFlood, Table) {
  struct Case {
    const char* name;
    std::vector<TalkerObservation> attack;  // added to the benign talkers from tick 5
    std::vector<std::string> want;          // flood prefixes at tick 5
  };
  const std::vector<Case> cases = {
      {"no attack", {}, {}},
      {"one heavy host", {talker("198.51.100.7", 90000)}, {"198.51.100.7"}},
      {"a block of hosts, benign neighbour (.50) in the /24: widened up to it, not over it",
       {talker("198.51.100.1", 60000), talker("198.51.100.2", 60000), talker("198.51.100.3", 60000)},
       {"198.51.100.0/27"}},
      {"a /24 with no benign neighbour aggregates",
       {talker("100.64.7.1", 60000), talker("100.64.7.130", 60000), talker("100.64.7.250", 60000)},
       {"100.64.7.0/24"}},
      {"busy but not an outlier (below the absolute floor)", {talker("100.64.7.1", 900)}, {}},
  };
  for (const auto& c : cases) {
    Analyzer a;
    std::vector<std::string> got;
    for (int i = 0; i <= 5; ++i) {
      Observation o = tick(i);
      o.talkers = benign_talkers();
      if (i == 5) o.talkers.insert(o.talkers.end(), c.attack.begin(), c.attack.end());
      const auto ss = step(a, o);
      if (i < 5) {
        EXPECT_EQ(count(ss, SymptomKind::flood), 0) << c.name;
      }
      if (i == 5)
        for (const auto& s : ss)
          if (s.kind == SymptomKind::flood) {
            got.push_back(s.subject.prefix->to_string());
            EXPECT_GT(s.evidence.value, s.evidence.baseline) << c.name;
            EXPECT_EQ(s.since_ns, 5 * kTick) << c.name;
          }
    }
    EXPECT_EQ(got, c.want) << c.name;
  }
}

// An analyzer past its warm-up on the benign talkers; floods(i, attack)
// runs tick i with the attack added and returns the flood prefixes raised.
struct FloodTicks {
  explicit FloodTicks(AnalyzerConfig cfg = {}) : a(cfg) {
    for (int i = 0; i < 3; ++i) {
      Observation o = tick(i);
      o.talkers = benign_talkers();
      a.analyze(o);
    }
  }
  std::vector<std::string> floods(int i, const std::vector<TalkerObservation>& attack) {
    Observation o = tick(i);
    o.talkers = benign_talkers();
    o.talkers.insert(o.talkers.end(), attack.begin(), attack.end());
    std::vector<std::string> got;
    for (const auto& s : step(a, o))
      if (s.kind == SymptomKind::flood) got.push_back(s.subject.prefix->to_string());
    return got;
  }
  Analyzer a;
};

TEST(AnalyzerFlood, HostsTakingTurnsInACoveredPrefixJoinItsCoverInsteadOfRaisingHosts) {
  // Hit and run: two hosts of 100.64.7.0/24 flood together, then one new host
  // at a time takes over. After the first pair the /24 is the one flood
  // symptom: no host of it raises its own (each would be an action and a
  // rule under the block that already drops it).
  FloodTicks f;
  using V = std::vector<std::string>;
  EXPECT_EQ(f.floods(3, {talker("100.64.7.1", 60000), talker("100.64.7.2", 60000)}), V{"100.64.7.0/24"});
  int t = 4;
  for (const char* host : {"100.64.7.40", "100.64.7.99", "100.64.7.200"}) {
    EXPECT_EQ(f.floods(t++, {talker(host, 90000)}), V{"100.64.7.0/24"}) << host;
    EXPECT_EQ(f.floods(t++, {talker(host, 90000)}), V{"100.64.7.0/24"}) << host;
  }
  // A lone host elsewhere is still a host.
  EXPECT_EQ(f.floods(t++, {talker("100.64.9.5", 90000)}), (V{"100.64.7.0/24", "100.64.9.5"}));
}

TEST(AnalyzerFlood, AHeldCoverIsForgottenAfterItsHold) {
  AnalyzerConfig cfg;
  cfg.cover_hold_s = 1;  // ten ticks
  FloodTicks f(cfg);
  using V = std::vector<std::string>;
  EXPECT_EQ(f.floods(3, {talker("100.64.7.1", 60000), talker("100.64.7.2", 60000)}), V{"100.64.7.0/24"});
  for (int i = 4; i < 30; ++i) f.floods(i, {});
  EXPECT_EQ(f.floods(30, {talker("100.64.7.77", 90000)}), V{"100.64.7.77"});
}

TEST(AnalyzerFlood, HysteresisHoldsThroughADip) {
  Analyzer a;
  auto with_attack = [&](int i, double pps) {
    Observation o = tick(i);
    o.talkers = benign_talkers();
    o.talkers.push_back(talker("100.64.7.1", pps));
    return count(step(a, o), SymptomKind::flood);
  };
  for (int i = 0; i < 3; ++i) {
    Observation o = tick(i);
    o.talkers = benign_talkers();
    a.analyze(o);
  }
  EXPECT_EQ(with_attack(3, 90000), 1);
  EXPECT_EQ(with_attack(4, 4000), 1);  // 2.2x the fastest benign source: between clear (1.5) and raise (3)
  EXPECT_EQ(with_attack(5, 1300), 1);  // first tick at or below clear
  EXPECT_EQ(with_attack(6, 1300), 0);  // second: cleared
}

// ---- flood at the loop's 100 ms tick ---------------------------------------

// Benign talkers as the Monitor lists them (the 16 fastest): a spread of
// rates from tens to a few thousand pps, jittered from tick to tick.
struct Crowd {
  std::uint32_t state = 12345;
  double jitter() {  // deterministic, in [0.8, 1.2)
    state = state * 1664525u + 1013904223u;
    return 0.8 + 0.4 * static_cast<double>(state >> 8) / static_cast<double>(1u << 24);
  }
  static std::string host(int net, int i) {
    return "10." + std::to_string(net) + "." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
  }
  // n benign sources with rates spread log-uniformly between 20 and 3000 pps.
  std::vector<TalkerObservation> benign(int n, int net = 1) {
    std::vector<TalkerObservation> out;
    for (int i = 0; i < n; ++i) {
      const double base = 20.0 * std::pow(150.0, static_cast<double>(i % 12) / 11.0);
      out.push_back(talker(host(net, i).c_str(), base * jitter()));
    }
    return out;
  }
};

std::vector<TalkerObservation> top16(std::vector<TalkerObservation> ts) {
  std::sort(ts.begin(), ts.end(), [](const auto& a, const auto& b) { return a.pps > b.pps; });
  if (ts.size() > 16) ts.resize(16);
  return ts;
}

constexpr TimeNs kLoopTick = 100 * kNsPerMs;

TEST(AnalyzerFlood, AnUnmistakableFloodIsCriticalOnTheFirstTick) {
  struct Case {
    const char* name;
    std::vector<std::pair<const char*, double>> attackers;
    const char* want;
  };
  const std::vector<Case> cases = {
      {"one source at 20k pps", {{"203.0.113.9", 20000}}, "203.0.113.9"},
      {"one source at 200k pps", {{"203.0.113.9", 200000}}, "203.0.113.9"},
      {"a /24 at 3 x 30k pps", {{"203.0.113.1", 30000}, {"203.0.113.77", 30000}, {"203.0.113.250", 30000}},
       "203.0.113.0/24"},
  };
  for (const auto& c : cases) {
    Analyzer a;
    Crowd crowd;
    const int onset = 300;  // 30 s of benign history
    bool raised = false;
    for (int i = 0; i < onset + 5 && !raised; ++i) {
      Observation o;
      o.ts_ns = i * kLoopTick;
      o.talkers = crowd.benign(12);
      if (i >= onset)
        for (const auto& [ip, pps] : c.attackers) o.talkers.push_back(talker(ip, pps * crowd.jitter()));
      o.talkers = top16(o.talkers);
      for (const auto& e : a.analyze(o)) {
        ASSERT_EQ(e.symptom.kind, SymptomKind::flood) << c.name << " tick " << i;
        ASSERT_GE(i, onset) << c.name << ": benign traffic raised a flood";
        ASSERT_EQ(e.transition, SymptomTransition::raised);
        EXPECT_EQ(i, onset) << c.name << ": raised late";
        EXPECT_EQ(e.symptom.subject.prefix->to_string(), c.want) << c.name;
        EXPECT_EQ(e.symptom.severity, Severity::critical) << c.name;
        EXPECT_GE(e.symptom.score, 0.95) << c.name;
        EXPECT_LT(e.symptom.evidence.baseline, 4000) << c.name;  // the benign reference
        raised = true;
      }
    }
    EXPECT_TRUE(raised) << c.name;
  }
}

TEST(AnalyzerFlood, AFlashCrowdRaisesNoFlood) {
  // 12 regular sources for 30 s, then new legitimate sources arrive at ten
  // times the usual rate of new sources, each at an ordinary per-source rate,
  // until the interface carries ten times its usual total.
  Analyzer a;
  Crowd crowd;
  double before = 0, during = 0;
  for (int i = 0; i < 900; ++i) {
    Observation o;
    o.ts_ns = i * kLoopTick;
    auto all = crowd.benign(12);
    const int arrived = i < 300 ? 0 : std::min(108, (i - 300) / 2);
    auto crowd_now = crowd.benign(arrived, 2);
    all.insert(all.end(), crowd_now.begin(), crowd_now.end());
    double total = 0;
    for (const auto& t : all) total += t.pps;
    (i < 300 ? before : during) = std::max(i < 300 ? before : during, total);
    o.talkers = top16(all);
    for (const auto& e : a.analyze(o)) ADD_FAILURE() << "tick " << i << ": " << e.symptom.evidence.detail;
  }
  EXPECT_GT(during, 8 * before);  // the crowd did multiply the traffic
}

TEST(AnalyzerFlood, AFreshAnalyzerJudgesWhatARuleDropsAndLearnsWhatPasses) {
  // Started with traffic flowing (no history). A 50k pps source that a rule
  // from before the restart drops is the attack the loop knew: raised on the
  // first tick, against the median talker. The same source passing is as
  // likely a heavy client as a flood: learned, not raised, then or after.
  for (bool dropped : {true, false}) {
    Analyzer a;
    Crowd crowd;
    for (int i = 0; i < 10; ++i) {
      Observation o;
      o.ts_ns = i * kLoopTick;
      o.talkers = crowd.benign(12);
      auto heavy = talker("203.0.113.9", 50000);
      heavy.packets = 5000 * static_cast<std::uint64_t>(i + 1);
      heavy.dropped = dropped ? heavy.packets : 0;
      o.talkers.push_back(heavy);
      o.talkers = top16(o.talkers);
      a.analyze(o);
      if (dropped) {
        ASSERT_EQ(a.active().size(), 1u) << "tick " << i;
        EXPECT_EQ(a.active()[0].subject.prefix->to_string(), "203.0.113.9");
        if (i == 0) {
          EXPECT_NE(a.active()[0].evidence.detail.find("no history"), std::string::npos);
        }
      } else {
        EXPECT_TRUE(a.active().empty()) << "tick " << i << ": a heavy source passing at the start was blamed";
      }
    }
  }
}

}  // namespace
}  // namespace reflex::analyze
