#pragma once
// The query string of a GET, read strictly: a parameter the endpoint does
// not take, a value that does not parse, a limit out of range are each a 400
// that names the parameter and what it takes, rather than an answer to a
// question the caller did not ask.

#include "common/prefix.h"
#include "common/result.h"
#include "knowledge/time.h"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reflex::api {

class Query {
 public:
  // Splits "a=1&b=x%20y" from the request target; percent-decodes names and
  // values ('+' is a space, as forms send it). A parameter given twice is an error.
  static Result<Query> parse(std::string_view target);

  // An error naming the first parameter not in `allowed`, and listing those.
  Status only(std::initializer_list<std::string_view> allowed) const;

  std::optional<std::string> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  // Typed getters: nullopt when absent, an error when present and malformed.
  Result<std::optional<std::uint64_t>> integer(std::string_view name, std::uint64_t max) const;
  Result<std::optional<bool>> boolean(std::string_view name) const;
  Result<std::optional<Prefix>> prefix(std::string_view name) const;
  // An instant as ns since the epoch: RFC 3339, Unix seconds ("1714564800.5"),
  // or a duration before `now_wall_ns` ("15m", "2h": that long ago).
  Result<std::optional<TimeNs>> instant(std::string_view name, TimeNs now_wall_ns) const;
  // `limit`, 1..max (default when absent).
  Result<std::size_t> limit(std::size_t dflt, std::size_t max) const;

  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// IP protocol by name or number: "tcp" -> 6, "udp" -> 17, "icmp" -> 1,
// "icmpv6" -> 58, "47" -> 47.
std::optional<std::uint8_t> parse_ip_proto(std::string_view text);
// The other way: 6 -> "tcp", 47 -> "47".
std::string ip_proto_name(std::uint8_t proto);

}  // namespace reflex::api
