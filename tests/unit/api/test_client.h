#pragma once
// A blocking HTTP/1.1 test client on a plain socket, where every wait has a
// deadline (poll), so a server that hangs fails the test instead of hanging
// it. Raw on purpose: hostile tests send bytes no well-behaved client would.
// Responses are parsed with Beast's parser, so what passes here parses for a
// real client too.

#include "api/http.h"
#include "common/result.h"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reflex::api::testing {

using namespace std::chrono_literals;

using Headers = std::vector<std::pair<std::string, std::string>>;

class TestClient {
 public:
  // Connects (blocking, to a local server); throws std::runtime_error on failure.
  explicit TestClient(const boost::asio::ip::tcp::endpoint& server);
  // Over a Unix socket.
  explicit TestClient(const std::string& unix_socket);
  ~TestClient();
  TestClient(TestClient&& other) noexcept;
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // False if the peer has gone (EPIPE, ECONNRESET).
  bool send(std::string_view bytes);

  // One response; an error if the deadline passes or the connection closes
  // first. `head`: the request was HEAD (no body follows the headers).
  Result<Response> read_response(std::chrono::milliseconds deadline = 5000ms, bool head = false);

  // send() + read_response(); throws std::runtime_error if either fails.
  Response request(http::verb method, std::string_view target, std::string body = {},
                   std::string_view content_type = {});

  // Sent with every request() from now on (e.g. Authorization).
  void set_header(std::string name, std::string value) { headers_.emplace_back(std::move(name), std::move(value)); }

  // Reads (and keeps in *received) until the peer closes. True if it closed
  // before the deadline.
  bool wait_closed(std::chrono::milliseconds deadline, std::string* received = nullptr);

  // True if, within `deadline`, the peer has closed (read returns 0 or an error).
  bool closed_within(std::chrono::milliseconds deadline) { return wait_closed(deadline); }

  int fd() const { return fd_; }

 private:
  // Appends what arrives within `deadline` to pending_; 0: closed, -1: timeout.
  int read_some(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string pending_;  // received, not yet parsed (pipelined responses)
  Headers headers_;
  bool eof_ = false;
};

// The bytes of a request, serialized by Beast.
std::string format_request(http::verb method, std::string_view target, std::string body = {},
                           std::string_view content_type = {}, bool keep_alive = true,
                           const Headers& headers = {});

json::value parse_json(const std::string& body);  // throws on invalid JSON

}  // namespace reflex::api::testing
