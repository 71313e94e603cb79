#include "guard/rule_text.h"

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace reflex::guard {
namespace {

template <class T>
bool parse_uint(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) words.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return words;
}

}  // namespace

Result<std::uint64_t> parse_duration_s(std::string_view s) {
  std::uint64_t mult = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 's': mult = 1; s.remove_suffix(1); break;
      case 'm': mult = 60; s.remove_suffix(1); break;
      case 'h': mult = 3600; s.remove_suffix(1); break;
      case 'd': mult = 86400; s.remove_suffix(1); break;
      default: break;
    }
  }
  std::uint64_t v = 0;
  if (s.empty() || !parse_uint(s, v) || v == 0 || v > 10ull * 365 * 86400 / mult)
    return make_error("invalid duration '" + std::string(s) + "'",
                      "give seconds > 0, or a number with s/m/h/d, at most 10 years");
  return v * mult;
}

Result<GuardRule> parse_rule_words(const std::vector<std::string>& words, std::uint64_t now_ns) {
  if (words.size() < 2)
    return make_error("expected 'PREFIX ACTION [key=value ...]'", "e.g. '203.0.113.0/24 drop'");
  GuardRule r;
  auto prefix = Prefix::parse(words[0]);
  if (!prefix) return prefix.error();
  r.prefix = *prefix;
  auto action = parse_rule_action(words[1]);
  if (!action)
    return make_error("unknown action '" + words[1] + "'", "use drop, allow, limit or shadow");
  r.action = *action;
  bool have_burst = false;
  for (std::size_t i = 2; i < words.size(); ++i) {
    const std::string& w = words[i];
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == w.size())
      return make_error("expected key=value, got '" + w + "'", "keys: proto, port, ttl, pps, burst");
    std::string_view key(w.data(), eq);
    std::string_view val(w.data() + eq + 1, w.size() - eq - 1);
    if (key == "proto") {
      auto p = parse_proto(val);
      if (!p) return make_error("unknown protocol '" + std::string(val) + "'", "use tcp, udp, icmp, sctp or 0-255");
      r.l4.proto = *p;
    } else if (key == "port") {
      std::uint32_t port = 0;
      if (!parse_uint(val, port) || port == 0 || port > 65535)
        return make_error("invalid port '" + std::string(val) + "'", "use 1-65535");
      r.l4.port = static_cast<std::uint16_t>(port);
    } else if (key == "ttl") {
      auto d = parse_duration_s(val);
      if (!d) return d.error();
      r.expires_ns = now_ns + *d * 1'000'000'000ull;
    } else if (key == "pps") {
      std::uint32_t v = 0;
      if (!parse_uint(val, v) || v == 0) return make_error("invalid pps '" + std::string(val) + "'", "use an integer > 0");
      r.pps = v;
    } else if (key == "burst") {
      std::uint32_t v = 0;
      if (!parse_uint(val, v) || v == 0)
        return make_error("invalid burst '" + std::string(val) + "'", "use an integer > 0");
      r.burst = v;
      have_burst = true;
    } else {
      return make_error("unknown key '" + std::string(key) + "'", "keys: proto, port, ttl, pps, burst");
    }
  }
  (void)have_burst;
  if (auto s = validate_rule(r); !s) return s.error();
  return r;
}

Result<std::vector<GuardRule>> parse_rules(std::string_view text, std::string_view source, std::uint64_t now_ns) {
  std::vector<GuardRule> rules;
  std::map<RuleKey, std::size_t> seen;  // key -> line
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto words = split_words(line);
    if (words.empty()) continue;
    auto where = std::string(source) + ":" + std::to_string(line_no);
    auto rule = parse_rule_words(words, now_ns);
    if (!rule) {
      auto e = rule.error();
      e.what = where + ": " + e.what;
      return e;
    }
    auto [it, inserted] = seen.emplace(rule->key(), line_no);
    if (!inserted)
      return make_error(where + ": duplicate rule for " + rule->prefix.to_string() + " (same prefix and L4 match as line " +
                            std::to_string(it->second) + ")",
                        "keep one of them");
    rules.push_back(*rule);
  }
  return rules;
}

Result<std::vector<GuardRule>> read_rules_file(const std::string& path, std::uint64_t now_ns) {
  std::ifstream in(path);
  if (!in) return errno_error("cannot read rules file " + path, errno, "check the path and permissions");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_rules(ss.str(), path, now_ns);
}

}  // namespace reflex::guard
