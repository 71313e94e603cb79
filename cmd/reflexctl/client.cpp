#include "cmd/reflexctl/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <charconv>

namespace reflex::ctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string ServerAddress::text() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ServerAddress> parse_server(std::string_view text) {
  const std::string hint = "use unix:///run/reflex/reflexd.sock or http://127.0.0.1:9470";
  ServerAddress a;
  if (text.rfind("unix://", 0) == 0 || (!text.empty() && text.front() == '/')) {
    a.kind = ServerAddress::Kind::unix_socket;
    a.path = std::string(text.rfind("unix://", 0) == 0 ? text.substr(7) : text);
    if (a.path.empty() || a.path.front() != '/')
      return make_error("server \"" + std::string(text) + "\": a socket path must be absolute", hint);
    return a;
  }
  std::string_view rest = text;
  if (rest.rfind("http://", 0) == 0) rest.remove_prefix(7);
  else if (rest.find("://") != std::string_view::npos)
    return make_error("server \"" + std::string(text) + "\": only http:// and unix:// are spoken", hint);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/")
      return make_error("server \"" + std::string(text) + "\" has a path; give the daemon's address only", hint);
    rest = rest.substr(0, slash);
  }
  a.kind = ServerAddress::Kind::tcp;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return make_error("server \"" + std::string(text) + "\": unclosed [", hint);
    a.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    a.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (a.host == "localhost") a.host = "127.0.0.1";
  boost::system::error_code ec;
  asio::ip::make_address(a.host, ec);
  if (a.host.empty() || ec)
    return make_error("server \"" + std::string(text) + "\": \"" + a.host + "\" is not an IP address", hint);
  unsigned port = 9470;
  if (!port_text.empty()) {
    auto [end, pec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (pec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return make_error("server \"" + std::string(text) + "\": port must be 1..65535", hint);
  }
  a.port = static_cast<unsigned short>(port);
  return a;
}

std::optional<boost::json::value> HttpReply::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) return std::nullopt;
  return v;
}

Error reply_error(const HttpReply& reply) {
  std::string what = "HTTP " + std::to_string(reply.status), hint;
  if (auto v = reply.json(); v && v->is_object()) {
    const auto& o = v->get_object();
    if (auto* e = o.if_contains("error"); e && e->is_string()) what += ": " + std::string(e->get_string());
    if (auto* h = o.if_contains("hint"); h && h->is_string()) hint = std::string(h->get_string());
  } else if (!reply.body.empty()) {
    what += ": " + reply.body.substr(0, 200);
  }
  return make_error(what, hint, static_cast<int>(reply.status));
}

Client::Client(ServerAddress server, std::string token, std::chrono::milliseconds timeout)
    : server_(std::move(server)), token_(std::move(token)), timeout_(timeout) {}

namespace {

// One exchange on a connected stream, bounded by the stream's deadline.
template <class Stream>
Result<HttpReply> exchange(asio::io_context& io, Stream& stream, const http::request<http::string_body>& req,
                           const std::string& where) {
  beast::error_code ec;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::flat_buffer buffer;
  http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
    if (wec) {
      ec = wec;
      return;
    }
    http::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) { ec = rec; });
  });
  io.run();
  if (ec == beast::error::timeout)
    return make_error("no answer from " + where + " in time",
                      "the daemon may be overloaded or stuck; check `systemctl status reflexd`, or raise --timeout");
  if (ec) return make_error("talking to " + where + ": " + ec.message(), "is reflexd running? (systemctl status reflexd)");
  HttpReply reply;
  const auto& res = parser.get();
  reply.status = res.result_int();
  reply.content_type = std::string(res[http::field::content_type]);
  reply.body = res.body();
  return reply;
}

}  // namespace

Result<HttpReply> Client::request(http::verb method, const std::string& target, const std::string& json_body) const {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, server_.kind == ServerAddress::Kind::tcp ? server_.host : "localhost");
  req.set(http::field::user_agent, "reflexctl");
  req.set(http::field::accept, "application/json");
  if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
  if (!json_body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = json_body;
  }
  req.keep_alive(false);
  req.prepare_payload();

  asio::io_context io;
  const std::string where = server_.text();
  if (server_.kind == ServerAddress::Kind::unix_socket) {
    beast::basic_stream<asio::local::stream_protocol> stream(io);
    beast::error_code ec;
    stream.socket().connect(asio::local::stream_protocol::endpoint(server_.path), ec);
    if (ec == boost::system::errc::no_such_file_or_directory || ec == boost::system::errc::connection_refused)
      return make_error("reflexd is not running: nothing answers on " + server_.path,
                        "start it (systemctl start reflexd), or point --server (REFLEX_SERVER) at where it listens",
                        ec.value());
    if (ec == boost::system::errc::permission_denied)
      return make_error("permission denied on " + server_.path,
                        "run as root, or as a member of the daemon's group (the socket is mode 0660)", ec.value());
    if (ec) return make_error("connect to " + server_.path + ": " + ec.message(), "", ec.value());
    stream.expires_after(timeout_);
    return exchange(io, stream, req, where);
  }
  beast::basic_stream<asio::ip::tcp> stream(io);
  stream.expires_after(timeout_);
  beast::error_code ec;
  stream.socket().connect(asio::ip::tcp::endpoint(asio::ip::make_address(server_.host), server_.port), ec);
  if (ec == boost::system::errc::connection_refused)
    return make_error("reflexd is not running: nothing listens on " + where,
                      "start it (systemctl start reflexd), or point --server (REFLEX_SERVER) at where it listens",
                      ec.value());
  if (ec) return make_error("connect to " + where + ": " + ec.message(), "", ec.value());
  return exchange(io, stream, req, where);
}

Result<boost::json::value> Client::call(http::verb method, const std::string& target, const std::string& json_body) const {
  auto reply = request(method, target, json_body);
  if (!reply) return reply.error();
  if (reply->status == 401) {
    Error e = reply_error(*reply);
    e.hint = token_.empty() ? "this call needs the API token: pass --token-file (default /etc/reflex/token)"
                            : "the daemon refused the token from " + token_source_ +
                                  "; pass --token-file with the daemon's token file";
    return e;
  }
  if (reply->status < 200 || reply->status >= 300) return reply_error(*reply);
  auto v = reply->json();
  if (!v) return make_error("the daemon's answer to " + target + " is not JSON", "is --server pointing at reflexd?");
  return std::move(*v);
}

}  // namespace reflex::ctl
