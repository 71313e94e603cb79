#include "api/query.h"

#include "api/router.h"
#include "api/time_format.h"
#include "plan/units.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace reflex::api {
namespace {

Error bad(std::string_view name, std::string_view what, std::string_view hint) {
  return make_error("query parameter " + std::string(name) + ": " + std::string(what), std::string(hint));
}

std::optional<std::string> decode_form(std::string_view s) {
  std::string plus;
  plus.reserve(s.size());
  for (char c : s) plus += c == '+' ? ' ' : c;
  return percent_decode(plus);
}

}  // namespace

Result<Query> Query::parse(std::string_view target) {
  Query q;
  auto mark = target.find('?');
  if (mark == std::string_view::npos) return q;
  std::string_view rest = target.substr(mark + 1);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    auto name = decode_form(item.substr(0, eq));
    auto value = decode_form(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1));
    if (!name || !value)
      return make_error("malformed percent-encoding in the query string", "encode % as %25");
    if (name->empty()) return make_error("a query parameter without a name", "write NAME=VALUE");
    if (q.get(*name))
      return make_error("query parameter " + *name + " given twice", "give each parameter once");
    q.items_.emplace_back(std::move(*name), std::move(*value));
  }
  return q;
}

Status Query::only(std::initializer_list<std::string_view> allowed) const {
  for (const auto& [name, value] : items_) {
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return make_error("unknown query parameter \"" + name + "\"",
                      list.empty() ? "this endpoint takes no parameters" : "this endpoint takes " + list);
  }
  return ok();
}

std::optional<std::string> Query::get(std::string_view name) const {
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return std::nullopt;
}

Result<std::optional<std::uint64_t>> Query::integer(std::string_view name, std::uint64_t max) const {
  auto v = get(name);
  if (!v) return std::optional<std::uint64_t>{};
  std::uint64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || out > max)
    return bad(name, "\"" + *v + "\" is not an integer in 0.." + std::to_string(max), "e.g. " + std::string(name) + "=10");
  return std::optional<std::uint64_t>{out};
}

Result<std::optional<bool>> Query::boolean(std::string_view name) const {
  auto v = get(name);
  if (!v) return std::optional<bool>{};
  if (*v == "" || *v == "1" || *v == "true" || *v == "yes") return std::optional<bool>{true};
  if (*v == "0" || *v == "false" || *v == "no") return std::optional<bool>{false};
  return bad(name, "\"" + *v + "\" is not a boolean", "use true or false");
}

Result<std::optional<Prefix>> Query::prefix(std::string_view name) const {
  auto v = get(name);
  if (!v) return std::optional<Prefix>{};
  auto p = Prefix::parse(*v);
  if (!p) return bad(name, "\"" + *v + "\" is not an IP prefix", "e.g. 203.0.113.0/24 or 2001:db8::/32");
  return std::optional<Prefix>{*p};
}

namespace {
// "1714564800" or "1714564800.25" (up to 9 decimals); nothing else.
std::optional<TimeNs> unix_seconds(std::string_view text) {
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 11 || frac.size() > 9 || (dot != std::string_view::npos && frac.empty()))
    return std::nullopt;
  auto digits = [](std::string_view s, TimeNs& out) {
    if (s.empty() || s.front() < '0' || s.front() > '9') return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
  };
  TimeNs secs = 0, part = 0;
  if (!digits(whole, secs)) return std::nullopt;
  if (!frac.empty()) {
    if (!digits(frac, part)) return std::nullopt;
    for (std::size_t i = frac.size(); i < 9; ++i) part *= 10;
  }
  return secs * kNsPerSec + part;
}
}  // namespace

Result<std::optional<TimeNs>> Query::instant(std::string_view name, TimeNs now_wall_ns) const {
  auto v = get(name);
  if (!v) return std::optional<TimeNs>{};
  if (auto t = parse_rfc3339(*v)) return std::optional<TimeNs>{*t};
  // Unix seconds, maybe with a fraction: read as two integers, since a double
  // has no room for nanoseconds at today's times.
  if (auto t = unix_seconds(*v)) return std::optional<TimeNs>{*t};
  if (auto d = plan::parse_duration(*v); d && *d >= 0) return std::optional<TimeNs>{now_wall_ns - *d};
  return bad(name, "\"" + *v + "\" is not a time",
             "use RFC 3339 (2024-05-01T12:00:00Z), Unix seconds, or a duration ago (15m, 2h)");
}

Result<std::size_t> Query::limit(std::size_t dflt, std::size_t max) const {
  auto v = integer("limit", max);
  if (!v) return v.error();
  if (!*v) return dflt;
  if (**v == 0) return bad("limit", "must be at least 1", "e.g. limit=50");
  return static_cast<std::size_t>(**v);
}

std::optional<std::uint8_t> parse_ip_proto(std::string_view text) {
  if (text == "tcp") return 6;
  if (text == "udp") return 17;
  if (text == "icmp") return 1;
  if (text == "icmpv6" || text == "ipv6-icmp") return 58;
  if (text == "sctp") return 132;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > 255) return std::nullopt;
  return static_cast<std::uint8_t>(v);
}

std::string ip_proto_name(std::uint8_t proto) {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    default: return std::to_string(proto);
  }
}

}  // namespace reflex::api
