// The Analyzer reports transitions: a symptom is raised once with an id,
// updated only when it changes materially, and cleared with the same id; the
// active set it keeps is what folding its events gives. Also its purity: the
// same Observations give the same events, field for field, whatever else runs
// beside it, from a copy taken midway, and a day later on the clock.

#include "analyze/analyzer.h"
#include "knowledge/symptom_board.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace reflex::analyze {
namespace {

constexpr TimeNs kTick = 100 * kNsPerMs;

std::string text(const Symptom& s) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s %s iface=%s prefix=%s map=%s reason=%s sev=%s score=%.17g ev=%.17g/%.17g/%.17g/%s since=%lld ts=%lld",
                s.id.c_str(), std::string(to_string(s.kind)).c_str(), s.subject.iface.c_str(),
                s.subject.prefix ? s.subject.prefix->to_string().c_str() : "-", s.subject.map.c_str(),
                s.subject.reason.c_str(), std::string(to_string(s.severity)).c_str(), s.score, s.evidence.value,
                s.evidence.baseline, s.evidence.deviation, s.evidence.detail.c_str(),
                static_cast<long long>(s.since_ns), static_cast<long long>(s.ts_ns));
  return buf;
}

std::string text(const SymptomEvent& e) { return std::string(to_string(e.transition)) + " " + text(e.symptom); }

TalkerObservation talker(const char* ip, double pps) {
  TalkerObservation t;
  t.iface = "eth0";
  t.source = Prefix::parse(ip).value();
  t.pps = pps;
  return t;
}

// A stream in which every kind of symptom is raised and cleared: benign
// talkers, a flood from tick 40 to 60, drops from 30 to 45, an RTT incident
// from 50 to 70, a map filling and draining, and the guard falling back to
// generic between 20 and 25.
Observation scenario(int i, TimeNs offset = 0) {
  Observation o;
  o.ts_ns = offset + static_cast<TimeNs>(i) * kTick;
  o.seq = static_cast<std::uint64_t>(i);
  o.interval_ns = i == 0 ? 0 : kTick;
  InterfaceObservation io;
  io.mode = i >= 20 && i < 25 ? AttachMode::generic : AttachMode::native;
  io.wanted_mode = AttachMode::native;
  io.xdp.pass = static_cast<std::uint64_t>(i) * 2000;
  std::uint64_t dropped = 0;
  for (int k = 0; k <= i; ++k) dropped += k >= 30 && k < 45 ? 400 : 1;
  io.drops["SKB_DROP_REASON_NOMEM"] = dropped;
  io.rx_packets = io.xdp.pass + dropped;
  io.rx_pps = 20000;
  io.rx_bps = 20000 * 8 * 500.0;
  const double p99 = i >= 50 && i < 70 ? 9000 : 1000 + 10 * (i % 3);
  io.rtt = RttSummary{p99 / 2, p99 * 0.8, p99, 100, {}};
  o.interfaces["eth0"] = io;
  for (const char* ip : {"192.0.2.10", "192.0.2.11", "192.0.2.12", "198.51.100.50", "203.0.113.7"})
    o.talkers.push_back(talker(ip, 900 + 37 * (i % 5)));
  if (i >= 40 && i < 60) o.talkers.push_back(talker("100.64.7.1", 80000));
  const int fill = i < 50 ? 500 + 10 * i : 1000 - 10 * (i - 50);
  o.maps["rules_v4"] = MapObservation{static_cast<std::uint64_t>(std::max(fill, 0)), 1000, 0};
  return o;
}

constexpr int kTicks = 100;

std::vector<std::string> run_scenario(Analyzer& a, int from, int to, TimeNs offset = 0) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i)
    for (const auto& e : a.analyze(scenario(i, offset))) out.push_back(std::to_string(i) + " " + text(e));
  return out;
}

