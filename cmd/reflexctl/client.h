#pragma once
// reflexctl's HTTP/1.1 client (Boost.Beast): one request per connection, over
// the daemon's Unix socket or TCP, with one deadline for the whole exchange.
// Connection errors are turned into what the operator should do: "reflexd is
// not running" (nothing at the socket, or nothing listening), "permission
// denied" (not in the daemon's group), a timeout.

#include "common/result.h"

#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace reflex::ctl {

inline constexpr std::string_view kDefaultServer = "unix:///run/reflex/reflexd.sock";

// Where the daemon is: "unix:///run/reflex/reflexd.sock", a bare socket path
// ("/run/reflex/reflexd.sock"), "http://127.0.0.1:9470", "127.0.0.1:9470",
// "http://[::1]:9470", "http://localhost:9470".
struct ServerAddress {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix
  std::string host;  // tcp: an IP address
  unsigned short port = 0;
  std::string text() const;  // as the operator would write it
};
Result<ServerAddress> parse_server(std::string_view text);

struct HttpReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  std::optional<boost::json::value> json() const;  // the body, if it is JSON
};

class Client {
 public:
  Client(ServerAddress server, std::string token, std::chrono::milliseconds timeout);
  // A reply of any status; an error only when there is no HTTP answer.
  Result<HttpReply> request(boost::beast::http::verb method, const std::string& target,
                            const std::string& json_body = {}) const;
  // request(), then: 2xx -> the JSON body; otherwise an error carrying the
  // daemon's {"error", "hint"} (for 401: which token file was refused).
  Result<boost::json::value> call(boost::beast::http::verb method, const std::string& target,
                                  const std::string& json_body = {}) const;
  const ServerAddress& server() const { return server_; }
  void set_token_source(std::string s) { token_source_ = std::move(s); }

 private:
  ServerAddress server_;
  std::string token_;
  std::string token_source_;
  std::chrono::milliseconds timeout_;
};

// The {"error","hint"} of a reply as an Error (with the status in front).
Error reply_error(const HttpReply& reply);

}  // namespace reflex::ctl
