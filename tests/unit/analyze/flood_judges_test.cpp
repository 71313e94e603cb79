// The flood's two judges beyond the per-source reference: a known source's
// own series (its SignalGate), and a network judged as a whole (the Monitor's
// prefix_talkers, gated by the interface's received rate).

#include "analyze/analyzer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace reflex::analyze {
namespace {

constexpr TimeNs kTick = 100 * kNsPerMs;

TalkerObservation host(const std::string& ip, double pps) {
  TalkerObservation t;
  t.iface = "eth0";
  t.source = Prefix::parse(ip).value();
  t.pps = pps;
  return t;
}

PrefixTalkerObservation network(const std::string& net, std::uint32_t hosts, double pps) {
  PrefixTalkerObservation n;
  n.iface = "eth0";
  n.prefix = Prefix::parse(net).value();
  n.sources = hosts;
  n.pps = pps;
  return n;
}

// The node's ordinary traffic: 40 UDP clients in 100.64.1.0/24 (8 kpps
// together, the fastest at 200 to 930 pps) and 4 TCP clients in
// 10.250.1.0/24 (1700 pps each), as the Monitor lists them: the 16 fastest
// hosts and the networks.
struct Traffic {
  double rx_pps = 8000 + 4 * 1700;
  std::vector<TalkerObservation> hosts;
  std::vector<PrefixTalkerObservation> nets;
  Traffic() {
    for (int i = 1; i <= 4; ++i) hosts.push_back(host("10.250.1." + std::to_string(i), 1700));
    for (int i = 1; i <= 12; ++i) hosts.push_back(host("100.64.1." + std::to_string(i), 200 * std::pow(1.15, i - 1)));
    nets = {network("100.64.1.0/24", 40, 8000), network("10.250.1.0/24", 4, 4 * 1700)};
  }
  Observation at(int i) const {
    Observation o;
    o.ts_ns = static_cast<TimeNs>(i) * kTick;
    // A little jitter, so the interface's series has a spread to learn.
    o.interfaces["eth0"].rx_pps = rx_pps * (1.0 + 0.03 * (i % 5));
    o.talkers = hosts;
    o.prefix_talkers = nets;
    return o;
  }
};

std::vector<Symptom> floods(const Analyzer& a) {
  std::vector<Symptom> out;
  for (const auto& s : a.active())
    if (s.kind == SymptomKind::flood) out.push_back(s);
  return out;
}

// 200 ticks (20 s) of ordinary traffic: every baseline past its warm-up.
constexpr int kOnset = 200;

TEST(NetworkFlood, AFloodSpreadThinOverANetworkIsRaisedOnTheNetwork) {
  // 250 hosts of 203.0.113.0/24 at 400 pps each: every one slower than the
  // TCP clients, so no host stands out; the /24 carries 100 kpps.
  Analyzer a;
  Traffic t;
  for (int i = 0; i < kOnset; ++i) {
    a.analyze(t.at(i));
    ASSERT_TRUE(floods(a).empty()) << "ordinary traffic raised a flood at tick " << i << ": "
                                   << floods(a)[0].subject.prefix->to_string() << " " << floods(a)[0].evidence.detail;
  }
  t.rx_pps += 100000;
  t.nets.push_back(network("203.0.113.0/24", 250, 100000));
  a.analyze(t.at(kOnset));
  const auto f = floods(a);
  ASSERT_EQ(f.size(), 1u) << "the thin flood was not raised on its first tick";
  EXPECT_EQ(f[0].subject.prefix->to_string(), "203.0.113.0/24");
  EXPECT_EQ(f[0].severity, Severity::critical);
  EXPECT_DOUBLE_EQ(f[0].evidence.value, 100000);
  EXPECT_NEAR(f[0].evidence.baseline, 8000, 10);  // the fastest benign network (decaying slowly)
  EXPECT_NE(f[0].evidence.detail.find("250 hosts"), std::string::npos) << f[0].evidence.detail;

  // It stops: the network's flood clears after the hysteresis' two ticks.
  t = Traffic();
  a.analyze(t.at(kOnset + 1));
  a.analyze(t.at(kOnset + 2));
  EXPECT_TRUE(floods(a).empty());
}

TEST(NetworkFlood, ACrowdOfUsersIsNoFloodHoweverMany) {
  struct Case {
    const char* name;
    std::vector<PrefixTalkerObservation> crowd;
  };
  std::vector<PrefixTalkerObservation> spread;
  for (int n = 0; n < 32; ++n) spread.push_back(network("100.64." + std::to_string(32 + n) + ".0/24", 16, 16 * 40));
  const std::vector<Case> cases = {
      {"500 users over a /19 at 40 pps each", spread},
      {"250 users behind one /24 at 40 pps each (10 kpps)",
       {network("100.66.0.0/24", 250, 250 * 40)}},
  };
  for (const auto& c : cases) {
    Analyzer a;
    Traffic t;
    for (int i = 0; i < kOnset; ++i) a.analyze(t.at(i));
    for (const auto& n : c.crowd) {
      t.nets.push_back(n);
      t.rx_pps += n.pps;
    }
    for (int i = kOnset; i < kOnset + 80; ++i) a.analyze(t.at(i));
    EXPECT_TRUE(floods(a).empty()) << c.name;
  }
}

TEST(NetworkFlood, ANetworkWithAQuietClientIsNotBlamedWhole) {
  // The /24 of the UDP clients starts sending 100 kpps more over 250 hosts:
  // blocking the /24 would block the 40 clients that were there before.
  Analyzer a;
  Traffic t;
  for (int i = 0; i < kOnset; ++i) a.analyze(t.at(i));
  t.rx_pps += 100000;
  t.nets[0] = network("100.64.1.0/24", 290, 108000);
  for (int i = kOnset; i < kOnset + 10; ++i) a.analyze(t.at(i));
  EXPECT_TRUE(floods(a).empty());
}

TEST(NetworkFlood, AMarginalNetworkFloodNeedsTheInterfacesTrafficToBeUnusual) {
  // 3.5x the fastest benign network, under the critical level (5x): raised
  // when the interface's received rate jumps with it, not when the network
  // grew while the interface's total stayed ordinary (traffic that moved
  // between networks).
  for (bool jump : {true, false}) {
    Analyzer a;
    Traffic t;
    for (int i = 0; i < kOnset; ++i) a.analyze(t.at(i));
    t.nets.push_back(network("198.18.5.0/24", 60, 3.5 * 8000));
    if (jump) t.rx_pps *= 4;
    a.analyze(t.at(kOnset));
    const auto f = floods(a);
    if (jump) {
      ASSERT_EQ(f.size(), 1u);
      EXPECT_EQ(f[0].severity, Severity::warning);
      EXPECT_NE(f[0].evidence.detail.find("received rate unusual"), std::string::npos) << f[0].evidence.detail;
    } else {
      EXPECT_TRUE(f.empty());
    }
  }
}

TEST(NetworkFlood, APulsingFloodIsRaisedOnEveryPulse) {
  // 80 kpps over 250 hosts of 198.51.100.0/24, 1.5 s on and 2.5 s off; a few
  // of its hosts make the top-16 list during a pulse, and are quiet in the
  // gaps: they are not the network's clients for the next pulse.
  Analyzer a;
  Traffic t;
  for (int i = 0; i < kOnset; ++i) a.analyze(t.at(i));
  for (int pulse = 0; pulse < 4; ++pulse) {
    bool raised = false;
    for (int k = 0; k < 40; ++k) {
      const int i = kOnset + pulse * 40 + k;
      Observation o = t.at(i);
      if (k < 15) {
        o.interfaces["eth0"].rx_pps += 80000;
        for (int h = 1; h <= 4; ++h) o.talkers.push_back(host("198.51.100." + std::to_string(h), 320));
        o.prefix_talkers.push_back(network("198.51.100.0/24", 250, 80000));
      }
      a.analyze(o);
      if (k < 15)
        for (const auto& f : floods(a)) raised |= f.subject.prefix->to_string() == "198.51.100.0/24";
    }
    EXPECT_TRUE(raised) << "pulse " << pulse;
  }
}

TEST(NetworkFlood, HostsAndTheirNetworkAreOneSymptom) {
  // 20 hosts at 6 kpps each: the per-source judge raises them (covered by
  // the /24) and the network judge raises the /24: one flood reaches the
  // planner, on every tick of the attack.
  Analyzer a;
  Traffic t;
  for (int i = 0; i < kOnset; ++i) a.analyze(t.at(i));
  t.rx_pps += 100000;
  for (int h = 1; h <= 20; ++h) t.hosts.push_back(host("203.0.113." + std::to_string(h), 6000));
  t.nets.push_back(network("203.0.113.0/24", 20, 120000));
  for (int i = kOnset; i < kOnset + 20; ++i) {
    a.analyze(t.at(i));
    const auto f = floods(a);
    ASSERT_EQ(f.size(), 1u) << "tick " << i;
    EXPECT_TRUE(Prefix::parse("203.0.113.0/24").value().contains(*f[0].subject.prefix));
  }
}

// ---- a known source's own series ------------------------------------------

TEST(KnownSourceFlood, AClientThatAlwaysBurstsLearnsItsBursts) {
  // A sync client swings between 600 and 1500 pps and every fifth tick
  // bursts to 8 kpps (4.7x the fastest other source, short of critical:
  // under 5x). Its first bursts raise (no series yet); once its series knows
  // the bursts, they are ordinary for it, while a new source at the same
  // rate is still a flood.
  Analyzer a;
  Traffic t;
  int raised_early = 0, raised_late = 0;
  for (int i = 0; i < 400; ++i) {
    Observation o = t.at(i);
    o.talkers.push_back(host("10.250.2.9", i % 5 == 4 ? 1700 * 4.7 : 600 + 300 * (i % 4)));
    a.analyze(o);
    (i < 100 ? raised_early : raised_late) += !floods(a).empty();
  }
  EXPECT_GT(raised_early, 0) << "its first bursts, before it had a series, should have raised";
  EXPECT_EQ(raised_late, 0) << "raised on " << raised_late << " of 300 ticks after its series knew the bursts";
  Observation o = t.at(400);
  o.talkers.push_back(host("10.250.2.9", 1000));
  o.talkers.push_back(host("10.250.3.3", 1700 * 4.7));
  a.analyze(o);
  const auto f = floods(a);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].subject.prefix->to_string(), "10.250.3.3");
}

TEST(KnownSourceFlood, ASteadyClientThatJumpsIsRaised) {
  Analyzer a;
  Traffic t;
  for (int i = 0; i < 600; ++i) {
    Observation o = t.at(i);
    o.talkers.push_back(host("10.250.2.9", 1000 * (1.0 + 0.02 * (i % 3))));
    a.analyze(o);
    ASSERT_TRUE(floods(a).empty()) << "tick " << i;
  }
  Observation o = t.at(600);
  o.talkers.push_back(host("10.250.2.9", 1700 * 3.5));
  a.analyze(o);
  const auto f = floods(a);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].subject.prefix->to_string(), "10.250.2.9");
  EXPECT_EQ(f[0].severity, Severity::warning);
}

}  // namespace
}  // namespace reflex::analyze
