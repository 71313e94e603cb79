#include "analyze/nab/series_csv.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace reflex::nab {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  const auto* b = s.data() + pos;
  auto [p, ec] = std::from_chars(b, b + len, out);
  return ec == std::errc{} && p == b + len;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\n')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

}  // namespace

Result<double> parse_timestamp(std::string_view t) {
  t = trim(t);
  int y, mo, d, h, mi, sec;
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || (t[10] != ' ' && t[10] != 'T') || t[13] != ':' ||
      t[16] != ':' || !read_int(t, 0, 4, y) || !read_int(t, 5, 2, mo) || !read_int(t, 8, 2, d) ||
      !read_int(t, 11, 2, h) || !read_int(t, 14, 2, mi) || !read_int(t, 17, 2, sec))
    return make_error("bad timestamp '" + std::string(t) + "'", "expected YYYY-MM-DD HH:MM:SS");
  double frac = 0;
  if (t.size() > 19 && t[19] == '.') {
    double scale = 0.1;
    for (std::size_t i = 20; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, scale /= 10) frac += (t[i] - '0') * scale;
  }
  const long long days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return static_cast<double>(days * 86400LL + h * 3600LL + mi * 60LL + sec) + frac;
}

Result<Series> read_series_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error("open " + path.string() + " failed", "check the path", errno);
  Series s;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view v = trim(line);
    if (v.empty()) continue;
    const auto comma = v.find(',');
    if (comma == std::string_view::npos)
      return make_error(path.string() + ":" + std::to_string(line_no) + ": expected timestamp,value");
    std::string_view ts = trim(v.substr(0, comma));
    std::string_view val = trim(v.substr(comma + 1));
    if (auto c2 = val.find(','); c2 != std::string_view::npos) val = trim(val.substr(0, c2));
    auto sec = parse_timestamp(ts);
    if (!sec) {
      if (line_no == 1) continue;  // header
      return make_error(path.string() + ":" + std::to_string(line_no) + ": " + sec.error().what);
    }
    double x = 0;
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), x);
    if (ec != std::errc{} || p != val.data() + val.size())
      return make_error(path.string() + ":" + std::to_string(line_no) + ": bad value '" + std::string(val) + "'");
    s.timestamps.emplace_back(ts);
    s.seconds.push_back(*sec);
    s.values.push_back(x);
  }
  return s;
}

Status write_scores_csv(const std::filesystem::path& path, const Series& s, const std::vector<double>& scores) {
  std::ofstream out(path);
  if (!out) return make_error("create " + path.string() + " failed", "check the output directory", errno);
  out << "timestamp,value,anomaly_score\n";
  char buf[64];
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    out << s.timestamps[i] << ',';
    auto r = std::to_chars(buf, buf + sizeof buf, s.values[i]);
    out.write(buf, r.ptr - buf);
    out << ',';
    r = std::to_chars(buf, buf + sizeof buf, scores[i]);
    out.write(buf, r.ptr - buf);
    out << '\n';
  }
  if (!out) return make_error("write " + path.string() + " failed", "", errno);
  return ok();
}

Result<std::vector<double>> read_scores_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error("open " + path.string() + " failed", "check the path", errno);
  std::vector<double> scores;
  std::string line;
  std::getline(in, line);  // header
  std::size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view v = trim(line);
    if (v.empty()) continue;
    const auto last = v.rfind(',');
    if (last == std::string_view::npos) return make_error(path.string() + ":" + std::to_string(line_no) + ": no score");
    std::string_view val = v.substr(last + 1);
    double x = 0;
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), x);
    if (ec != std::errc{}) return make_error(path.string() + ":" + std::to_string(line_no) + ": bad score");
    scores.push_back(x);
  }
  return scores;
}

Result<Labels> read_labels(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error("open " + path.string() + " failed", "check the path", errno);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto jv = boost::json::parse(ss.str(), ec);
  if (ec || !jv.is_object()) return make_error(path.string() + ": not a JSON object");
  Labels labels;
  for (const auto& [key, val] : jv.as_object()) {
    if (!val.is_array()) return make_error(path.string() + ": windows of " + std::string(key) + " are not a list");
    auto& out = labels[std::string(key)];
    for (const auto& w : val.as_array()) {
      if (!w.is_array() || w.as_array().size() != 2 || !w.as_array()[0].is_string() || !w.as_array()[1].is_string())
        return make_error(path.string() + ": window of " + std::string(key) + " is not [start, end]");
      auto a = parse_timestamp(w.as_array()[0].as_string());
      auto b = parse_timestamp(w.as_array()[1].as_string());
      if (!a || !b) return make_error(path.string() + ": bad window timestamp in " + std::string(key));
      out.emplace_back(*a, *b);
    }
  }
  return labels;
}

Result<std::vector<Window>> windows_for(const Labels& labels, const std::string& name, const Series& s) {
  std::vector<Window> out;
  auto it = labels.find(name);
  if (it == labels.end()) return make_error("no labels for " + name, "is it listed in windows.json?");
  auto index_of = [&](double t) -> Result<std::size_t> {
    auto p = std::find(s.seconds.begin(), s.seconds.end(), t);
    if (p == s.seconds.end()) return make_error(name + ": a window edge matches no row");
    return static_cast<std::size_t>(p - s.seconds.begin());
  };
  for (const auto& [a, b] : it->second) {
    auto i = index_of(a);
    if (!i) return i.error();
    auto j = index_of(b);
    if (!j) return j.error();
    out.push_back(Window{*i, *j});
  }
  std::sort(out.begin(), out.end(), [](const Window& x, const Window& y) { return x.first < y.first; });
  return out;
}

std::vector<std::filesystem::path> list_csv_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".csv")
      out.push_back(std::filesystem::relative(it->path(), dir));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace reflex::nab
