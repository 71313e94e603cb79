#pragma once
// The rules-file format, in the spirit of iptables-restore: one rule a line,
//   PREFIX ACTION [key=value ...]      # comment
// e.g. "192.0.2.0/24 drop proto=udp port=53 ttl=600". A bare address is a /32
// or /128. Keys: proto, port, ttl (seconds, or 30s/10m/2h/1d), pps, burst.

#include "common/result.h"
#include "guard/rule.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::guard {

// Parses a whole file; the first error names source:line and stops. Duplicate
// rule keys are an error naming both lines. ttl= is turned into an absolute
// CLOCK_BOOTTIME expiry relative to now_ns.
Result<std::vector<GuardRule>> parse_rules(std::string_view text, std::string_view source, std::uint64_t now_ns);

// One rule from already split words (the CLI's "PREFIX ACTION k=v..." form).
Result<GuardRule> parse_rule_words(const std::vector<std::string>& words, std::uint64_t now_ns);

// "600", "30s", "10m", "2h", "1d" -> seconds.
Result<std::uint64_t> parse_duration_s(std::string_view s);

Result<std::vector<GuardRule>> read_rules_file(const std::string& path, std::uint64_t now_ns);

}  // namespace reflex::guard
