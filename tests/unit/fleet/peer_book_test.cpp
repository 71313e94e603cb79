#include "fleet/peer_book.h"

#include <gtest/gtest.h>

namespace reflex::fleet {
namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }

constexpr TimeNs kWall = 1'800'000'000 * kNsPerSec;

class PeerBookTest : public ::testing::Test {
 protected:
  PeerBookTest() : book_(trust(), "self") {
    g_.never_block = {P("10.99.0.0/16"), P("fe80::/10")};
  }
  static TrustConfig trust() {
    TrustConfig t;
    t.rate_per_minute = 6;
    t.burst = 3;
    t.max_ttl = 600 * kNsPerSec;
    t.max_age = 60 * kNsPerSec;
    t.max_entries = 8;
    return t;
  }
  Verdict v(const std::string& node, const char* prefix, TimeNs ttl = 300 * kNsPerSec) {
    Verdict x;
    x.node = node;
    x.seq = ++seq_[node];
    x.wall_ns = kWall + now_;
    x.prefix = P(prefix);
    x.score = 0.9;
    x.action = VerdictAction::block;
    x.ttl_ns = ttl;
    return x;
  }
  Admission admit(const Verdict& x) { return book_.admit(x, x.node, now_, kWall + now_, g_); }
  std::vector<SymptomEvent> update(std::vector<Symptom> local = {}) { return book_.update(now_, local); }

  PeerBook book_;
  plan::Guardrails g_;
  TimeNs now_ = 1000 * kNsPerSec;
  std::map<std::string, std::uint64_t> seq_;
};

TEST_F(PeerBookTest, OneReportRaisesAWarningPeerVerdictNamingThePeer) {
  ASSERT_TRUE(admit(v("b", "203.0.113.0/24")).accepted);
  auto ev = update();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].transition, SymptomTransition::raised);
  const Symptom& s = ev[0].symptom;
  EXPECT_EQ(s.kind, SymptomKind::peer_verdict);
  EXPECT_EQ(s.subject.prefix, P("203.0.113.0/24"));
  EXPECT_TRUE(s.subject.iface.empty());
  EXPECT_EQ(s.severity, Severity::warning);
  EXPECT_EQ(s.evidence.value, 1);
  EXPECT_NE(s.evidence.detail.find("1 peer (b)"), std::string::npos) << s.evidence.detail;
  EXPECT_FALSE(s.id.empty());
  EXPECT_TRUE(update().empty()) << "nothing changed: no event";
}

TEST_F(PeerBookTest, DistinctPeersCountOnceEachAndRenewalsDoNotAddUp) {
  ASSERT_TRUE(admit(v("b", "203.0.113.0/24")).accepted);
  update();
  now_ += 10 * kNsPerSec;
  auto again = admit(v("b", "203.0.113.0/24"));
  EXPECT_TRUE(again.accepted);
  EXPECT_TRUE(again.renewal);
  EXPECT_TRUE(update().empty()) << "the same peer again is still one peer";
  ASSERT_TRUE(admit(v("c", "203.0.113.0/24")).accepted);
  auto ev = update();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].transition, SymptomTransition::updated);
  EXPECT_EQ(ev[0].symptom.evidence.value, 2);
  EXPECT_EQ(book_.peers(), 2u);
  EXPECT_EQ(book_.stats().accepted, 2u);
  EXPECT_EQ(book_.stats().renewed, 1u);
}

TEST_F(PeerBookTest, ALocalSymptomOnAnOverlappingPrefixMakesItCritical) {
  ASSERT_TRUE(admit(v("b", "203.0.113.0/24")).accepted);
  update();
  Symptom local;
  local.kind = SymptomKind::flood;
  local.subject.iface = "eth0";
  local.subject.prefix = P("203.0.113.9");
  auto ev = update({local});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].symptom.severity, Severity::critical);
  EXPECT_NE(ev[0].symptom.evidence.detail.find("seen here too"), std::string::npos);
  Symptom elsewhere = local;
  elsewhere.subject.prefix = P("198.51.100.9");
  ev = update({elsewhere});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].symptom.severity, Severity::warning) << "a flood from another prefix corroborates nothing";
}

TEST_F(PeerBookTest, AVerdictClearsWhenItsTtlRunsOutCappedByMaxTtl) {
  ASSERT_TRUE(admit(v("b", "203.0.113.0/24", 3600 * kNsPerSec)).accepted);  // asks for an hour
  update();
  now_ += 599 * kNsPerSec;
  EXPECT_TRUE(update().empty());
  now_ += 1 * kNsPerSec;  // max_ttl 600 s
  auto ev = update();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].transition, SymptomTransition::cleared);
  EXPECT_EQ(book_.entries(), 0u);
  EXPECT_TRUE(book_.active().empty());
}

