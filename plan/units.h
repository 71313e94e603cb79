#pragma once
// Human units in policy files: durations ("90s", "5m", "1h30m", "250ms"),
// bit rates ("100Mbit", "1.5Gbit", "64kbit") and byte sizes ("64KiB", "1MB").
// Parsers return nullopt on anything else; the loader turns that into a
// diagnostic that says what was expected.

#include "knowledge/time.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reflex::plan {

std::optional<TimeNs> parse_duration(std::string_view text);
std::optional<std::uint64_t> parse_bit_rate(std::string_view text);   // bits per second
std::optional<std::uint64_t> parse_byte_size(std::string_view text);  // bytes
// "85%" -> 0.85; "12.5%" -> 0.125. Only a number followed by %, nothing else.
std::optional<double> parse_percent(std::string_view text);

// Shortest exact spelling: 90s -> "1m30s", 250ms -> "250ms", 0 -> "0s".
std::string format_duration(TimeNs ns);
std::string format_bit_rate(std::uint64_t bps);  // "100Mbit"
std::string format_percent(double share);        // 0.85 -> "85%"

}  // namespace reflex::plan