TEST(SymptomLifecycle, EachKindIsRaisedOnceAndClearedWithTheSameId) {
  Analyzer a;
  std::map<std::string, std::vector<SymptomTransition>> by_id;
  std::map<SymptomKind, int> raised;
  SymptomBoard board;
  for (int i = 0; i < kTicks; ++i) {
    const auto events = a.analyze(scenario(i));
    board.apply(events);
    for (const auto& e : events) {
      ASSERT_FALSE(e.symptom.id.empty());
      EXPECT_EQ(e.symptom.ts_ns, scenario(i).ts_ns);
      by_id[e.symptom.id].push_back(e.transition);
      if (e.transition == SymptomTransition::raised) ++raised[e.symptom.kind];
    }
    // Folding the events gives the Analyzer's own active set, in the same order.
    std::vector<std::string> folded, own;
    for (const auto& s : board.active()) folded.push_back(s.id);
    for (const auto& s : a.active()) own.push_back(s.id);
    ASSERT_EQ(folded, own) << "tick " << i;
  }
  for (SymptomKind k : {SymptomKind::flood, SymptomKind::drop_rate_high, SymptomKind::latency_high,
                        SymptomKind::map_pressure, SymptomKind::attach_degraded})
    EXPECT_GE(raised[k], 1) << to_string(k);
  // Every episode: raised first, then only updates, and cleared once at the end
  // (the scenario ends quiet, so every episode ends).
  for (const auto& [id, ts] : by_id) {
    ASSERT_GE(ts.size(), 2u) << id;
    EXPECT_EQ(ts.front(), SymptomTransition::raised) << id;
    EXPECT_EQ(ts.back(), SymptomTransition::cleared) << id;
    for (std::size_t k = 1; k + 1 < ts.size(); ++k) EXPECT_EQ(ts[k], SymptomTransition::updated) << id;
  }
  EXPECT_TRUE(a.active().empty());
}

TEST(SymptomLifecycle, ASteadySymptomIsNotReportedEveryTick) {
  // A flood at a constant rate for 30 ticks: raised, nothing while it is
  // steady, then updated on the first quiet tick (score 0, clearing needs two)
  // and cleared.
  Analyzer a;
  std::vector<SymptomTransition> seen;
  for (int i = 0; i < 40; ++i) {
    Observation o;
    o.ts_ns = i * kTick;
    for (const char* ip : {"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"}) o.talkers.push_back(talker(ip, 1000));
    if (i >= 5 && i < 35) o.talkers.push_back(talker("100.64.7.1", 90000));
    for (const auto& e : a.analyze(o)) {
      EXPECT_EQ(e.symptom.kind, SymptomKind::flood);
      seen.push_back(e.transition);
    }
    if (i >= 5 && i < 35) {
      ASSERT_EQ(a.active().size(), 1u) << "tick " << i;
      EXPECT_EQ(a.active()[0].ts_ns, o.ts_ns);  // the active set is current although no event was sent
    }
  }
  EXPECT_EQ(seen, (std::vector{SymptomTransition::raised, SymptomTransition::updated, SymptomTransition::cleared}));
}

TEST(SymptomLifecycle, SeverityChangeIsAnUpdateAndANewEpisodeANewId) {
  Analyzer a;
  std::uint64_t pass = 0, drop = 0;
  std::vector<SymptomEvent> all;
  // Drop share per tick: warning, critical, warning, quiet (clears), warning again.
  const std::vector<double> share = {0, 0.10, 0.40, 0.10, 0.0, 0.0, 0.0, 0.10};
  for (std::size_t i = 0; i < share.size(); ++i) {
    const auto d = static_cast<std::uint64_t>(10000 * share[i]);
    drop += d;
    pass += 10000 - d;
    Observation o;
    o.ts_ns = static_cast<TimeNs>(i) * kTick;
    InterfaceObservation io;
    io.xdp.pass = pass;
    io.rx_dropped = drop;
    o.interfaces["eth0"] = io;
    for (auto& e : a.analyze(o))
      if (e.symptom.subject.reason.empty()) all.push_back(e);
  }
  // raised (warning), updated (critical), updated (warning), updated (the first
  // quiet tick: score 0, still active until the second), cleared, raised.
  ASSERT_EQ(all.size(), 6u);
  using T = SymptomTransition;
  const std::vector<T> want = {T::raised, T::updated, T::updated, T::updated, T::cleared, T::raised};
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_EQ(all[k].transition, want[k]) << k;
  EXPECT_EQ(all[0].symptom.severity, Severity::warning);
  EXPECT_EQ(all[1].symptom.severity, Severity::critical);
  EXPECT_EQ(all[2].symptom.severity, Severity::warning);
  EXPECT_EQ(all[3].symptom.score, 0.0);
  for (int k = 1; k < 5; ++k) {
    EXPECT_EQ(all[k].symptom.id, all[0].symptom.id);
    EXPECT_EQ(all[k].symptom.since_ns, all[0].symptom.since_ns);
  }
  EXPECT_NE(all[5].symptom.id, all[0].symptom.id);
  EXPECT_EQ(all[0].symptom.id, "drop_rate_high:eth0@" + std::to_string(1 * kTick));
}

