#include "plan/yaml_reader.h"

#include "plan/units.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace reflex::plan {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 60) out += "...";
  return out + "\"";
}

}  // namespace

std::string closest_match(std::string_view word, std::initializer_list<std::string_view> candidates) {
  std::string best;
  std::size_t best_d = 3;
  for (auto c : candidates) {
    auto d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

SourceLoc YamlReader::loc(const YAML::Node& n) const {
  SourceLoc l{file_, 0, 0};
  if (n.IsDefined()) {
    auto m = n.Mark();
    if (!m.is_null()) {
      l.line = m.line + 1;
      l.column = m.column + 1;
    }
  }
  return l;
}

void YamlReader::error(const YAML::Node& at, const std::string& field, std::string message, std::string hint) {
  error_at(loc(at), field, std::move(message), std::move(hint));
}

void YamlReader::error_at(SourceLoc l, const std::string& field, std::string message, std::string hint) {
  out_.push_back({Diagnostic::Level::error, std::move(l), field, std::move(message), std::move(hint)});
}

void YamlReader::warning(const YAML::Node& at, const std::string& field, std::string message, std::string hint) {
  out_.push_back({Diagnostic::Level::warning, loc(at), field, std::move(message), std::move(hint)});
}

std::string YamlReader::describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return quote(n.Scalar());
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

bool YamlReader::expect_map(const YAML::Node& n, const std::string& field) {
  if (n.IsMap()) return true;
  error(n, field, "expected a mapping (key: value lines), got " + describe(n));
  return false;
}

void YamlReader::check_keys(const YAML::Node& map, const std::string& field,
                            std::initializer_list<std::string_view> allowed) {
  std::vector<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // A copy, not a reference: yaml-cpp's iterator hands out a temporary
    // pair, so `const Node& key = it->first` dangles (ASan found this).
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key, field, "expected a plain key, got " + describe(key));
      continue;
    }
    const std::string& k = key.Scalar();
    // yaml-cpp keeps the last of two equal keys; a duplicated key on a live
    // node almost always means an edit that did not replace what it meant to.
    if (std::find(seen.begin(), seen.end(), k) != seen.end())
      error(key, field.empty() ? k : field + "." + k, "key appears twice in the same mapping",
            "remove one of them");
    seen.push_back(k);
    if (std::find(allowed.begin(), allowed.end(), std::string_view(k)) != allowed.end()) continue;
    std::string expected;
    for (auto a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
    auto guess = closest_match(k, allowed);
    error(key, field.empty() ? k : field + "." + k, "unknown field; expected one of: " + expected,
          guess.empty() ? "" : "did you mean `" + guess + "`?");
  }
}

std::optional<std::string> YamlReader::string(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar()) return n.Scalar();
  error(n, field, "expected a string, got " + describe(n));
  return std::nullopt;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar()) {
    const auto& s = n.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  error(n, field, "expected true or false, got " + describe(n));
  return std::nullopt;
}

std::optional<std::int64_t> YamlReader::integer(const YAML::Node& n, const std::string& field, std::int64_t min,
                                                std::int64_t max, std::string_view what) {
  std::string expected = "expected " + std::string(what) + " (an integer from " + std::to_string(min) + " to " +
                         std::to_string(max) + ")";
  if (n.IsScalar()) {
    const auto& s = n.Scalar();
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) {
      if (v >= min && v <= max) return v;
      error(n, field, expected + ", got " + s);
      return std::nullopt;
    }
  }
  error(n, field, expected + ", got " + describe(n));
  return std::nullopt;
}

std::optional<double> YamlReader::number(const YAML::Node& n, const std::string& field, double min, double max,
                                         std::string_view what) {
  auto fmt = [](double d) {
    std::string s = std::to_string(d);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  std::string expected = "expected " + std::string(what) + " (a number from " + fmt(min) + " to " + fmt(max) + ")";
  if (n.IsScalar()) {
    const auto& s = n.Scalar();
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty() && std::isfinite(v)) {
      if (v >= min && v <= max) return v;
      error(n, field, expected + ", got " + s);
      return std::nullopt;
    }
  }
  error(n, field, expected + ", got " + describe(n));
  return std::nullopt;
}

std::optional<TimeNs> YamlReader::duration(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar())
    if (auto d = parse_duration(n.Scalar())) return d;
  error(n, field, "expected a duration such as 500ms, 30s, 5m, 1h30m, got " + describe(n),
        "units are ms, s, m, h, d; a bare number needs a unit");
  return std::nullopt;
}

std::optional<std::uint64_t> YamlReader::bit_rate(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar())
    if (auto r = parse_bit_rate(n.Scalar())) return r;
  error(n, field, "expected a bit rate such as 500kbit, 20Mbit, 1Gbit, got " + describe(n),
        "units as in tc(8): bit, kbit, Mbit, Gbit");
  return std::nullopt;
}

