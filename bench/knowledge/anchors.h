#pragma once
// What the store's figures are measured against, in the same run on the
// same filesystem: how fast this disk syncs, and what plain SQLite does
// with the same pragmas and no store around it.

#include <string>

namespace reflex::bench {

// 4 KiB pwrite + fdatasync, as many as fit in `seconds`: syncs per second.
double fsync_rate(const std::string& dir, double seconds);

// One-row INSERT transactions per second into a bare table, WAL mode, with
// synchronous NORMAL or FULL.
double sqlite_txn_rate(const std::string& dir, bool full, double seconds);

}  // namespace reflex::bench
