#include "api/endpoint.h"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace reflex::api {

namespace ip = boost::asio::ip;

Result<ip::tcp::endpoint> parse_endpoint(std::string_view text) {
  const std::string hint = "write ADDRESS:PORT, e.g. 127.0.0.1:9470 or [::1]:9470";
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return make_error("listen address \"" + std::string(text) + "\": unterminated IPv6 address or no port",
                        hint);
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return make_error("listen address \"" + std::string(text) + "\" has no port", hint);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return make_error("listen address \"" + std::string(text) + "\": an IPv6 address needs brackets", hint);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return make_error("listen address \"" + std::string(text) + "\": port must be 0..65535", hint);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code aec;
  auto addr = ip::make_address(std::string(host), aec);
  if (aec)
    return make_error(
        "listen address \"" + std::string(text) + "\": \"" + std::string(host) + "\" is not an IP address",
        hint + " (host names other than localhost are not resolved)");
  return ip::tcp::endpoint(addr, static_cast<unsigned short>(value));
}

std::string format_endpoint(const ip::tcp::endpoint& ep) {
  const auto addr = ep.address();
  const std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

}  // namespace reflex::api
