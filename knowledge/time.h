#pragma once
// Time in the loop is monotonic nanoseconds handed down in the Snapshot; analyze
// and plan never read a clock themselves, so sim/ can run them in virtual time.

#include <cstdint>

namespace reflex {

using TimeNs = std::int64_t;
inline constexpr TimeNs kNsPerMs = 1'000'000;
inline constexpr TimeNs kNsPerSec = 1'000'000'000;

// Injected wherever a stage needs "now" (Envoy's TimeSource).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeNs now_ns() const = 0;
};

}  // namespace reflex
