#include "api/time_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace reflex::api {

std::string rfc3339(TimeNs wall_ns) {
  if (wall_ns <= 0) return {};
  const std::time_t secs = static_cast<std::time_t>(wall_ns / kNsPerSec);
  const int ms = static_cast<int>((wall_ns % kNsPerSec) / kNsPerMs);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

TimeNs wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace reflex::api
