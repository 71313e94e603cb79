#include "guard/rule_text.h"

#include "common/fd.h"
#include "common/huge_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <span>
#include <thread>

namespace reflex::guard {
namespace {

template <class T>
bool parse_uint(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
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

namespace {

constexpr std::size_t kMaxWords = 16;

// Splits a line into at most kMaxWords words (views into the line); returns
// how many, or kMaxWords + 1 when there are more.
std::size_t split_views(std::string_view line, std::array<std::string_view, kMaxWords>& out) {
  std::size_t n = 0, i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) {
      if (n == kMaxWords) return kMaxWords + 1;
      out[n++] = line.substr(i, j - i);
    }
    i = j;
  }
  return n;
}

// One rule from its words. Nothing is allocated unless there is an error:
// a million lines go through here on every `replace --file`.
Result<GuardRule> parse_fields(std::span<const std::string_view> words, std::uint64_t now_ns) {
  if (words.size() < 2)
    return make_error("expected 'PREFIX ACTION [key=value ...]'", "e.g. '203.0.113.0/24 drop'");
  GuardRule r;
  auto prefix = Prefix::parse(words[0]);
  if (!prefix) return prefix.error();
  r.prefix = *prefix;
  auto action = parse_rule_action(words[1]);
  if (!action) return make_error("unknown action '" + std::string(words[1]) + "'", "use drop, allow, limit or shadow");
  r.action = *action;
  for (std::size_t i = 2; i < words.size(); ++i) {
    const std::string_view w = words[i];
    auto eq = w.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == w.size())
      return make_error("expected key=value, got '" + std::string(w) + "'", "keys: proto, port, ttl, pps, burst");
    std::string_view key = w.substr(0, eq);
    std::string_view val = w.substr(eq + 1);
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
    } else {
      return make_error("unknown key '" + std::string(key) + "'", "keys: proto, port, ttl, pps, burst");
    }
  }
  if (auto s = validate_rule(r); !s) return s.error();
  return r;
}

// LSD radix sort on the upper 32 bits (stable, so equal hashes keep their
// line order): four passes over the array instead of 20 million comparisons.
void sort_by_high_word(std::vector<std::uint64_t>& v) {
  std::vector<std::uint64_t> tmp;
  reserve_huge(tmp, v.size());
  tmp.resize(v.size());
  for (int shift = 32; shift < 64; shift += 8) {
    std::size_t count[257] = {};
    for (auto x : v) ++count[((x >> shift) & 0xff) + 1];
    for (int i = 0; i < 256; ++i) count[i + 1] += count[i];
    for (auto x : v) tmp[count[(x >> shift) & 0xff]++] = x;
    v.swap(tmp);
  }
}

// Parses the lines of `text` (whose first line is line number first_no) into
// out; stops at the first bad line and says where.
Status parse_lines(std::string_view text, std::size_t first_no, std::string_view source, std::uint64_t now_ns,
                   std::vector<GuardRule>& out, std::vector<std::uint32_t>& line_of) {
  std::array<std::string_view, kMaxWords> words;
  for (std::size_t pos = 0, no = first_no; pos < text.size(); ++no) {
    const char* nl = static_cast<const char*>(std::memchr(text.data() + pos, '\n', text.size() - pos));
    const std::size_t end = nl ? static_cast<std::size_t>(nl - text.data()) : text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::size_t n = split_views(line, words);
    if (n == 0) continue;
    auto where = [&] { return std::string(source) + ":" + std::to_string(no); };
    if (n > kMaxWords) return make_error(where() + ": too many words", "PREFIX ACTION and at most 14 key=value");
    auto rule = parse_fields(std::span(words.data(), n), now_ns);
    if (!rule) {
      auto e = rule.error();
      e.what = where() + ": " + e.what;
      return e;
    }
    out.push_back(*rule);
    line_of.push_back(static_cast<std::uint32_t>(no));
  }
  return ok();
}

}  // namespace

Result<GuardRule> parse_rule_words(const std::vector<std::string>& words, std::uint64_t now_ns) {
  std::vector<std::string_view> views(words.begin(), words.end());
  return parse_fields(views, now_ns);
}

