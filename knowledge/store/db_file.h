#pragma once
// The database file as bytes: what can be told about it before SQLite opens
// it (so a newer or damaged file is never touched), and moving a damaged one
// aside with its -wal and -shm companions.

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace reflex::store {

struct FileCheck {
  bool exists = false;
  std::uint64_t size = 0;
  std::int64_t user_version = 0;  // from the header (the schema version)
  std::string damage;             // empty: nothing wrong that the header shows
};

// Reads the 100-byte SQLite header: magic, page size, the page count it
// claims against the file's size, user_version. An empty file is a new
// database, not a damaged one.
Result<FileCheck> check_file(const std::string& path);

// Renames path (and path-wal, path-shm) to path.corrupt-<UTC, e.g.
// 20250301T031200Z>; returns the new name of the main file.
Result<std::string> move_aside(const std::string& path, std::int64_t wall_ns);

// Creates the folder a database path lives in (and its parents).
Status ensure_parent_dir(const std::string& path);

}  // namespace reflex::store
