// History queries: time ranges, kinds, subjects (exact and prefix*), and
// paging cursors that visit every record once, newest first.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/knowledge/samples.h"
#include "tests/unit/knowledge/store_fixture.h"

namespace reflex {
namespace {

using testing::all_pages;
using testing::ManualClock;
using testing::open_ok;

// 300 ticks a second apart; every tick an event on eth<tick % 3>, every 10th
// tick a one-action plan with its outcome, and an observation per tick.
class StoreQuery : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_ok((dir_ / "reflex.db").string(), {}, &wall_);
    ASSERT_TRUE(store_);
    for (int t = 0; t < 300; ++t) {
      const TimeNs ts = t * kNsPerSec;
      store_->record_observation(testing::synthetic_tick(static_cast<std::uint64_t>(t), ts, 1, false));
      std::string iface = "eth" + std::to_string(t % 3);
      store_->record_event(LoopEvent{RecordKind::attach, ts, iface, "tick " + std::to_string(t), {}});
      if (t % 10 == 0) {
        auto d = testing::synthetic_decisions(static_cast<std::uint64_t>(t), ts, 1);
        ASSERT_TRUE(store_->commit_decisions(d.decisions()));
      }
      wall_.advance(kNsPerSec);
    }
    ASSERT_TRUE(store_->flush());
  }
  TimeNs at(int t) const { return testing::kWallStart + t * kNsPerSec; }

  testing::ScratchDir dir_{"store-query"};
  ManualClock wall_{testing::kWallStart};
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(StoreQuery, TimeRangeIsHalfOpen) {
  RecordQuery q;
  q.kinds = {RecordKind::attach};
  q.since_wall_ns = at(100);
  q.until_wall_ns = at(150);
  auto recs = all_pages(*store_, q);
  ASSERT_EQ(recs.size(), 50u);
  EXPECT_EQ(recs.front().wall_ns, at(149));
  EXPECT_EQ(recs.back().wall_ns, at(100));
  for (const auto& r : recs) EXPECT_EQ(r.kind, RecordKind::attach);
}

TEST_F(StoreQuery, KindsFilterAndObservationsOnlyWhenAsked) {
  RecordQuery q;
  q.kinds = {RecordKind::action, RecordKind::outcome};
  auto recs = all_pages(*store_, q);
  EXPECT_EQ(recs.size(), 60u);
  std::set<RecordKind> kinds;
  for (const auto& r : all_pages(*store_, {})) kinds.insert(r.kind);
  EXPECT_EQ(kinds, (std::set<RecordKind>{RecordKind::attach, RecordKind::plan, RecordKind::action,
                                         RecordKind::outcome}));
  q.kinds = {RecordKind::observation};
  EXPECT_EQ(all_pages(*store_, q).size(), 300u);
}

TEST_F(StoreQuery, SubjectExactAndPrefix) {
  RecordQuery q;
  q.kinds = {RecordKind::attach};
  q.subject = "eth1";
  auto exact = all_pages(*store_, q);
  EXPECT_EQ(exact.size(), 100u);
  for (const auto& r : exact) EXPECT_EQ(r.subject, "eth1");
  q.subject = "eth*";
  EXPECT_EQ(all_pages(*store_, q).size(), 300u);
  q.subject = "eth";  // exact: nothing is about "eth"
  EXPECT_TRUE(all_pages(*store_, q).empty());
  // Actions are about "eth<n> <prefix>": a prefix query finds them by interface.
  q.kinds = {RecordKind::action};
  q.subject = "eth0 *";
  auto actions = all_pages(*store_, q);
  EXPECT_EQ(actions.size(), 30u);
  for (const auto& r : actions) EXPECT_EQ(r.subject.rfind("eth0 ", 0), 0u);
  q.subject = "*";
  EXPECT_EQ(all_pages(*store_, q).size(), 30u);
}

TEST_F(StoreQuery, PagesVisitEveryRecordOnceNewestFirst) {
  RecordQuery q;
  q.limit = 7;
  std::vector<std::uint64_t> ids;
  std::size_t pages = 0;
  for (;;) {
    auto page = store_->query(q);
    ASSERT_TRUE(page);
    ++pages;
    EXPECT_LE(page->records.size(), 7u);
    for (const auto& r : page->records) ids.push_back(r.id);
    if (!page->next) break;
    EXPECT_EQ(page->records.size(), 7u);
    EXPECT_EQ(*page->next, page->records.back().id);
    q.before_id = page->next;
  }
  EXPECT_EQ(ids.size(), 300u + 30u + 30u + 30u);
  EXPECT_EQ(pages, (ids.size() + 6) / 7);
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend()));
  EXPECT_EQ(std::set<std::uint64_t>(ids.begin(), ids.end()).size(), ids.size());
}

TEST_F(StoreQuery, LimitIsClampedTo1000) {
  RecordQuery q;
  q.kinds = {RecordKind::observation};
  q.limit = 5000;
  auto page = store_->query(q);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->records.size(), 300u);
  q.kinds = {};
  q.limit = 0;
  page = store_->query(q);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->records.size(), 1u);
  ASSERT_TRUE(page->next);
}

TEST_F(StoreQuery, CombinedFiltersAndCursor) {
  RecordQuery q;
  q.kinds = {RecordKind::attach, RecordKind::action};
  q.subject = "eth0*";
  q.since_wall_ns = at(30);
  q.until_wall_ns = at(90);
  q.limit = 5;
  auto recs = all_pages(*store_, q);
  std::size_t attach = 0, action = 0;
  for (const auto& r : recs) {
    EXPECT_GE(r.wall_ns, at(30));
    EXPECT_LT(r.wall_ns, at(90));
    EXPECT_EQ(r.subject.rfind("eth0", 0), 0u);
    (r.kind == RecordKind::attach ? attach : action)++;
  }
  EXPECT_EQ(attach, 20u);  // t = 30, 33, ..., 87
  EXPECT_EQ(action, 6u);   // t = 30, 40, ..., 80 (synthetic plans act on eth0)
}

}  // namespace
}  // namespace reflex
