#include "cmd/reflexctl/table.h"

#include "plan/units.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace reflex::ctl {

std::string Table::render(const std::string& empty_line) const {
  if (rows_.empty()) return empty_line.empty() ? std::string() : empty_line + "\n";
  std::vector<std::size_t> width(headers_.size(), 0);
  for (std::size_t i = 0; i < headers_.size(); ++i) width[i] = headers_[i].size();
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < headers_.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      out += cell;
      if (i + 1 < headers_.size()) out += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers_);
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string ttl_text(long long seconds, bool present) {
  if (!present) return "-";
  return plan::format_duration(static_cast<TimeNs>(seconds) * kNsPerSec);
}

std::string clock_text(const std::string& rfc3339) {
  if (rfc3339.size() < 19) return rfc3339.empty() ? "-" : rfc3339;
  return rfc3339.substr(11, 8);
}

std::string bytes_text(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 || bytes >= 100 ? "%.0f%s" : "%.1f%s", bytes, kUnits[u]);
  return buf;
}

std::string rate_text(double v) {
  char buf[32];
  if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.3gG", v / 1e9);
  else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace reflex::ctl