TEST(SymptomBoardFold, RaisedUpdatedClearedKeepOnePerKindAndSubject) {
  SymptomBoard b;
  Symptom s;
  s.kind = SymptomKind::flood;
  s.subject.iface = "eth0";
  s.subject.prefix = Prefix::parse("192.0.2.1").value();
  s.id = "a";
  s.score = 0.6;
  b.apply({SymptomTransition::raised, s});
  s.score = 0.9;
  b.apply({SymptomTransition::updated, s});
  Symptom other = s;
  other.subject.prefix = Prefix::parse("192.0.2.2").value();
  other.id = "b";
  b.apply({SymptomTransition::raised, other});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.find(SymptomKind::flood, s.subject)->score, 0.9);
  b.apply({SymptomTransition::cleared, s});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.active()[0].id, "b");
  EXPECT_EQ(b.find(SymptomKind::flood, s.subject), nullptr);
}

// ---- purity ---------------------------------------------------------------

TEST(AnalyzerPurity, SameObservationsSameSymptoms) {
  Analyzer first;
  const auto want = run_scenario(first, 0, kTicks);
  ASSERT_GT(want.size(), 10u);  // the scenario exercises every kind

  // A second analyzer, fed the same stream while a third (fed a different one)
  // runs interleaved with it: no state is shared between instances.
  Analyzer second, noise;
  std::vector<std::string> got;
  for (int i = 0; i < kTicks; ++i) {
    Observation other = scenario((i * 7) % kTicks);
    other.ts_ns = scenario(i).ts_ns;
    noise.analyze(other);
    for (const auto& e : second.analyze(scenario(i))) got.push_back(std::to_string(i) + " " + text(e));
  }
  EXPECT_EQ(got, want);
}

TEST(AnalyzerPurity, ACopyTakenMidwayContinuesIdentically) {
  // The Analyzer is a value: everything it remembers is in the object.
  Analyzer a;
  auto head = run_scenario(a, 0, 45);
  Analyzer copy = a;
  const auto tail_a = run_scenario(a, 45, kTicks);
  const auto tail_copy = run_scenario(copy, 45, kTicks);
  EXPECT_FALSE(tail_a.empty());
  EXPECT_EQ(tail_a, tail_copy);
}

TEST(AnalyzerPurity, TimeComesOnlyFromTheObservations) {
  // The same stream a day later on the clock: the same events, shifted by a day
  // (a day keeps the time-of-day profiles in phase). Reading a clock, or any
  // input but the Observations, would show here.
  const TimeNs day = 86400 * kNsPerSec;
  Analyzer a, b;
  const auto now = run_scenario(a, 0, kTicks);
  std::vector<std::string> later;
  for (int i = 0; i < kTicks; ++i)
    for (auto e : b.analyze(scenario(i, day))) {
      auto unshift = [&](TimeNs t) { return t - day; };
      e.symptom.ts_ns = unshift(e.symptom.ts_ns);
      const std::string at = "@" + std::to_string(e.symptom.since_ns);
      e.symptom.since_ns = unshift(e.symptom.since_ns);
      ASSERT_GE(e.symptom.id.size(), at.size());
      ASSERT_EQ(e.symptom.id.substr(e.symptom.id.size() - at.size()), at);
      e.symptom.id = e.symptom.id.substr(0, e.symptom.id.size() - at.size()) + "@" + std::to_string(e.symptom.since_ns);
      later.push_back(std::to_string(i) + " " + text(e));
    }
  EXPECT_EQ(later, now);
}

}  // namespace
}  // namespace reflex::analyze