std::optional<std::uint64_t> YamlReader::byte_size(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar())
    if (auto r = parse_byte_size(n.Scalar())) return r;
  error(n, field, "expected a size such as 1500, 64KiB, 1MB, got " + describe(n));
  return std::nullopt;
}

std::optional<Prefix> YamlReader::prefix(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar()) {
    auto p = Prefix::parse(n.Scalar());
    if (p) return *p;
    error(n, field, "expected an IP prefix, got " + describe(n) + ": " + p.error().what, p.error().hint);
    return std::nullopt;
  }
  error(n, field, "expected an IP prefix such as 192.0.2.0/24 or 2001:db8::/32, got " + describe(n));
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::string_list(const YAML::Node& n, const std::string& field) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (n.IsSequence()) {
    bool ok = true;
    std::size_t i = 0;
    for (const auto& item : n) {
      if (item.IsScalar()) out.push_back(item.Scalar());
      else {
        error(item, field + "[" + std::to_string(i) + "]", "expected a string, got " + describe(item));
        ok = false;
      }
      ++i;
    }
    if (ok) return out;
    return std::nullopt;
  }
  error(n, field, "expected a string or a list of strings, got " + describe(n));
  return std::nullopt;
}

std::optional<std::vector<Prefix>> YamlReader::prefix_list(const YAML::Node& n, const std::string& field) {
  std::vector<Prefix> out;
  if (n.IsScalar()) {
    if (auto p = prefix(n, field)) {
      out.push_back(*p);
      return out;
    }
    return std::nullopt;
  }
  if (n.IsSequence()) {
    bool ok = true;
    std::size_t i = 0;
    for (const auto& item : n) {
      if (auto p = prefix(item, field + "[" + std::to_string(i) + "]")) out.push_back(*p);
      else ok = false;
      ++i;
    }
    if (ok) return out;
    return std::nullopt;
  }
  error(n, field, "expected a prefix or a list of prefixes, got " + describe(n));
  return std::nullopt;
}

namespace {

// Byte offset of the first invalid UTF-8 sequence, or npos.
std::size_t invalid_utf8_at(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    std::uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;  // overlong, surrogate
    i += len;
  }
  return std::string::npos;
}

}  // namespace

std::vector<YAML::Node> parse_yaml_documents(const std::string& text, const std::string& file,
                                             std::vector<Diagnostic>& out) {
  // Checked before yaml-cpp sees the bytes: yaml-cpp 0.7 can spin for minutes
  // on invalid UTF-8 (found by the fuzzer), which would wedge a reload.
  if (text.size() > kMaxYamlBytes) {
    out.push_back({Diagnostic::Level::error, SourceLoc{file}, "",
                   "file is " + std::to_string(text.size()) + " bytes; the limit is " + std::to_string(kMaxYamlBytes),
                   "split it into several files"});
    return {};
  }
  if (auto at = invalid_utf8_at(text); at != std::string::npos) {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    char byte[8];
    std::snprintf(byte, sizeof(byte), "0x%02x", static_cast<unsigned char>(text[at]));
    out.push_back({Diagnostic::Level::error, SourceLoc{file, line, col}, "",
                   std::string("invalid UTF-8 (byte ") + byte + ")", "save the file as UTF-8"});
    return {};
  }
  // One document per file. Not YAML::LoadAll: in yaml-cpp 0.7 it loops
  // forever on a stray top-level ',' (found by the fuzzer); Load reads one.
  {
    int line = 1;
    bool content = false;
    for (std::size_t i = 0; i < text.size(); ++line) {
      std::size_t end = text.find('\n', i);
      std::string_view l(text.data() + i, (end == std::string::npos ? text.size() : end) - i);
      bool marker = l.rfind("---", 0) == 0 || l.rfind("...", 0) == 0;
      if (marker && content) {
        out.push_back({Diagnostic::Level::error, SourceLoc{file, line, 1}, "",
                       "a second YAML document; a policy file holds exactly one",
                       "move it into a file of its own"});
        return {};
      }
      auto first = l.find_first_not_of(" \t\r");
      if (!marker && first != std::string_view::npos && l[first] != '#') content = true;
      if (end == std::string::npos) break;
      i = end + 1;
    }
  }
  try {
    return {YAML::Load(text)};
  } catch (const YAML::Exception& e) {
    SourceLoc l{file, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
    out.push_back({Diagnostic::Level::error, l, "", "YAML syntax: " + e.msg,
                   "check indentation (spaces only, no tabs) and quoting around this position"});
  } catch (const std::exception& e) {
    out.push_back({Diagnostic::Level::error, SourceLoc{file}, "", std::string("cannot parse YAML: ") + e.what()});
  }
  return {};
}

}  // namespace reflex::plan
