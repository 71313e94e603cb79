#pragma once
// Listen addresses as operators write them: "127.0.0.1:9470", "[::1]:9470",
// "0.0.0.0:9470", "localhost:9470". Port 0 asks the kernel for a free port
// (tests; the daemon prints the one it got).

#include "common/result.h"

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <string_view>

namespace reflex::api {

inline constexpr std::string_view kDefaultListen = "127.0.0.1:9470";

Result<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

// "127.0.0.1:9470" or "[::1]:9470": the form parse_endpoint() reads back.
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& ep);

}  // namespace reflex::api
