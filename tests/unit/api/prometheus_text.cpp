#include "tests/unit/api/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <optional>
#include <set>

namespace reflex::api::testing {
namespace {

bool is_name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return colon;
  return !first && c >= '0' && c <= '9';
}

// Reads a metric (colon allowed) or label name at s[i]; empty if none.
std::string read_name(std::string_view s, std::size_t& i, bool colon) {
  std::size_t start = i;
  while (i < s.size() && is_name_char(s[i], i == start, colon)) ++i;
  return std::string(s.substr(start, i - start));
}

bool parse_value(std::string_view s, double& out) {
  if (s == "+Inf" || s == "Inf") return out = INFINITY, true;
  if (s == "-Inf") return out = -INFINITY, true;
  if (s == "NaN") return out = NAN, true;
  if (s.empty()) return false;
  std::string str(s);
  char* end = nullptr;
  out = std::strtod(str.c_str(), &end);
  // strtod accepts "inf"/"nan" spellings and hex; the format does not.
  if (end != str.c_str() + str.size()) return false;
  for (char c : str)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return false;
  return true;
}

std::string series_key(const PromSample& s) {
  std::string k = s.name;
  for (const auto& [n, v] : s.labels) k += "\x1f" + n + "=" + v;
  return k;
}

// Per series (labels without le): buckets cumulative in le order, a +Inf
// bucket equal to _count, and a _sum.
Status check_histograms(const PromText& text) {
  for (const auto& fam : text.families) {
    if (fam.type != "histogram") continue;
    struct Series {
      std::vector<std::pair<double, double>> buckets;
      std::optional<double> count, sum;
    };
    std::map<std::map<std::string, std::string>, Series> series;
    for (const auto& s : fam.samples) {
      auto labels = s.labels;
      std::string le;
      if (auto it = labels.find("le"); it != labels.end()) {
        le = it->second;
        labels.erase(it);
      }
      auto& one = series[labels];
      if (s.name == fam.name + "_bucket") {
        double bound = 0;
        if (!parse_value(le, bound)) return make_error(fam.name + ": invalid le \"" + le + "\"");
        one.buckets.emplace_back(bound, s.value);
      } else if (s.name == fam.name + "_count") {
        one.count = s.value;
      } else {
        one.sum = s.value;
      }
    }
    for (auto& [labels, one] : series) {
      std::sort(one.buckets.begin(), one.buckets.end());
      if (one.buckets.empty() || !std::isinf(one.buckets.back().first))
        return make_error(fam.name + ": a series without a +Inf bucket");
      for (std::size_t i = 1; i < one.buckets.size(); ++i)
        if (one.buckets[i].second < one.buckets[i - 1].second)
          return make_error(fam.name + ": bucket counts must not decrease as le grows");
      if (!one.count || *one.count != one.buckets.back().second)
        return make_error(fam.name + ": _count must equal the +Inf bucket");
      if (!one.sum) return make_error(fam.name + ": a series without _sum");
    }
  }
  return ok();
}

}  // namespace

const PromFamily* PromText::find(std::string_view name) const {
  for (const auto& f : families)
    if (f.name == name) return &f;
  return nullptr;
}

const PromSample* PromText::sample(std::string_view name,
                                   const std::map<std::string, std::string>& labels) const {
  for (const auto& f : families)
    for (const auto& s : f.samples)
      if (s.name == name && s.labels == labels) return &s;
  return nullptr;
}

