// Opening: a newer schema is refused and left byte for byte as it was; a
// damaged or truncated file is moved aside and the record starts empty.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fstream>

#include "knowledge/store/schema.h"
#include "tests/unit/knowledge/samples.h"
#include "tests/unit/knowledge/store_fixture.h"

namespace reflex {
namespace {

namespace fs = std::filesystem;
using testing::all_pages;
using testing::file_bytes;
using testing::open_ok;

// A database with some records in it, closed cleanly.
void populate(const std::string& path, int plans) {
  auto s = open_ok(path);
  ASSERT_TRUE(s);
  for (int i = 0; i < plans; ++i) {
    auto d = testing::synthetic_decisions(static_cast<std::uint64_t>(i), i, 4);
    ASSERT_TRUE(s->commit_decisions(d.decisions()));
    s->record_observation(testing::synthetic_tick(static_cast<std::uint64_t>(i), i, 4, true));
  }
  ASSERT_TRUE(s->flush());
}

void set_user_version(const std::string& path, int v) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, ("PRAGMA user_version = " + std::to_string(v)).c_str(), nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
}

std::vector<fs::path> moved_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".corrupt-") != std::string::npos) out.push_back(e.path());
  return out;
}

class StoreOpen : public ::testing::Test {
 protected:
  testing::ScratchDir dir_{"store-open"};
  std::string path_ = (dir_ / "reflex.db").string();
};

TEST_F(StoreOpen, NewerSchemaIsRefusedAndTheFileLeftAlone) {
  populate(path_, 5);
  set_user_version(path_, static_cast<int>(store::kSchemaVersion) + 1);
  const std::string before = file_bytes(path_);
  auto r = store::SqliteStore::open(path_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("schema version " + std::to_string(store::kSchemaVersion + 1)),
            std::string::npos)
      << r.error().what;
  EXPECT_NE(r.error().what.find("newer than this reflexd"), std::string::npos);
  EXPECT_FALSE(r.error().hint.empty());
  EXPECT_EQ(file_bytes(path_), before);
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  EXPECT_TRUE(moved_files(dir_).empty());
}

TEST_F(StoreOpen, NewerSchemaInAnUncheckpointedWalIsRefusedToo) {
  populate(path_, 2);
  // Another writer bumps the version and leaves it in its WAL (as a newer
  // reflexd killed before a checkpoint would).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA user_version = 42", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(fs::exists(path_ + "-wal"));
  const std::string before = file_bytes(path_), wal_before = file_bytes(path_ + "-wal");
  auto r = store::SqliteStore::open(path_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("schema version 42"), std::string::npos) << r.error().what;
  EXPECT_EQ(file_bytes(path_), before);
  EXPECT_EQ(file_bytes(path_ + "-wal"), wal_before);
}

TEST_F(StoreOpen, ScribbledHeaderIsMovedAsideAndTheRecordStartsEmpty) {
  populate(path_, 5);
  std::string bytes = file_bytes(path_);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.write("this is not sqlite", 18);
  }
  const std::string damaged = file_bytes(path_);
  store::OpenReport rep;
  auto s = open_ok(path_, {}, nullptr, &rep);
  ASSERT_TRUE(s);
  ASSERT_TRUE(rep.moved_to);
  EXPECT_NE(rep.damage.find("SQLite header"), std::string::npos) << rep.damage;
  EXPECT_EQ(file_bytes(*rep.moved_to), damaged);
  EXPECT_NE(rep.notice().find("starting with an empty record"), std::string::npos);
  EXPECT_EQ(rep.event(0).kind, RecordKind::daemon);
  EXPECT_TRUE(all_pages(*s, {}).empty());
  EXPECT_TRUE(s->health().ok);
  // The new record works.
  auto d = testing::synthetic_decisions(1, 1, 1);
  ASSERT_TRUE(s->commit_decisions(d.decisions()));
  EXPECT_EQ(all_pages(*s, {}).size(), 3u);
}

TEST_F(StoreOpen, TruncatedFileIsMovedAside) {
  populate(path_, 40);
  const auto size = fs::file_size(path_);
  ASSERT_GT(size, 64u * 1024);
  fs::resize_file(path_, size / 2);
  store::OpenReport rep;
  auto s = open_ok(path_, {}, nullptr, &rep);
  ASSERT_TRUE(s);
  ASSERT_TRUE(rep.moved_to) << "a truncated file must not be used";
  EXPECT_NE(rep.damage.find("truncated"), std::string::npos) << rep.damage;
  EXPECT_EQ(fs::file_size(*rep.moved_to), size / 2);
  EXPECT_TRUE(all_pages(*s, {}).empty());
}

// The pages of one table (or index), from SQLite's dbstat table.
std::vector<std::int64_t> pages_of(const std::string& path, const std::string& name) {
  sqlite3* db = nullptr;
  std::vector<std::int64_t> pages;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", -1, &st, nullptr),
            SQLITE_OK);
  sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) pages.push_back(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return pages;
}

