#include "api/server.h"

#include "api/endpoint.h"
#include "api/server_shared.h"
#include "api/session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <spdlog/spdlog.h>

namespace reflex::api {

namespace asio = boost::asio;
using asio::ip::tcp;

void ServerShared::join(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu);
  sessions.emplace(s.get(), s);
  if (metrics.open) metrics.open->set(static_cast<double>(sessions.size()));
}

void ServerShared::leave(const Session* s) {
  std::function<void()> done;
  {
    std::lock_guard lock(mu);
    sessions.erase(s);
    if (metrics.open) metrics.open->set(static_cast<double>(sessions.size()));
    if (stopping && sessions.empty()) {
      done = std::move(drained);
      drained = nullptr;
    }
  }
  if (done) asio::post(executor, std::move(done));
}

std::vector<std::shared_ptr<Session>> ServerShared::live() {
  std::lock_guard lock(mu);
  std::vector<std::shared_ptr<Session>> out;
  for (auto& [ptr, weak] : sessions)
    if (auto s = weak.lock()) out.push_back(std::move(s));
  return out;
}

bool ServerShared::is_stopping() {
  std::lock_guard lock(mu);
  return stopping;
}

std::size_t ServerShared::size() {
  std::lock_guard lock(mu);
  return sessions.size();
}

Result<Server::Ptr> Server::listen(asio::io_context& io, const ServerConfig& config, const Router& router,
                                   MetricsRegistry* metrics) {
  auto shared = std::make_shared<ServerShared>();
  shared->config = config;
  shared->router = &router;
  shared->executor = io.get_executor();
  if (metrics) {
    shared->metrics.requests =
        &metrics->counter("reflex_http_requests_total", "HTTP requests answered, by status code", {"code"});
    shared->metrics.dropped = &metrics->counter("reflex_http_connections_dropped_total",
                                                "HTTP connections closed without a response: timeout (slow "
                                                "or idle client), over_limit (too many connections)",
                                                {"reason"});
    shared->metrics.open = &metrics->gauge("reflex_http_connections", "HTTP connections open now").get();
  }
  Ptr server(new Server(io, std::move(shared)));

  const std::string where = format_endpoint(config.listen);
  const std::string port = std::to_string(config.listen.port());
  auto& acc = server->acceptor_;
  boost::system::error_code ec;
  acc.open(config.listen.protocol(), ec);
  if (ec) return errno_error("open a socket to listen on " + where, ec.value());
  acc.set_option(asio::socket_base::reuse_address(true),
                 ec);  // restart while old connections sit in TIME_WAIT
  acc.bind(config.listen, ec);
  if (ec == asio::error::address_in_use)
    return errno_error("listen on " + where, ec.value(),
                       "another process holds the port (ss -ltnp 'sport = :" + port +
                           "' names it): stop it, or choose another address with --listen");
  if (ec == boost::system::errc::address_not_available)
    return errno_error("listen on " + where, ec.value(),
                       "the address is not on this host; use 127.0.0.1 or an address of a local interface");
  if (ec == asio::error::access_denied)
    return errno_error("listen on " + where, ec.value(), "ports below 1024 need CAP_NET_BIND_SERVICE");
  if (ec) return errno_error("listen on " + where, ec.value());
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return errno_error("listen on " + where, ec.value());
  server->local_ = acc.local_endpoint(ec);
  return server;
}

Server::Server(asio::io_context& io, std::shared_ptr<ServerShared> shared)
    : io_(io), shared_(std::move(shared)), acceptor_(io), retry_timer_(io), drain_timer_(io) {}

Server::~Server() {
  *alive_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  {
    // A completion for a stop that never finished must not run after us.
    std::lock_guard lock(shared_->mu);
    shared_->drained = nullptr;
  }
  // Sessions that are still open hold shared_ and end on their own when the
  // io_context runs or is destroyed; the router must outlive them (server.h).
  for (auto& s : shared_->live()) s->force_close();
}

std::size_t Server::connections() const { return shared_->size(); }

void Server::start() {
  spdlog::info("http: listening on {}", format_endpoint(local_));
  accept();
}

void Server::accept() {
  if (!acceptor_.is_open()) return;
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(asio::make_strand(io_),
                         [this, alive = alive_](const boost::system::error_code& ec, tcp::socket socket) {
                           if (!*alive) return;
                           on_accept(ec, std::move(socket));
                         });
}

void Server::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // EMFILE/ENFILE/ENOBUFS: accepting again at once would spin; wait a little.
    spdlog::warn("http: accept failed: {}; retrying in 100 ms", ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([this, alive = alive_](const boost::system::error_code& tec) {
      if (!tec && *alive) accept();
    });
    return;
  }
  if (shared_->size() >= shared_->config.max_connections) {
    spdlog::debug("http: {} connections open, closing a new one", shared_->config.max_connections);
    shared_->metrics.drop("over_limit");
    boost::system::error_code cec;
    socket.close(cec);
  } else {
    auto session = std::make_shared<Session>(std::move(socket), shared_);
    shared_->join(session);
    session->start();
  }
  accept();
}

void Server::stop(std::chrono::milliseconds drain, std::function<void()> done) {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  bool empty;
  {
    std::lock_guard lock(shared_->mu);
    const bool first = !shared_->stopping;
    shared_->stopping = true;
    empty = shared_->sessions.empty();
    if (!empty)
      shared_->drained = [this, alive = alive_, done = std::move(done)] {
        if (*alive) drain_timer_.cancel();  // nothing left to force: let the loop end
        if (done) done();
      };
    if (!first && !empty) return;  // the drain timer is already running
  }
  if (empty) {
    if (done) asio::post(io_, std::move(done));
    return;
  }
  spdlog::info("http: stopping: {} connection(s) to finish", shared_->size());
  for (auto& s : shared_->live()) s->shutdown();
  drain_timer_.expires_after(drain);
  drain_timer_.async_wait([this, alive = alive_](const boost::system::error_code& tec) {
    if (tec || !*alive) return;
    auto left = shared_->live();
    if (!left.empty())
      spdlog::warn("http: {} connection(s) did not finish in time; closing them", left.size());
    for (auto& s : left) s->force_close();
  });
}

}  // namespace reflex::api
