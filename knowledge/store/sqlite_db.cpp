#include "knowledge/store/sqlite_db.h"

#include <cerrno>
#include <cstring>

namespace reflex::store {

Failure classify(int code, int sys_errno) {
  switch (code & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Failure::none;
    case SQLITE_FULL:
      return Failure::full;
    case SQLITE_READONLY:
      return Failure::read_only;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      if (sys_errno == EROFS || sys_errno == EACCES || sys_errno == EPERM) return Failure::read_only;
      if (sys_errno == ENOSPC || sys_errno == EDQUOT) return Failure::full;
      return Failure::io;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Failure::corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Failure::busy;
    default:
      return Failure::other;
  }
}

std::string_view to_string(Failure f) {
  switch (f) {
    case Failure::none:
      return "none";
    case Failure::full:
      return "disk full";
    case Failure::read_only:
      return "read-only";
    case Failure::io:
      return "I/O error";
    case Failure::corrupt:
      return "corrupt";
    case Failure::busy:
      return "busy";
    case Failure::other:
      return "error";
  }
  return "error";
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int sys = db ? sqlite3_system_errno(db) : 0;
    if (db) sqlite3_close_v2(db);
    return Error(
        "open the database " + path + ": " + msg + (sys ? std::string(" (") + std::strerror(sys) + ")" : ""),
        "", rc);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, path));
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

Status SqliteDb::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // error() reads the same message from the connection
  if (rc != SQLITE_OK) return error("\"" + std::string(sql.substr(0, 60)) + "\"");
  return ok();
}

Result<Statement> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st,
                              nullptr);
  if (rc != SQLITE_OK) return error("prepare \"" + std::string(sql.substr(0, 60)) + "\"");
  return Statement(this, st);
}

Result<std::int64_t> SqliteDb::query_int(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return error("no row from \"" + std::string(sql) + "\"");
  return st->int64(0);
}

Result<std::string> SqliteDb::query_text(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return error("no row from \"" + std::string(sql) + "\"");
  return std::string(st->text(0));
}

void SqliteDb::rollback_quietly() {
  if (in_transaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Error SqliteDb::error(std::string_view what) const {
  int rc = sqlite3_extended_errcode(db_);
  int sys = sqlite3_system_errno(db_);
  std::string msg = std::string(what) + " on " + path_ + ": " + sqlite3_errmsg(db_);
  if (sys && (rc & 0xff) != SQLITE_CONSTRAINT) msg += std::string(" (") + std::strerror(sys) + ")";
  return Error(msg, "", rc);
}

Failure SqliteDb::last_failure() const {
  return classify(sqlite3_extended_errcode(db_), sqlite3_system_errno(db_));
}

void SqliteDb::no_checkpoint_on_close() {
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(st_);
    db_ = o.db_;
    st_ = std::exchange(o.st_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(st_); }

Statement& Statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}

Statement& Statement::bind(int i, std::string_view v, bool stable) {
  sqlite3_bind_text64(st_, i, v.data(), v.size(), stable ? SQLITE_STATIC : SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(st_);
  auto e = db_->error("\"" + std::string(sql ? std::string_view(sql).substr(0, 60) : "") + "\"");
  sqlite3_reset(st_);
  return e;
}

Status Statement::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) break;
  }
  sqlite3_reset(st_);
  return ok();
}

void Statement::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

std::string_view Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
           : std::string_view();
}

}  // namespace reflex::store