Result<std::vector<GuardRule>> parse_rules(std::string_view text, std::string_view source, std::uint64_t now_ns) {
  // Two halves on two threads when the file is large, split at a line
  // break: parsing is most of what `replace --file` of a big list costs.
  // Lines are found as they are parsed (memchr), not listed first.
  constexpr std::size_t kSplitAt = 2'000'000;  // bytes, ~100k lines
  std::size_t half = text.size();
  if (text.size() > kSplitAt) {
    const char* nl = static_cast<const char*>(std::memchr(text.data() + text.size() / 2, '\n', text.size() / 2));
    if (nl) half = static_cast<std::size_t>(nl - text.data()) + 1;
  }
  const std::string_view head = text.substr(0, half), rest = text.substr(half);
  // A rule takes at least 8 bytes of text ("::1 drop"): a bound, so the
  // vectors are never grown; pages never written are never faulted in.
  std::vector<GuardRule> rules, tail;
  std::vector<std::uint32_t> line_of, tail_lines;
  reserve_huge(rules, text.size() / 8 + 1);
  reserve_huge(line_of, text.size() / 8 + 1);
  Status tail_status = ok();
  std::thread worker;
  if (!rest.empty()) {
    worker = std::thread([&] {
      const std::size_t first_no = 1 + static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n'));
      reserve_huge(tail, rest.size() / 8 + 1);
      reserve_huge(tail_lines, rest.size() / 8 + 1);
      tail_status = parse_lines(rest, first_no, source, now_ns, tail, tail_lines);
    });
  }
  Status head_status = parse_lines(head, 1, source, now_ns, rules, line_of);
  if (worker.joinable()) worker.join();
  if (!head_status) return head_status.error();
  if (!tail_status) return tail_status.error();
  rules.insert(rules.end(), tail.begin(), tail.end());
  line_of.insert(line_of.end(), tail_lines.begin(), tail_lines.end());
  tail = {};

  // Duplicate keys: sort (key hash, index) pairs and compare neighbours, far
  // cheaper than a tree of a million keys; equal hashes are compared in full.
  std::vector<std::uint64_t> order;
  reserve_huge(order, rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i)
    order.push_back(std::uint64_t{rule_uid(rules[i].key())} << 32 | static_cast<std::uint32_t>(i));
  sort_by_high_word(order);
  std::optional<std::pair<std::size_t, std::size_t>> dup;  // (first line, second line) of the earliest duplicate
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i + 1;
    while (j < order.size() && (order[j] >> 32) == (order[i] >> 32)) ++j;
    for (std::size_t a = i; a < j; ++a)
      for (std::size_t b = a + 1; b < j; ++b) {
        const auto ia = static_cast<std::uint32_t>(order[a]), ib = static_cast<std::uint32_t>(order[b]);
        if (rules[ia].key() != rules[ib].key()) continue;
        std::pair<std::size_t, std::size_t> d{line_of[std::min(ia, ib)], line_of[std::max(ia, ib)]};
        if (!dup || d.second < dup->second) dup = d;
      }
    i = j;
  }
  if (dup) {
    const auto& r = rules[std::find(line_of.begin(), line_of.end(), dup->second) - line_of.begin()];
    return make_error(std::string(source) + ":" + std::to_string(dup->second) + ": duplicate rule for " +
                          r.prefix.to_string() + " (same prefix and L4 match as line " + std::to_string(dup->first) +
                          ")",
                      "keep one of them");
  }
  return rules;
}

Result<std::vector<GuardRule>> read_rules_file(const std::string& path, std::uint64_t now_ns) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot read rules file " + path, errno, "check the path and permissions");
  Fd file(fd);
  struct stat st {};
  if (::fstat(fd, &st) < 0) return errno_error("cannot read rules file " + path, errno);
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    // A regular file is parsed where it lies in the page cache: no copy of
    // a 20 MB list, and its pages mapped in one go.
    const auto len = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p != MAP_FAILED) {
      auto rules = parse_rules(std::string_view(static_cast<const char*>(p), len), path, now_ns);
      ::munmap(p, len);
      return rules;
    }
  }
  // Not a regular file (a pipe, /dev/stdin), or not mappable: read what it gives.
  std::string text;
  for (char buf[65536];;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("cannot read rules file " + path, errno);
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return parse_rules(text, path, now_ns);
}

}  // namespace reflex::guard
