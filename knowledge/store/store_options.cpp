#include "knowledge/store/store_options.h"

namespace reflex::store {

std::string validate(const StoreOptions& o) {
  const auto& r = o.retention;
  if (r.raw_ns < 2 * 60 * kNsPerSec)
    return "raw observations must be kept at least 2 minutes (they are rolled up by the minute)";
  if (r.minute_ns < 2 * 3600 * kNsPerSec)
    return "1-minute roll-ups must be kept at least 2 hours (they are rolled up by the hour)";
  if (r.hour_ns < r.minute_ns) return "1-hour roll-ups must be kept at least as long as 1-minute ones";
  if (r.records_ns < 0) return "the records horizon cannot be negative (0 keeps them until the size bound)";
  if (r.max_bytes < (1u << 20)) return "the size bound must be at least 1 MiB";
  if (o.batch_rows == 0) return "the batch size must be at least 1";
  if (o.max_pending_bytes < (1u << 16)) return "the memory bound must be at least 64 KiB";
  if (o.maintenance_every_ns <= 0) return "the maintenance interval must be positive";
  return {};
}

}  // namespace reflex::store
