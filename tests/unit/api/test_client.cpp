#include "tests/unit/api/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace reflex::api::testing {

TestClient::TestClient(const boost::asio::ip::tcp::endpoint& server) {
  fd_ = ::socket(server.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_, server.data(), static_cast<socklen_t>(server.size())) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect: ") + std::strerror(err));
  }
}

TestClient::TestClient(const std::string& unix_socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (unix_socket.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + unix_socket);
  std::memcpy(addr.sun_path, unix_socket.data(), unix_socket.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect to " + unix_socket + ": " + std::strerror(err));
  }
}

TestClient::~TestClient() {
  if (fd_ >= 0) ::close(fd_);
}

TestClient::TestClient(TestClient&& other) noexcept
    : fd_(other.fd_), pending_(std::move(other.pending_)), headers_(std::move(other.headers_)), eof_(other.eof_) {
  other.fd_ = -1;
}

bool TestClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int TestClient::read_some(std::chrono::steady_clock::time_point deadline) {
  if (eof_) return 0;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return -1;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return -1;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // orderly close, or a reset: both mean the server is gone
      eof_ = true;
      return 0;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    return static_cast<int>(n);
  }
}

Result<Response> TestClient::read_response(std::chrono::milliseconds timeout, bool head) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.eager(true);
  if (head) parser.skip(true);
  for (;;) {
    if (!pending_.empty()) {
      boost::system::error_code ec;
      std::size_t used = parser.put(boost::asio::buffer(pending_), ec);
      pending_.erase(0, used);
      if (ec && ec != http::error::need_more) return make_error("response does not parse: " + ec.message());
      if (parser.is_done()) return parser.release();
      if (used > 0) continue;  // the parser may take more from what is left
    }
    int n = read_some(deadline);
    if (n == 0) {
      // A body delimited by the close (no Content-Length) ends here.
      boost::system::error_code ec;
      parser.put_eof(ec);
      if (!ec && parser.is_done()) return parser.release();
      return make_error("connection closed before a whole response (" + std::to_string(pending_.size()) +
                        " byte(s) unparsed)");
    }
    if (n < 0) return make_error("no whole response within " + std::to_string(timeout.count()) + " ms");
  }
}

Response TestClient::request(http::verb method, std::string_view target, std::string body,
                             std::string_view content_type) {
  if (!send(format_request(method, target, std::move(body), content_type, true, headers_)))
    throw std::runtime_error("send failed: " + std::string(std::strerror(errno)));
  auto res = read_response(5000ms, method == http::verb::head);
  if (!res) throw std::runtime_error(res.error().what);
  return std::move(*res);
}

bool TestClient::wait_closed(std::chrono::milliseconds timeout, std::string* received) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int n = read_some(deadline);
    if (n > 0) continue;
    if (received) *received += pending_;
    pending_.clear();
    return n == 0;
  }
}

std::string format_request(http::verb method, std::string_view target, std::string body,
                           std::string_view content_type, bool keep_alive, const Headers& headers) {
  Request req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  req.keep_alive(keep_alive);
  req.prepare_payload();
  std::ostringstream out;
  out << req;
  return out.str();
}

json::value parse_json(const std::string& body) { return json::parse(body); }

}  // namespace reflex::api::testing
