#include "plan/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace reflex::plan {
namespace {

// Parses a leading non-negative decimal number; advances text past it.
std::optional<double> take_number(std::string_view& text) {
  std::size_t i = 0;
  bool digits = false, dot = false;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !dot))) {
    if (text[i] == '.') dot = true; else digits = true;
    ++i;
  }
  if (!digits) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, v);
  if (ec != std::errc() || ptr != text.data() + i) return std::nullopt;
  text.remove_prefix(i);
  return v;
}

std::string_view take_unit(std::string_view& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
  auto unit = text.substr(0, i);
  text.remove_prefix(i);
  return unit;
}

std::optional<std::uint64_t> to_u64(double v) {
  if (!std::isfinite(v) || v < 0 || v >= 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(v));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// One "<number><unit>" and nothing else, scaled by scale_of(unit); a scale
// of 0 means the unit is not one we take.
template <class ScaleOf>
std::optional<std::uint64_t> parse_quantity(std::string_view text, ScaleOf scale_of) {
  text = trim(text);
  auto n = take_number(text);
  if (!n) return std::nullopt;
  auto unit = take_unit(text);
  if (!text.empty()) return std::nullopt;
  double scale = scale_of(unit);
  if (scale == 0) return std::nullopt;
  return to_u64(*n * scale);
}

}  // namespace

std::optional<TimeNs> parse_duration(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text == "0") return 0;
  double total = 0;
  while (!text.empty()) {
    auto n = take_number(text);
    if (!n) return std::nullopt;
    auto unit = take_unit(text);
    double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else if (unit == "d") scale = 86400e9;
    else return std::nullopt;
    total += *n * scale;
    // Cap at ~100 years: a typo like "99999999h" must not overflow into a negative time.
    if (!std::isfinite(total) || total > 3.2e18) return std::nullopt;
  }
  return static_cast<TimeNs>(std::llround(total));
}

std::optional<std::uint64_t> parse_bit_rate(std::string_view text) {
  return parse_quantity(text, [](std::string_view unit) {
    // tc(8) spelling: bit, kbit, mbit, gbit (SI); bps is accepted as bits/s too.
    std::string u;
    for (char c : unit) u += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (u == "bit" || u == "bps") return 1.0;
    if (u == "kbit" || u == "kbps") return 1e3;
    if (u == "mbit" || u == "mbps") return 1e6;
    if (u == "gbit" || u == "gbps") return 1e9;
    if (u == "tbit" || u == "tbps") return 1e12;
    return 0.0;
  });
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  return parse_quantity(text, [](std::string_view unit) {
    if (unit.empty() || unit == "B") return 1.0;
    if (unit == "KB" || unit == "kB") return 1e3;
    if (unit == "MB") return 1e6;
    if (unit == "GB") return 1e9;
    if (unit == "KiB") return 1024.0;
    if (unit == "MiB") return 1024.0 * 1024;
    if (unit == "GiB") return 1024.0 * 1024 * 1024;
    return 0.0;
  });
}

std::optional<double> parse_percent(std::string_view text) {
  text = trim(text);
  auto n = take_number(text);
  if (!n || text != "%") return std::nullopt;
  return *n / 100;
}

std::string format_duration(TimeNs ns) {
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) { out = "-"; ns = -ns; }
  if (ns % kNsPerSec != 0) {
    if (ns % kNsPerMs == 0) return out + std::to_string(ns / kNsPerMs) + "ms";
    return out + std::to_string(ns) + "ns";
  }
  TimeNs s = ns / kNsPerSec;
  const std::pair<TimeNs, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (auto [len, name] : units) {
    if (s >= len) {
      out += std::to_string(s / len) + name;
      s %= len;
    }
  }
  return out;
}

std::string format_bit_rate(std::uint64_t bps) {
  const std::pair<std::uint64_t, const char*> units[] = {
      {1'000'000'000'000ull, "Tbit"}, {1'000'000'000ull, "Gbit"}, {1'000'000ull, "Mbit"}, {1'000ull, "kbit"}};
  for (auto [scale, name] : units)
    if (bps >= scale && bps % scale == 0) return std::to_string(bps / scale) + name;
  return std::to_string(bps) + "bit";
}

std::string format_percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g%%", share * 100);
  return buf;
}

}  // namespace reflex::plan
