#pragma once
// Wall-clock times in API answers: RFC 3339 in UTC with milliseconds
// ("2024-05-01T12:00:00.123Z"), which jq, Grafana and people all read.

#include "knowledge/time.h"

#include <optional>
#include <string>
#include <string_view>

namespace reflex::api {

// ns since the Unix epoch -> RFC 3339; 0 (never) -> "".
std::string rfc3339(TimeNs wall_ns);

// RFC 3339 -> ns since the Unix epoch: "2024-05-01T12:00:00Z", with an
// optional fraction (up to ns) and a "Z" or "+02:00" offset; 't', 'z' and a
// space for 'T' are accepted. nullopt if it is not one.
std::optional<TimeNs> parse_rfc3339(std::string_view text);

// The wall clock now, in ns since the epoch.
TimeNs wall_now_ns();

}  // namespace reflex::api
