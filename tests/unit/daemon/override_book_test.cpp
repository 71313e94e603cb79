#include "daemon/override_book.h"

#include <gtest/gtest.h>

namespace reflex::daemon {
namespace {

constexpr TimeNs kNow = 1000 * kNsPerSec;

Override block_override(const std::string& prefix, TimeNs ttl) {
  Override o;
  o.kind = Override::Kind::manual;
  o.who = "alice";
  o.expires_ns = kNow + ttl;
  Action a;
  a.spec = BlockPrefix{"", Prefix::parse(prefix).value(), {}};
  o.action = a;
  return o;
}

TEST(OverrideBook, AnOverrideNeedsAnExpiryAndAnAuthor) {
  OverrideBook b;
  Override o = block_override("192.0.2.1", 0);
  o.expires_ns = 0;
  auto r = b.add(o, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("expiry"), std::string::npos);
  o.expires_ns = kNow - 1;
  EXPECT_FALSE(b.add(o, kNow));
  o = block_override("192.0.2.1", 60 * kNsPerSec);
  o.who.clear();
  r = b.add(o, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("who"), std::string::npos);
  EXPECT_EQ(b.size(), 0u);
}

TEST(OverrideBook, IdsAreAssignedAndTheActionLivesAsLongAsTheOverride) {
  OverrideBook b;
  auto r = b.add(block_override("192.0.2.1", 60 * kNsPerSec), kNow);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->id, "ovr-1");
  EXPECT_EQ(r->created_ns, kNow);
  ASSERT_TRUE(r->action);
  EXPECT_EQ(r->action->ttl_ns, 60 * kNsPerSec);
  auto r2 = b.add(block_override("192.0.2.2", 60 * kNsPerSec), kNow);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->id, "ovr-2");
  auto dup = block_override("192.0.2.3", kNsPerSec);
  dup.id = "ovr-1";
  EXPECT_FALSE(b.add(dup, kNow));
  dup.id = "bad id!";
  EXPECT_FALSE(b.add(dup, kNow));
  EXPECT_EQ(b.in_force().size(), 2u);
}

TEST(OverrideBook, ActionsThatCannotBeAppliedAreRefused) {
  OverrideBook b;
  Override o = block_override("192.0.2.1", kNsPerSec);
  o.action->spec = RateLimitPrefix{"", Prefix::parse("192.0.2.1").value(), 0, 0, {}};
  EXPECT_FALSE(b.add(o, kNow));
  o.action->spec = ShapeInterface{"", std::nullopt, 1000000, 0};
  EXPECT_FALSE(b.add(o, kNow));  // no interface
  o.action->spec = Alert{"hi"};
  EXPECT_FALSE(b.add(o, kNow));
  o.action.reset();
  EXPECT_FALSE(b.add(o, kNow));
  Override f;
  f.kind = Override::Kind::forbid;
  f.who = "bob";
  f.expires_ns = kNow + kNsPerSec;
  f.action_kind = "nuke";
  EXPECT_FALSE(b.add(f, kNow));
  f.action_kind = "block";
  EXPECT_TRUE(b.add(f, kNow));
}

TEST(OverrideBook, OnePauseAtATime) {
  OverrideBook b;
  Override p;
  p.kind = Override::Kind::pause_all;
  p.who = "carol";
  p.expires_ns = kNow + kNsPerSec;
  ASSERT_TRUE(b.add(p, kNow));
  EXPECT_TRUE(b.paused());
  EXPECT_FALSE(b.add(p, kNow));
  auto id = b.in_force().front().id;
  ASSERT_TRUE(b.remove(id));
  EXPECT_FALSE(b.paused());
  EXPECT_FALSE(b.remove(id));
}

TEST(OverrideBook, ExpiryRemovesAndReports) {
  OverrideBook b;
  ASSERT_TRUE(b.add(block_override("192.0.2.1", 10 * kNsPerSec), kNow));
  ASSERT_TRUE(b.add(block_override("192.0.2.2", 20 * kNsPerSec), kNow));
  EXPECT_TRUE(b.expire(kNow + 9 * kNsPerSec).empty());
  auto gone = b.expire(kNow + 10 * kNsPerSec);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].id, "ovr-1");
  EXPECT_EQ(b.size(), 1u);
}

TEST(OverrideBook, MatchedOnlyOnceAPlanUsedIt) {
  OverrideBook b;
  auto r = b.add(block_override("192.0.2.1", 10 * kNsPerSec), kNow);
  ASSERT_TRUE(r);
  EXPECT_FALSE(b.matched(r->id));
  Plan p;
  p.overrides_used = {"other"};
  b.note_plan(p);
  EXPECT_FALSE(b.matched(r->id));
  p.overrides_used = {r->id};
  b.note_plan(p);
  EXPECT_TRUE(b.matched(r->id));
}

}  // namespace
}  // namespace reflex::daemon
