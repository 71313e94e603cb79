// A disk that cannot be written: the store degrades with the reason and the
// fix, keeps protecting (recording in memory, bounded, decisions never
// dropped), and writes everything in order once the disk recovers.
//   - a small tmpfs filled until the store degrades, then space freed;
//   - a filesystem read-only when the store starts, remounted read-write;
//   - an ext4 filesystem the kernel turns read-only under the store (as on a
//     disk error), repaired with e2fsck and mounted again.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "knowledge/json/action_json.h"
#include "knowledge/store/sqlite_store.h"
#include "tests/e2e/knowledge/mounts.h"
#include "tests/unit/knowledge/samples.h"
#include "tests/unit/knowledge/store_fixture.h"

namespace reflex {
namespace {

namespace fs = std::filesystem;
using testing::all_pages;
using testing::Mount;

class StoreDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting test filesystems needs root";
    auto s = testing::enter_private_mount_namespace();
    ASSERT_TRUE(s) << s.error().message();
  }

  // One plan of `n` actions with ids <tag>-<seq>-<k>; returns the ids.
  std::vector<std::string> decide(store::SqliteStore& s, const std::string& tag, std::size_t n,
                                  Status* result) {
    auto d = testing::synthetic_decisions(seq_, static_cast<TimeNs>(seq_), n);
    std::vector<std::string> ids;
    d.plan.id = tag + "-" + std::to_string(seq_++);
    for (std::size_t k = 0; k < n; ++k) {
      ids.push_back(d.plan.id + "-" + std::to_string(k));
      d.plan.actions[k].id = d.intents[k].action.id = d.outcomes[k].action_id = ids.back();
    }
    *result = s.commit_decisions(d.decisions());
    return ids;
  }

  // Action ids in the record, oldest first.
  static std::vector<std::string> recorded(const store::SqliteStore& s) {
    RecordQuery q;
    q.kinds = {RecordKind::action};
    q.limit = 1000;
    std::vector<std::string> ids;
    for (const auto& r : all_pages(s, q)) ids.push_back(from_json<Intent>(r.body).value().action.id);
    std::reverse(ids.begin(), ids.end());
    return ids;
  }

  testing::ScratchDir dir_{"store-disk"};
  std::uint64_t seq_ = 0;
};