TEST_F(PeerBookTest, RefusesWhatTheLocalGuardrailsForbid) {
  auto nb = admit(v("b", "10.99.3.0/24"));
  ASSERT_EQ(nb.refusal, Refusal::never_block);
  EXPECT_NE(nb.detail.find("10.99.0.0/16"), std::string::npos);
  EXPECT_EQ(admit(v("b", "10.0.0.0/8")).refusal, Refusal::never_block) << "covering a protected range";
  EXPECT_EQ(admit(v("c", "198.51.0.0/16")).refusal, Refusal::too_wide);
  EXPECT_EQ(admit(v("c", "2001:db8::/32")).refusal, Refusal::too_wide);
  EXPECT_TRUE(update().empty());
  EXPECT_EQ(book_.stats().refused[static_cast<int>(Refusal::never_block)], 2u);
  EXPECT_EQ(book_.stats().refused[static_cast<int>(Refusal::too_wide)], 2u);
}

TEST_F(PeerBookTest, CapsEachPeersRateWithoutTouchingOthers) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(admit(v("noisy", ("198.51.100." + std::to_string(i)).c_str())).accepted);
  auto r = admit(v("noisy", "198.51.100.9"));
  EXPECT_EQ(r.refusal, Refusal::rate_capped);
  EXPECT_TRUE(admit(v("calm", "198.51.100.9")).accepted);
  now_ += 10 * kNsPerSec;  // 6/min: one token back
  EXPECT_TRUE(admit(v("noisy", "198.51.100.10")).accepted);
  EXPECT_EQ(admit(v("noisy", "198.51.100.11")).refusal, Refusal::rate_capped);
}

TEST_F(PeerBookTest, RefusesForgedReplayedStaleAndUnknownVerdicts) {
  auto x = v("b", "203.0.113.0/24");
  EXPECT_EQ(book_.admit(x, "c", now_, kWall + now_, g_).refusal, Refusal::node_mismatch)
      << "a body claiming another node than its subject";
  ASSERT_TRUE(admit(x).accepted);
  EXPECT_EQ(admit(x).refusal, Refusal::duplicate) << "the same seq again";
  auto old = v("b", "203.0.113.0/24");
  old.wall_ns -= 61 * kNsPerSec;
  EXPECT_EQ(admit(old).refusal, Refusal::stale);
  auto future = v("b", "203.0.113.0/24");
  future.wall_ns += 61 * kNsPerSec;
  EXPECT_EQ(admit(future).refusal, Refusal::stale);
  auto own = v("self", "203.0.113.0/24");
  auto a = admit(own);
  EXPECT_FALSE(a.accepted);
  EXPECT_FALSE(a.refusal) << "our own echo is ignored, not refused";

  TrustConfig t = trust();
  t.peers = {"b"};
  PeerBook strict(t, "self");
  auto y = v("c", "203.0.113.0/24");
  EXPECT_EQ(strict.admit(y, "c", now_, kWall + now_, g_).refusal, Refusal::unknown_peer);
}

// What active() fills: a symptom stands with the stamp it had until its
// verdicts change, then comes with a new one; a copy of the book fills the
// same (it cannot use the original's index into its own board).
TEST_F(PeerBookTest, ABoardSymptomKeepsItsStampUntilItChangesAndACopyFillsTheSame) {
  ASSERT_TRUE(admit(v("b", "203.0.113.0/24")).accepted);
  ASSERT_TRUE(admit(v("c", "198.51.100.0/24")).accepted);
  update();
  auto fill = [](const PeerBook& b, std::vector<Symptom>& out, std::vector<std::uint64_t>& stamps) {
    SymptomFill f(out, stamps);
    b.active(f);
    f.done();
  };
  std::vector<Symptom> first, again;
  std::vector<std::uint64_t> first_stamps, again_stamps;
  fill(book_, first, first_stamps);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_NE(first_stamps[0], 0u);
  EXPECT_NE(first_stamps[0], first_stamps[1]);
  now_ += kNsPerSec;
  update();
  fill(book_, again, again_stamps);
  EXPECT_EQ(again_stamps, first_stamps) << "nothing changed: the same stamps";
  EXPECT_EQ(again[0].ts_ns, now_);

  // A second peer on 198.51.100.0/24 (the board's first, by prefix): new content, a new stamp.
  ASSERT_TRUE(admit(v("d", "198.51.100.0/24")).accepted);
  update();
  fill(book_, again, again_stamps);
  EXPECT_NE(again_stamps[0], first_stamps[0]);
  EXPECT_EQ(again_stamps[1], first_stamps[1]);
  EXPECT_EQ(again[0].evidence.value, 2);

  const PeerBook copy = book_;
  std::vector<Symptom> copied;
  std::vector<std::uint64_t> copied_stamps;
  fill(copy, copied, copied_stamps);
  EXPECT_EQ(copied, again);
  EXPECT_EQ(copied_stamps, again_stamps);
}

TEST_F(PeerBookTest, HoldsAtMostMaxEntries) {
  TrustConfig t = trust();
  t.burst = 100;
  PeerBook book(t, "self");
  for (int i = 0; i < 8; ++i) {
    auto x = v("b", ("198.51.100." + std::to_string(i)).c_str());
    ASSERT_TRUE(book.admit(x, "b", now_, kWall + now_, g_).accepted);
  }
  auto x = v("b", "198.51.100.77");
  EXPECT_EQ(book.admit(x, "b", now_, kWall + now_, g_).refusal, Refusal::capacity);
  EXPECT_EQ(book.entries(), 8u);
}

}  // namespace
}  // namespace reflex::fleet
