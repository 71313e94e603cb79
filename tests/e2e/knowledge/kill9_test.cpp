// kill -9 at random points under a steady stream of decisions, many times:
// after each kill the database is intact, and every action id the writer
// printed (after its commit returned) is in the record.

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <chrono>
#include <random>
#include <set>
#include <sstream>

#include "knowledge/json/action_json.h"
#include "knowledge/store/sqlite_store.h"
#include "tests/unit/api/daemon_process.h"
#include "tests/unit/knowledge/store_fixture.h"

namespace reflex {
namespace {

using namespace std::chrono_literals;
using api::testing::DaemonProcess;

std::string integrity_check(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string e = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return e;
  }
  // Leaves the WAL for the next writer to find, as a crash would: no
  // checkpoint (and its fsyncs) at close.
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  std::string out;
  sqlite3_exec(
      db, "PRAGMA integrity_check",
      [](void* o, int, char** v, char**) {
        *static_cast<std::string*>(o) += v[0] ? v[0] : "";
        return 0;
      },
      &out, nullptr);
  sqlite3_close(db);
  return out;
}

std::set<std::string> recorded_action_ids(const std::string& path) {
  std::set<std::string> ids;
  auto opened = store::SqliteStore::open(path);
  EXPECT_TRUE(opened) << (opened ? "" : opened.error().message());
  if (!opened) return ids;
  EXPECT_FALSE(opened->report.moved_to) << opened->report.notice();
  RecordQuery q;
  q.kinds = {RecordKind::action};
  q.limit = 1000;
  for (const auto& r : testing::all_pages(*opened->store, q)) {
    auto intent = from_json<Intent>(r.body);
    EXPECT_TRUE(intent) << r.summary;
    if (intent) ids.insert(intent->action.id);
  }
  return ids;
}

void kill_many_times(const std::string& sync, std::size_t at_least_printed) {
  testing::ScratchDir dir("store-kill9");
  const std::string db = (dir / "reflex.db").string();
  std::mt19937 rng(std::random_device{}());
  std::set<std::string> printed;
  const auto start = std::chrono::steady_clock::now();
  int kills = 0, kills_before_first_commit = 0;
  while (kills < 40 && std::chrono::steady_clock::now() - start < 8s) {
    DaemonProcess w(STORE_WRITER_BIN, {db, "run" + std::to_string(kills), sync},
                    (dir / "writer.err").string());
    // A random moment: one kill in four from right after exec (while it
    // opens, checks and migrates), the rest while it commits.
    auto read_until = [&](std::chrono::steady_clock::time_point until) {
      while (std::chrono::steady_clock::now() < until)
        if (!w.read_stdout(std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now())))
          return;
    };
    if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
      read_until(std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 60)(rng)));
    } else {
      const auto give_up = std::chrono::steady_clock::now() + 3s;
      while (w.stdout_text().empty() && std::chrono::steady_clock::now() < give_up)
        if (!w.read_stdout(100ms)) break;
      read_until(std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(rng)));
    }
    w.signal(SIGKILL);
    auto status = w.wait_exit(5s);
    ASSERT_TRUE(status) << "writer did not die";
    while (w.read_stdout(0ms)) {
    }
    ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
        << "the writer stopped by itself: " << w.stderr_text();
    std::istringstream lines(w.stdout_text());
    int n = 0;
    for (std::string id; std::getline(lines, id);) {
      ASSERT_FALSE(id.empty());
      printed.insert(id);
      ++n;
    }
    if (n == 0) ++kills_before_first_commit;
    ++kills;
    // Killed before it made the file: nothing to check yet.
    if (std::filesystem::exists(db)) {
      ASSERT_EQ(integrity_check(db), "ok") << "after kill " << kills;
    }
  }
  EXPECT_GE(kills, 12) << "too few kills in the time given: the host is too slow for this test";
  EXPECT_GE(printed.size(), at_least_printed) << "the writer hardly ran: the test would prove nothing";
  auto recorded = recorded_action_ids(db);
  std::size_t missing = 0;
  for (const auto& id : printed)
    if (!recorded.count(id)) {
      if (missing++ < 5) ADD_FAILURE() << "printed but not recorded: " << id;
    }
  EXPECT_EQ(missing, 0u) << "of " << printed.size() << " printed, over " << kills << " kills";
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    EXPECT_EQ(e.path().filename().string().find(".corrupt-"), std::string::npos)
        << "a kill damaged the database";
  std::printf("kill -9 (%s): %d kills (%d before the first commit), %zu actions printed, %zu recorded\n",
              sync.c_str(), kills, kills_before_first_commit, printed.size(), recorded.size());
}

// fsync takes ~30 ms on some hosts: full sync commits far fewer in the same time.
TEST(StoreKill9, EveryPrintedActionIsRecordedAfterRandomKills) { kill_many_times("normal", 100); }
TEST(StoreKill9, EveryPrintedActionIsRecordedAfterRandomKillsWithFullSync) { kill_many_times("full", 20); }

}  // namespace
}  // namespace reflex
