#pragma once
// How the store keeps the record: durability, retention, and the bounds on
// disk and memory.

#include <cstddef>
#include <cstdint>
#include <string>

#include "knowledge/time.h"

namespace reflex::store {

inline constexpr const char* kDefaultPath = "/var/lib/reflex/reflex.db";

struct Retention {
  TimeNs raw_ns = 30 * 60 * kNsPerSec;             // raw observations (every tick)
  TimeNs minute_ns = 7 * 24 * 3600 * kNsPerSec;    // 1-minute roll-ups
  TimeNs hour_ns = 400LL * 24 * 3600 * kNsPerSec;  // 1-hour roll-ups
  TimeNs records_ns = 0;  // decisions and events; 0: kept until max_bytes needs the room
  // The database (with its WAL) stays under this: past it, the oldest
  // observations go first, then roll-ups, then events, and decisions last.
  std::uint64_t max_bytes = 1ULL << 30;
};

struct StoreOptions {
  // How commit_decisions syncs (stream batches always use normal).
  //  full (the default): every decision commit is fsynced before it
  //    returns, so it survives a power cut and a disk that fails under a
  //    running daemon (a filesystem that aborts drops what was not synced,
  //    while the kernel keeps enforcing the action).
  //  normal (WAL, synchronous=NORMAL): a commit survives the process being
  //    killed, not a power cut or a failing disk; a power cut also empties
  //    the kernel's datapath, but a failing disk does not. Several times
  //    faster where fsync is slow (bench/knowledge).
  enum class Sync { normal, full };
  Sync synchronous = Sync::full;
  Retention retention;
  std::size_t batch_rows = 512;  // a stream batch this long is written without waiting for flush()
  std::size_t max_pending_bytes = 64 << 20;      // memory held while the disk cannot be written
  // What opening checks beyond the header (which is always read: a
  // truncated or foreign file is always caught).
  //  light: the schema and the tables a restart reads (state, meta), in
  //    milliseconds; a full check when the store saw damage while running
  //    (it leaves <path>.damaged behind);
  //  full: PRAGMA quick_check of every page, ~1 s per 200 MB.
  enum class OpenCheck { light, full };
  OpenCheck check_on_open = OpenCheck::light;
  TimeNs maintenance_every_ns = 10 * kNsPerSec;  // roll-ups and retention, from flush(), at most this often
  int busy_timeout_ms = 250;                     // another process holding the database
};

// Checks the numbers make sense together (raw observations kept long enough
// to be rolled up, horizons in order, bounds not zero).
std::string validate(const StoreOptions& o);

}  // namespace reflex::store