TEST_F(StoreDisk, FullDiskDegradesThenWritesResumeInOrder) {
  auto m = Mount::tmpfs(dir_ / "mnt", 4u << 20);
  ASSERT_TRUE(m) << m.error().message();
  store::StoreOptions o;
  o.max_pending_bytes = 512 * 1024;  // a small memory bound, to see observations dropped
  auto s = testing::open_ok((m->path() / "reflex.db").string(), o);
  ASSERT_TRUE(s);
  std::vector<std::string> decided;
  Status st;
  for (int i = 0; i < 5; ++i) {
    auto ids = decide(*s, "before", 2, &st);
    ASSERT_TRUE(st) << st.error().message();
    decided.insert(decided.end(), ids.begin(), ids.end());
  }
  // Fill the disk, leaving the store a few pages.
  {
    std::ofstream filler(m->path() / "filler", std::ios::binary);
    std::string block(64 * 1024, 'f');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  int tick = 0;
  while (s->health().ok && tick < 2000) {
    s->record_observation(testing::synthetic_tick(static_cast<std::uint64_t>(tick), tick, 4, true));
    auto ids = decide(*s, "filling", 1, &st);
    decided.insert(decided.end(), ids.begin(), ids.end());
    (void)s->flush();
    ++tick;
  }
  auto h = s->health();
  ASSERT_FALSE(h.ok) << "the store never noticed the full disk";
  EXPECT_NE(h.reason.find("disk full"), std::string::npos) << h.reason;
  EXPECT_NE(h.reason.find("free space"), std::string::npos) << h.reason;
  EXPECT_FALSE(st) << "a decision that is not on disk must not be reported durable";

  // Degraded: the loop keeps going; decisions are held, observations give way.
  for (int i = 0; i < 200; ++i) {
    s->record_observation(testing::synthetic_tick(static_cast<std::uint64_t>(i), i, 4, true));
    auto ids = decide(*s, "degraded", 1, &st);
    EXPECT_FALSE(st);
    decided.insert(decided.end(), ids.begin(), ids.end());
  }
  h = s->health();
  EXPECT_FALSE(h.ok);
  EXPECT_GT(h.dropped, 0u) << "the memory bound never dropped an observation";
  EXPECT_GE(h.pending, 200u);

  // Space again: the next commit writes everything held, in order.
  fs::remove(m->path() / "filler");
  auto ids = decide(*s, "after", 2, &st);
  ASSERT_TRUE(st) << st.error().message();
  decided.insert(decided.end(), ids.begin(), ids.end());
  ASSERT_TRUE(s->flush());
  h = s->health();
  EXPECT_TRUE(h.ok) << h.reason;
  EXPECT_EQ(h.pending, 0u);
  EXPECT_EQ(recorded(*s), decided);
  // The gap in the observations is explained in the record.
  RecordQuery q;
  q.kinds = {RecordKind::daemon};
  auto daemon = all_pages(*s, q);
  ASSERT_FALSE(daemon.empty());
  EXPECT_NE(daemon.front().summary.find("dropped"), std::string::npos) << daemon.front().summary;
}

TEST_F(StoreDisk, ReadOnlyAtStartThenRemountedReadWrite) {
  auto m = Mount::tmpfs(dir_ / "mnt", 8u << 20);
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_TRUE(m->remount(true));
  const std::string path = (m->path() / "reflex.db").string();
  store::OpenReport rep;
  auto s = testing::open_ok(path, {}, nullptr, &rep);
  ASSERT_TRUE(s);
  EXPECT_TRUE(rep.degraded);
  auto h = s->health();
  ASSERT_FALSE(h.ok);
  EXPECT_NE(h.reason.find("read-only"), std::string::npos) << h.reason;
  EXPECT_NE(h.reason.find("remount it read-write"), std::string::npos) << h.reason;
  std::vector<std::string> decided;
  Status st;
  for (int i = 0; i < 10; ++i) {
    s->record_event(LoopEvent{RecordKind::daemon, i, "", "tick", {}});
    auto ids = decide(*s, "ro", 3, &st);
    EXPECT_FALSE(st);
    decided.insert(decided.end(), ids.begin(), ids.end());
  }
  EXPECT_FALSE(s->query({})) << "history is unavailable, and says so";

  ASSERT_TRUE(m->remount(false));
  ASSERT_TRUE(s->flush());
  EXPECT_TRUE(s->health().ok) << s->health().reason;
  EXPECT_EQ(recorded(*s), decided);
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(StoreDisk, FilesystemTurnedReadOnlyUnderTheStoreThenRepaired) {
  if (!fs::exists("/sys/fs/ext4") || !fs::exists("/dev/loop-control"))
    GTEST_SKIP() << "the kernel lacks ext4 or loop devices";
  auto m = Mount::ext4_image(dir_ / "disk.img", dir_ / "mnt", 16u << 20);
  ASSERT_TRUE(m) << m.error().message();
  const std::string path = (m->path() / "reflex.db").string();
  auto s = testing::open_ok(path);
  ASSERT_TRUE(s);
  std::vector<std::string> decided;
  Status st;
  for (int i = 0; i < 5; ++i) {
    auto ids = decide(*s, "ok", 2, &st);
    ASSERT_TRUE(st);
    decided.insert(decided.end(), ids.begin(), ids.end());
  }
  ASSERT_TRUE(m->trigger_fs_error()) << "the kernel lacks ext4's error trigger";
  int tries = 0;
  while (s->health().ok && tries++ < 50) {
    auto ids = decide(*s, "failing", 2, &st);
    decided.insert(decided.end(), ids.begin(), ids.end());
  }
  auto h = s->health();
  ASSERT_FALSE(h.ok) << "writes kept working on a read-only filesystem";
  EXPECT_TRUE(h.reason.find("read-only") != std::string::npos ||
              h.reason.find("I/O error") != std::string::npos)
      << h.reason;
  for (int i = 0; i < 10; ++i) {
    auto ids = decide(*s, "held", 1, &st);
    EXPECT_FALSE(st);
    decided.insert(decided.end(), ids.begin(), ids.end());
  }
  // The store let go of its files, so the operator can repair the disk.
  ASSERT_TRUE(m->unmount()) << "the store still holds the broken filesystem open";
  ASSERT_TRUE(m->fsck());
  ASSERT_TRUE(m->mount_again());
  auto ids = decide(*s, "repaired", 1, &st);
  ASSERT_TRUE(st) << st.error().message();
  decided.insert(decided.end(), ids.begin(), ids.end());
  EXPECT_TRUE(s->health().ok) << s->health().reason;
  // Everything decided is there once, in order; what the broken disk did
  // take before it failed is not lost either.
  auto rec = recorded(*s);
  EXPECT_EQ(rec, decided);
}

}  // namespace
}  // namespace reflex
