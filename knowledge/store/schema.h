#pragma once
// The store's schema and its migrations. PRAGMA user_version is the schema
// version; migrations run in order, each in its own transaction, so a crash
// halfway leaves the database at the last version that finished.
//
// v1:
//   records  id (AUTOINCREMENT: never reused, the paging cursor), ts_ns (loop
//            clock), wall_ns, kind, subject, summary, body (JSON text)
//            index (kind, wall_ns, subject): history queries and retention
//            read it without touching the rows
//   rollups  (resolution_s, start_wall_ns) -> ticks, body (JSON): the
//            1-minute and 1-hour observation roll-ups
//   state    key -> value (JSON), loop_ns and wall_ns at save, record_id
//            (the newest record when it was saved)
//   meta     key -> value: bookkeeping (how far roll-ups have got)

#include <cstdint>
#include <string>

#include "common/result.h"
#include "knowledge/store/sqlite_db.h"

namespace reflex::store {

inline constexpr std::int64_t kSchemaVersion = 1;

// Brings the database from its version to kSchemaVersion. A newer database
// is refused (it was written by a newer reflexd) before anything is changed.
// Returns the version the database was at.
Result<std::int64_t> migrate(SqliteDb& db);

// The message (and its fix) for a database newer than this binary.
Error newer_schema_error(const std::string& path, std::int64_t found);

}  // namespace reflex::store
