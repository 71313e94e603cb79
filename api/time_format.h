#pragma once
// Wall-clock times in API answers: RFC 3339 in UTC with milliseconds
// ("2024-05-01T12:00:00.123Z"), which jq, Grafana and people all read.

#include "knowledge/time.h"

#include <string>

namespace reflex::api {

// ns since the Unix epoch -> RFC 3339; 0 (never) -> "".
std::string rfc3339(TimeNs wall_ns);

// The wall clock now, in ns since the epoch.
TimeNs wall_now_ns();

}  // namespace reflex::api
