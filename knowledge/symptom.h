#pragma once
// Symptom: what Analyze concluded from Observations (issue 4 owns the detail).
// Evidence says why, so an operator and the planner can both explain it.

#include "common/prefix.h"
#include "knowledge/time.h"

#include <optional>
#include <string>
#include <string_view>

namespace reflex {

enum class SymptomKind { latency_high, drop_rate_high, map_pressure, flood, attach_degraded };
enum class Severity { info, warning, critical };

constexpr std::string_view to_string(SymptomKind k) {
  switch (k) {
    case SymptomKind::latency_high: return "latency_high";
    case SymptomKind::drop_rate_high: return "drop_rate_high";
    case SymptomKind::map_pressure: return "map_pressure";
    case SymptomKind::flood: return "flood";
    case SymptomKind::attach_degraded: return "attach_degraded";
  }
  return "unknown";
}

constexpr std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::critical: return "critical";
  }
  return "unknown";
}

// What a symptom is about. Unused fields stay empty.
struct Subject {
  std::string iface;
  std::optional<Prefix> prefix;
  std::string map;
  std::string reason;  // e.g. a kernel drop reason
  auto operator<=>(const Subject&) const = default;
};

struct Evidence {
  double value = 0;     // what was observed
  double baseline = 0;  // what was expected
  double deviation = 0; // how far off, in the detector's units (z, MADs, ...)
  std::string detail;   // one line for humans
};

struct Symptom {
  SymptomKind kind = SymptomKind::flood;
  Subject subject;
  Severity severity = Severity::info;
  double score = 0;     // anomaly likelihood in [0, 1]
  Evidence evidence;
  TimeNs since_ns = 0;  // when it was first raised (persistence)
  TimeNs ts_ns = 0;     // the observation that produced it
};

}  // namespace reflex