Result<PromText> parse_prometheus_text(std::string_view text) {
  if (!text.empty() && text.back() != '\n') return make_error("the text does not end with a newline");
  PromText out;
  std::map<std::string, std::size_t> index;  // family name -> position
  std::set<std::string> closed;              // families another family followed
  std::set<std::string> series;
  std::set<std::string> helped, typed;  // families whose HELP / TYPE was seen
  std::string current;                  // family of the previous line
  int lineno = 0;

  auto family = [&](const std::string& name) -> PromFamily& {
    auto it = index.find(name);
    if (it != index.end()) return out.families[it->second];
    index[name] = out.families.size();
    out.families.push_back(PromFamily{name, "", "untyped", {}});
    return out.families.back();
  };
  auto enter = [&](const std::string& name) -> Status {
    if (name != current) {
      if (closed.count(name)) return make_error("family " + name + " resumes after another family");
      if (!current.empty()) closed.insert(current);
      current = name;
    }
    return ok();
  };

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    const std::string where = "line " + std::to_string(lineno) + " \"" + std::string(line) + "\": ";
    if (line.empty()) continue;

    if (line[0] == '#') {
      bool help = line.rfind("# HELP ", 0) == 0, type = line.rfind("# TYPE ", 0) == 0;
      if (!help && !type) continue;  // a plain comment
      std::size_t i = 7;
      std::string name = read_name(line, i, true);
      if (name.empty()) return make_error(where + "no metric name");
      if (i < line.size() && line[i] != ' ') return make_error(where + "invalid metric name");
      std::string rest = i < line.size() ? std::string(line.substr(i + 1)) : "";
      if (auto st = enter(name); !st) return make_error(where + st.error().what);
      auto& fam = family(name);
      if (help) {
        if (!helped.insert(name).second) return make_error(where + "second HELP for " + name);
        if (!fam.samples.empty()) return make_error(where + "HELP after samples of " + name);
        for (std::size_t k = 0; k < rest.size(); ++k)
          if (rest[k] == '\\' && (k + 1 >= rest.size() || (rest[k + 1] != '\\' && rest[k + 1] != 'n')))
            return make_error(where + "invalid escape in HELP");
          else if (rest[k] == '\\')
            ++k;
        fam.help = rest;
      } else {
        static const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};
        if (!kTypes.count(rest)) return make_error(where + "unknown type \"" + rest + "\"");
        if (!typed.insert(name).second) return make_error(where + "second TYPE for " + name);
        if (!fam.samples.empty()) return make_error(where + "TYPE after samples of " + name);
        fam.type = rest;
      }
      continue;
    }

    PromSample s;
    std::size_t i = 0;
    s.name = read_name(line, i, true);
    if (s.name.empty()) return make_error(where + "a sample line must start with a metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string label = read_name(line, i, false);
        if (label.empty()) return make_error(where + "invalid label name");
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
          return make_error(where + "expected =\" after label " + label);
        i += 2;
        std::string value;
        for (;;) {
          if (i >= line.size()) return make_error(where + "unterminated label value");
          char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return make_error(where + "dangling backslash");
            char e = line[i++];
            if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else if (e == 'n')
              value += '\n';
            else
              return make_error(where + "invalid escape \\" + std::string(1, e));
          } else {
            value += c;
          }
        }
        if (!s.labels.emplace(label, value).second) return make_error(where + "label " + label + " twice");
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] != '}')
          return make_error(where + "expected , or } after a label");
      }
      if (i >= line.size()) return make_error(where + "unterminated label set");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return make_error(where + "expected one space before the value");
    ++i;
    std::string_view rest = line.substr(i);
    std::string_view value = rest.substr(0, rest.find(' '));
    if (!parse_value(value, s.value))
      return make_error(where + "invalid value \"" + std::string(value) + "\"");
    if (value.size() < rest.size()) {
      std::string_view ts = rest.substr(value.size() + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos)
        return make_error(where + "invalid timestamp");
    }
    // 0.0.4: a counter's or gauge's samples carry the family's own name; a
    // histogram's are NAME_bucket{le=...}, NAME_sum and NAME_count.
    std::string fam_name = s.name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (s.name.size() <= suffix.size() || s.name.compare(s.name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      const std::string base = s.name.substr(0, s.name.size() - suffix.size());
      if (auto it = index.find(base); it != index.end() && out.families[it->second].type == "histogram") {
        fam_name = base;
        if (suffix == "_bucket" && !s.labels.count("le")) return make_error(where + "a histogram bucket needs le");
      }
    }
    if (auto st = enter(fam_name); !st) return make_error(where + st.error().what);
    auto& fam = family(fam_name);
    if (fam.type == "histogram" && fam_name == s.name)
      return make_error(where + "a histogram's samples are _bucket, _sum and _count");
    if (fam.type == "counter" && (s.value < 0 || std::isnan(s.value)))
      return make_error(where + "a counter must not be negative or NaN");
    if (!series.insert(series_key(s)).second) return make_error(where + "series appears twice");
    fam.samples.push_back(std::move(s));
  }
  if (auto st = check_histograms(out); !st) return st.error();
  return out;
}

}  // namespace reflex::api::testing
