#pragma once
// An Observation as JSON: what `reflexd observe` prints, one object per tick.
//
// The contract (these names stay; fields are only ever added):
//   {"ts_ns":N, "interfaces":{"IF":{"mode":"native|generic|tc|none",
//     "rx_packets":N, "rx_pps":X, "rx_bytes":N, "drops":{"REASON":N,...},
//     "xdp":{"pass":N,"drop":N,"rate_limited":N,"shadow":N},
//     "rtt_us":{"p50":X,"p90":X,"p99":X,"samples":N}}},
//    "maps":{"NAME":{"entries":N,"max_entries":N}},
//    "degraded":[{"probe":"...","reason":"..."}]}
// Counters are cumulative; rates are per second over the last tick; rtt_us
// describes the samples of the last tick. docs/monitor.md lists every field.
// Rates are rounded to 1/1000 (a record of what was seen, not a value to
// compute with), so unlike the other codecs this one has no from_json.

#include <boost/json/value.hpp>

#include "knowledge/observation.h"

namespace reflex {

boost::json::value to_json(const Observation& obs);

}  // namespace reflex
