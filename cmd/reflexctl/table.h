#pragma once
// Tables for people, as kubectl prints them: a header in capitals, columns
// padded to their widest cell, two spaces apart, nothing when there are no
// rows but the `empty` line.

#include <string>
#include <vector>

namespace reflex::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::size_t size() const { return rows_.size(); }
  // `empty_line` is printed instead when there are no rows.
  std::string render(const std::string& empty_line = {}) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "9m59s" for a remaining TTL in seconds; "-" for none (never expires).
std::string ttl_text(long long seconds, bool present);
// "12:03:04" from "2024-05-01T12:03:04.123Z" (the time of day, UTC), as tables show it.
std::string clock_text(const std::string& rfc3339);
// 1536 -> "1.5KiB".
std::string bytes_text(double bytes);
// 25000.5 -> "25k", 4500 -> "4.5k", 12 -> "12".
std::string rate_text(double per_s);

}  // namespace reflex::ctl
