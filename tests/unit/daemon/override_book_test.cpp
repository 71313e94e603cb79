#include "daemon/override_book.h"

#include "plan/policy.h"

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

Override batch_override(std::vector<std::string> prefixes, bool remove = false) {
  Override o = block_override("192.0.2.1", 60 * kNsPerSec);
  RuleBatch b{"eth0", {}, L4Match{6, 443}};
  for (const auto& p : prefixes) b.prefixes.push_back(Prefix::parse(p).value());
  b.remove = remove;
  o.action->spec = b;
  return o;
}

TEST(OverrideBook, ABatchMeetsTheGuardrailsWholeNamingTheFirstBadEntry) {
  plan::Guardrails g;
  g.never_block = {Prefix::parse("10.0.0.0/8").value(), Prefix::parse("2001:db8:1::/48").value()};
  g.max_block_len_v4 = 24;
  g.max_block_len_v6 = 48;
  EXPECT_TRUE(check_batch_guardrails(batch_override({"203.0.113.0/24", "198.51.100.7", "2001:db8:2::/48"}), g));

  auto refused = check_batch_guardrails(batch_override({"203.0.113.0/24", "198.51.100.7", "10.1.2.3", "10.0.0.0/8"}), g);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what.find("prefixes[2] 10.1.2.3 overlaps 10.0.0.0/8"), std::string::npos)
      << refused.error().what;
  EXPECT_NE(refused.error().what.find("never_block"), std::string::npos);
  EXPECT_NE(refused.error().hint.find("remove entry 2"), std::string::npos) << refused.error().hint;

  // A prefix that holds a protected range is refused too, as is one wider than allowed.
  refused = check_batch_guardrails(batch_override({"198.51.100.7", "0.0.0.0/0"}), g);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what.find("prefixes[1] 0.0.0.0/0 is wider than /24"), std::string::npos)
      << refused.error().what;
  EXPECT_NE(refused.error().what.find("max_block_prefix.ipv4"), std::string::npos);
  refused = check_batch_guardrails(batch_override({"2001:db8::/32"}), g);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what.find("prefixes[0] 2001:db8::/32 is wider than /48"), std::string::npos)
      << refused.error().what;
  g.max_block_len_v4 = 4;
  refused = check_batch_guardrails(batch_override({"203.0.113.0/24", "10.0.0.0/7"}), g);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what.find("prefixes[1] 10.0.0.0/7 overlaps 10.0.0.0/8"), std::string::npos)
      << refused.error().what;

  // A removal drops nothing, and a single manual block is the operator's to take.
  EXPECT_TRUE(check_batch_guardrails(batch_override({"10.1.2.3"}, /*remove=*/true), g));
  EXPECT_TRUE(check_batch_guardrails(block_override("10.1.2.3", kNsPerSec), g));
}

TEST(OverrideBook, RemovingABatchLeavesItsRemoveFormToApply) {
  Override o = batch_override({"203.0.113.0/24", "198.51.100.7"});
  o.id = "feed";
  auto undo = undo_of(o, "bob", kNow, 60 * kNsPerSec);
  ASSERT_TRUE(undo);
  EXPECT_EQ(undo->kind, Override::Kind::manual);
  EXPECT_EQ(undo->who, "bob");
  EXPECT_EQ(undo->expires_ns, kNow + 60 * kNsPerSec);
  EXPECT_NE(undo->reason.find("feed"), std::string::npos);
  ASSERT_TRUE(undo->action);
  const auto* rm = std::get_if<RuleBatch>(&undo->action->spec);
  ASSERT_NE(rm, nullptr);
  EXPECT_TRUE(rm->remove);
  const auto& b = std::get<RuleBatch>(o.action->spec);
  EXPECT_EQ(rm->prefixes, b.prefixes);
  EXPECT_EQ(rm->iface, b.iface);
  EXPECT_EQ(rm->l4, b.l4);
  // The book takes it (an id of its own).
  OverrideBook book;
  auto stored = book.add(*undo, kNow);
  ASSERT_TRUE(stored) << stored.error().what;
  // Nothing to undo for a removal, a single block, or a pause.
  EXPECT_FALSE(undo_of(*undo, "bob", kNow, kNsPerSec));
  EXPECT_FALSE(undo_of(block_override("192.0.2.1", kNsPerSec), "bob", kNow, kNsPerSec));
  Override pause;
  pause.kind = Override::Kind::pause_all;
  EXPECT_FALSE(undo_of(pause, "bob", kNow, kNsPerSec));
}

}  // namespace
}  // namespace reflex::daemon
