#include "bench/knowledge/anchors.h"

#include "bench/monitor/bench_util.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace reflex::bench {

double fsync_rate(const std::string& dir, double seconds) {
  const std::string path = dir + "/fsync-anchor";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  char block[4096] = {};
  long n = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (seconds_since(t0) < seconds) {
    if (::pwrite(fd, block, sizeof block, 0) != static_cast<ssize_t>(sizeof block) || ::fdatasync(fd) != 0) break;
    ++n;
  }
  const double rate = static_cast<double>(n) / seconds_since(t0);
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

double sqlite_txn_rate(const std::string& dir, bool full, double seconds) {
  const std::string path = dir + "/sqlite-anchor.db";
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 0;
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)", nullptr, nullptr,
               nullptr);
  sqlite3_exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (body) VALUES (?)", -1, &st, nullptr);
  const std::string body(600, 'x');  // about an action record's size
  long n = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (seconds_since(t0) < seconds) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_bind_text(st, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    ++n;
  }
  const double rate = static_cast<double>(n) / seconds_since(t0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  return rate;
}

}  // namespace reflex::bench