void scribble_page(const std::string& path, std::int64_t page) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string junk(4096, '\xA5');
  f.seekp(static_cast<std::streamoff>((page - 1) * 4096));
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
}

TEST_F(StoreOpen, ScribbledPagesAreFoundByTheFullCheck) {
  populate(path_, 40);
  auto pages = pages_of(path_, "records");
  ASSERT_GT(pages.size(), 10u);
  scribble_page(path_, pages[pages.size() / 2]);
  store::StoreOptions o;
  o.check_on_open = store::StoreOptions::OpenCheck::full;
  store::OpenReport rep;
  auto s = open_ok(path_, o, nullptr, &rep);
  ASSERT_TRUE(s);
  ASSERT_TRUE(rep.moved_to);
  EXPECT_FALSE(rep.damage.empty());
  EXPECT_TRUE(all_pages(*s, {}).empty());
  EXPECT_EQ(moved_files(dir_).size(), 1u);
}

TEST_F(StoreOpen, TheLightCheckReadsTheStateTables) {
  populate(path_, 5);
  {
    auto s = open_ok(path_);
    Decisions d;
    d.desired_state = boost::json::value(std::string(20000, 'x'));  // spans overflow pages
    ASSERT_TRUE(s->commit_decisions(d));
  }
  auto pages = pages_of(path_, "state");
  ASSERT_FALSE(pages.empty());
  scribble_page(path_, pages.front());
  store::OpenReport rep;
  auto s = open_ok(path_, {}, nullptr, &rep);
  ASSERT_TRUE(s);
  ASSERT_TRUE(rep.moved_to) << "a damaged state table must not be resumed from";
  EXPECT_FALSE(s->load_state("desired").value().has_value());
}

TEST_F(StoreOpen, DamageSeenWhileRunningIsCheckedAtTheNextStart) {
  populate(path_, 40);
  auto pages = pages_of(path_, "records");
  scribble_page(path_, pages[pages.size() / 2]);
  {
    // The light check does not read the records: the damage shows when they are.
    store::OpenReport rep;
    auto s = open_ok(path_, {}, nullptr, &rep);
    ASSERT_TRUE(s);
    EXPECT_FALSE(rep.moved_to);
    // Every record is read, so the scribbled page is too.
    RecordQuery q;
    q.kinds.assign(std::begin(kAllRecordKinds), std::end(kAllRecordKinds));
    q.limit = 1000;
    bool failed = false;
    for (int i = 0; i < 100 && !failed; ++i) {
      auto page = s->query(q);
      if (!page) failed = true;
      else if (!page->next) break;
      else q.before_id = page->next;
    }
    EXPECT_TRUE(failed) << "reading every record must meet the damage";
    auto h = s->health();
    EXPECT_FALSE(h.ok);
    EXPECT_NE(h.reason.find("restart reflexd"), std::string::npos) << h.reason;
    EXPECT_TRUE(fs::exists(path_ + ".damaged"));
  }
  store::OpenReport rep;
  auto s = open_ok(path_, {}, nullptr, &rep);
  ASSERT_TRUE(s);
  ASSERT_TRUE(rep.moved_to) << "the next start checks every page";
  EXPECT_FALSE(fs::exists(path_ + ".damaged"));
  EXPECT_TRUE(s->health().ok);
  EXPECT_TRUE(all_pages(*s, {}).empty());
}

TEST_F(StoreOpen, CleanDatabaseOpensWithNothingToSay) {
  populate(path_, 3);
  store::OpenReport rep;
  auto s = open_ok(path_, {}, nullptr, &rep);
  ASSERT_TRUE(s);
  EXPECT_FALSE(rep.created);
  EXPECT_FALSE(rep.moved_to);
  EXPECT_EQ(rep.from_version, store::kSchemaVersion);
  EXPECT_EQ(rep.notice(), "");
  EXPECT_EQ(all_pages(*s, {}).size(), 3u * 9u);
}

TEST_F(StoreOpen, BadPathsAndOptionsAreClearErrors) {
  auto r = store::SqliteStore::open(dir_.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("is a folder"), std::string::npos);
  store::StoreOptions o;
  o.retention.raw_ns = kNsPerSec;
  r = store::SqliteStore::open(path_, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("at least 2 minutes"), std::string::npos) << r.error().what;
}

TEST_F(StoreOpen, UnwritableFolderGivesADegradedStoreThatKeepsRecords) {
  // Below a regular file, no folder can ever be made: degraded, not fatal.
  { std::ofstream(dir_ / "blocker") << "x"; }
  auto s = open_ok((dir_ / "blocker" / "reflex.db").string());
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->health().ok);
  EXPECT_NE(s->health().reason.find("cannot open"), std::string::npos) << s->health().reason;
  auto d = testing::synthetic_decisions(1, 1, 1);
  EXPECT_FALSE(s->commit_decisions(d.decisions()));
  EXPECT_EQ(s->health().pending, 3u);
  EXPECT_FALSE(s->query({}));
}

}  // namespace
}  // namespace reflex
