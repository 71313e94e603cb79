#include "knowledge/store/schema.h"

#include <array>
#include <string_view>

namespace reflex::store {
namespace {

// Index i takes the database from version i to i + 1. Append only: a released
// migration never changes, a new one is added at the end.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE records (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ns INTEGER NOT NULL,
  wall_ns INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  summary TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX records_by_kind ON records (kind, wall_ns, subject);
CREATE TABLE rollups (
  resolution_s INTEGER NOT NULL,
  start_wall_ns INTEGER NOT NULL,
  ticks INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (resolution_s, start_wall_ns)
) WITHOUT ROWID;
CREATE TABLE state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  loop_ns INTEGER NOT NULL,
  wall_ns INTEGER NOT NULL,
  record_id INTEGER NOT NULL
);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
};

}  // namespace

Error newer_schema_error(const std::string& path, std::int64_t found) {
  return make_error("the database " + path + " has schema version " + std::to_string(found) +
                        ", newer than this reflexd understands (" + std::to_string(kSchemaVersion) +
                        "); it was left unchanged",
                    "run the reflexd that wrote it (or a newer one), or start this one with another "
                    "database path; moving the file aside starts an empty record");
}

Result<std::int64_t> migrate(SqliteDb& db) {
  auto v = db.query_int("PRAGMA user_version");
  if (!v) return v.error();
  const std::int64_t from = *v;
  if (from > kSchemaVersion) return newer_schema_error(db.path(), from);
  if (from < 0)
    return make_error("the database " + db.path() + " has a negative schema version",
                      "move the file aside: reflexd then starts an empty record");
  for (std::int64_t ver = from; ver < kSchemaVersion; ++ver) {
    if (auto s = db.exec("BEGIN IMMEDIATE"); !s) return s.error();
    Status s = db.exec(kMigrations[static_cast<std::size_t>(ver)]);
    if (s) s = db.exec("PRAGMA user_version = " + std::to_string(ver + 1));
    if (s) s = db.exec("COMMIT");
    if (!s) {
      db.rollback_quietly();
      auto e = s.error();
      e.what = "migrate " + db.path() + " to schema version " + std::to_string(ver + 1) + ": " + e.what;
      return e;
    }
  }
  return from;
}

}  // namespace reflex::store
