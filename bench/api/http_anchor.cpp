// The anchors for reflexd's API figures, run on loopback beside reflexd in
// the same benchmark run: what one thread of this host can serve at all.
//
//   http_anchor beast  [--port P]   a minimal Boost.Beast server: one
//       io_context thread, keep-alive, every GET answered "ok\n" (the bytes
//       /healthz sends), no router, no timeouts: the ceiling for any server
//       built on Beast here.
//   http_anchor reflex [--port P]   reflex's own api::Server and Router with
//       only a static /healthz: the HTTP layer reflexd runs, without the loop.
//
// Both print "listening on 127.0.0.1:PORT" once bound and run until SIGTERM/SIGINT.

#include "api/http.h"
#include "api/router.h"
#include "api/server.h"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdio>
#include <memory>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class BeastSession : public std::enable_shared_from_this<BeastSession> {
 public:
  explicit BeastSession(tcp::socket s) : socket_(std::move(s)) {}
  void read() {
    req_ = {};
    http::async_read(socket_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->respond();
    });
  }

 private:
  void respond() {
    res_ = {};
    res_.version(req_.version());
    res_.result(http::status::ok);
    res_.set(http::field::content_type, "text/plain; charset=utf-8");
    res_.keep_alive(req_.keep_alive());
    res_.body() = "ok\n";
    res_.prepare_payload();
    http::async_write(socket_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->res_.keep_alive()) return;
      self->read();
    });
  }

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

void accept(tcp::acceptor& a) {
  a.async_accept([&a](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<BeastSession>(std::move(s))->read();
    }
    accept(a);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"http_anchor: a static HTTP server on loopback, the anchor for reflexd's API figures"};
  std::string kind;
  unsigned short port = 0;
  app.add_option("KIND", kind, "beast (minimal Beast server) or reflex (reflex's api::Server, static /healthz)")
      ->required()
      ->check(CLI::IsMember({"beast", "reflex"}));
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0: any free one)");
  CLI11_PARSE(app, argc, argv);

  asio::io_context io;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&io](beast::error_code, int) { io.stop(); });
  const tcp::endpoint ep{asio::ip::make_address_v4("127.0.0.1"), port};

  reflex::api::Router router;
  reflex::api::Server::Ptr server;
  std::unique_ptr<tcp::acceptor> acceptor;
  if (kind == "reflex") {
    router.get("/healthz", [](const reflex::api::Request&) {
      return reflex::api::text_response(http::status::ok, "ok\n");
    });
    reflex::api::ServerConfig cfg;
    cfg.listen = ep;
    auto s = reflex::api::Server::listen(io, cfg, router);
    if (!s) {
      std::fprintf(stderr, "http_anchor: %s\n", s.error().message().c_str());
      return 1;
    }
    server = std::move(*s);
    server->start();
    port = server->local_endpoint().port();
  } else {
    acceptor = std::make_unique<tcp::acceptor>(io, ep);
    acceptor->listen(asio::socket_base::max_listen_connections);
    port = acceptor->local_endpoint().port();
    accept(*acceptor);
  }
  std::printf("listening on 127.0.0.1:%u\n", port);
  std::fflush(stdout);
  io.run();
  return 0;
}
