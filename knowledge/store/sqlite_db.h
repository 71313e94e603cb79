#pragma once
// A thin RAII layer over the SQLite C API: one connection, prepared
// statements, and errors as reflex::Error naming the database and the
// statement. Nothing here knows the schema.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace reflex::store {

// What went wrong with a write, as far as the caller must act on it.
enum class Failure {
  none,
  full,       // SQLITE_FULL: no space left on the device
  read_only,  // SQLITE_READONLY or EROFS: the file or its filesystem cannot be written
  io,         // SQLITE_IOERR (other than EROFS/ENOSPC), SQLITE_CANTOPEN
  corrupt,    // SQLITE_CORRUPT, SQLITE_NOTADB
  busy,       // SQLITE_BUSY/LOCKED: another process holds the database
  other,      // a bug or misuse: the message says which
};
Failure classify(int sqlite_code, int sys_errno);
std::string_view to_string(Failure f);

class Statement;

class SqliteDb {
 public:
  // Opens (creating if `create`) the file. The connection is used by one
  // thread at a time (the store serialises).
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path, bool create);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs statements that return no rows (schema, pragmas, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // The single value of a one-row, one-column query (PRAGMA user_version).
  Result<std::int64_t> query_int(std::string_view sql);
  Result<std::string> query_text(std::string_view sql);

  bool in_transaction() const { return !sqlite3_get_autocommit(db_); }
  // Rolls back the open transaction, if any; errors are ignored (there is
  // nothing more to undo).
  void rollback_quietly();
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  // An Error for the connection's last failure: "<what> on <path>: <sqlite message>".
  Error error(std::string_view what) const;
  Failure last_failure() const;
  // Closing without a checkpoint leaves the file's bytes as they were (used
  // when refusing a database).
  void no_checkpoint_on_close();
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

class Statement {
 public:
  Statement() = default;
  Statement(SqliteDb* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  Statement(Statement&& o) noexcept : db_(o.db_), st_(std::exchange(o.st_, nullptr)) {}
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();

  // Binds are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT) unless
  // `stable` says it outlives the step.
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, std::string_view v, bool stable = false);
  Statement& bind_null(int i);
  // SQLITE_ROW: true; SQLITE_DONE: false; anything else: the error.
  Result<bool> step();
  // Steps to the end (an INSERT, UPDATE, DELETE).
  Status run();
  void reset();  // and clears the bindings

  std::int64_t int64(int col) const { return sqlite3_column_int64(st_, col); }
  std::string_view text(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  explicit operator bool() const { return st_ != nullptr; }

 private:
  SqliteDb* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace reflex::store
