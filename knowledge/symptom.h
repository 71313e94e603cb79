#pragma once
// Symptom: what Analyze concluded from Observations. Evidence says why, so an
// operator and the planner can both explain it.
//
// Analyze reports transitions (SymptomEvent: raised, updated, cleared), each
// naming the symptom's episode by id; the loop folds them into the set of
// active symptoms the Snapshot carries and the planner reads (one per kind and
// subject), and Knowledge records the transitions themselves.

#include "common/prefix.h"
#include "knowledge/time.h"

#include <optional>
#include <string>
#include <string_view>

namespace reflex {

// Appended, never reordered: the store and the wire format name them by string,
// but tests and tables iterate in this order.
enum class SymptomKind { latency_high, drop_rate_high, map_pressure, flood, attach_degraded, loss_high, peer_verdict };
inline constexpr SymptomKind kAllSymptomKinds[] = {SymptomKind::latency_high,    SymptomKind::drop_rate_high,
                                                   SymptomKind::map_pressure,    SymptomKind::flood,
                                                   SymptomKind::attach_degraded, SymptomKind::loss_high,
                                                   SymptomKind::peer_verdict};
enum class Severity { info, warning, critical };

constexpr std::string_view to_string(SymptomKind k) {
  switch (k) {
    case SymptomKind::latency_high: return "latency_high";
    case SymptomKind::drop_rate_high: return "drop_rate_high";
    case SymptomKind::map_pressure: return "map_pressure";
    case SymptomKind::flood: return "flood";
    case SymptomKind::attach_degraded: return "attach_degraded";
    case SymptomKind::loss_high: return "loss_high";
    case SymptomKind::peer_verdict: return "peer_verdict";
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
  bool operator==(const Evidence&) const = default;
};

struct Symptom {
  // Names one episode (raised .. cleared) of this kind on this subject; stable
  // across its updates, new for the next episode.
  std::string id;
  SymptomKind kind = SymptomKind::flood;
  Subject subject;
  Severity severity = Severity::info;
  double score = 0;     // anomaly likelihood in [0, 1]
  Evidence evidence;
  TimeNs since_ns = 0;  // when it was first raised (persistence)
  TimeNs ts_ns = 0;     // the observation that produced it
  bool operator==(const Symptom&) const = default;
};

enum class SymptomTransition { raised, updated, cleared };

constexpr std::string_view to_string(SymptomTransition t) {
  switch (t) {
    case SymptomTransition::raised: return "raised";
    case SymptomTransition::updated: return "updated";
    case SymptomTransition::cleared: return "cleared";
  }
  return "unknown";
}

// One change in a symptom's life. `symptom` is its state after the change (for
// cleared: as it was last seen, with ts_ns the observation that cleared it).
struct SymptomEvent {
  SymptomTransition transition = SymptomTransition::raised;
  Symptom symptom;
  bool operator==(const SymptomEvent&) const = default;
};

}  // namespace reflex
