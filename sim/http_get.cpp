#include "sim/http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace reflex::sim {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<HttpReply> http_get(const std::string& host, unsigned short port, const std::string& target,
                           std::chrono::milliseconds timeout, const std::string& token) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return make_error("bad address " + host);
  stream.expires_after(timeout);
  HttpReply out;
  std::string where = "GET http://" + host + ":" + std::to_string(port) + target;
  stream.async_connect(tcp::endpoint(addr, port), [&](beast::error_code e) { ec = e; });
  io.run();
  if (ec) return make_error(where + ": " + ec.message());
  io.restart();
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
    ec = e;
    if (!e) http::async_read(stream, buf, res, [&](beast::error_code e2, std::size_t) { ec = e2; });
  });
  io.run();
  if (ec) return make_error(where + ": " + ec.message());
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace reflex::sim
