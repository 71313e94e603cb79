#include "api/server.h"

#include "api/endpoint.h"
#include "api/server_shared.h"
#include "api/session.h"

#include "common/log.h"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

namespace reflex::api {

namespace asio = boost::asio;
using asio::ip::tcp;
namespace local = asio::local;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static const auto logger = stage_logger("api");
  return logger;
}

Peer peer_of(const tcp::socket& socket, const std::string&) {
  Peer p;
  p.transport = Peer::Transport::tcp;
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (!ec) p.address = format_endpoint(ep);
  return p;
}

Peer peer_of(local::stream_protocol::socket& socket, const std::string& path) {
  Peer p;
  p.transport = Peer::Transport::unix_socket;
  p.address = path;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    p.uid = cred.uid;
    p.pid = cred.pid;
  }
  return p;
}

}  // namespace

void ServerShared::join(const std::shared_ptr<SessionBase>& s) {
  std::lock_guard lock(mu);
  sessions.emplace(s.get(), s);
  if (metrics.open) metrics.open->set(static_cast<double>(sessions.size()));
}

void ServerShared::leave(const SessionBase* s) {
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

std::vector<std::shared_ptr<SessionBase>> ServerShared::live() {
  std::lock_guard lock(mu);
  std::vector<std::shared_ptr<SessionBase>> out;
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
  if (!config.listen && config.unix_socket.empty())
    return make_error("the API has nowhere to listen", "give a TCP address (api.listen) or a Unix socket (api.unix_socket)");
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
  if (config.listen)
    if (auto st = server->listen_tcp(*config.listen); !st) return st.error();
  if (!config.unix_socket.empty())
    if (auto st = server->listen_unix(config.unix_socket, config.socket_mode); !st) return st.error();
  return server;
}

Status Server::listen_tcp(const tcp::endpoint& ep) {
  const std::string where = format_endpoint(ep);
  const std::string port = std::to_string(ep.port());
  auto& acc = acceptor_;
  boost::system::error_code ec;
  acc.open(ep.protocol(), ec);
  if (ec) return errno_error("open a socket to listen on " + where, ec.value());
  acc.set_option(asio::socket_base::reuse_address(true),
                 ec);  // restart while old connections sit in TIME_WAIT
  acc.bind(ep, ec);
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
  local_ = acc.local_endpoint(ec);
  return ok();
}

Status Server::listen_unix(const std::string& path, std::uint32_t mode) {
  namespace fs = std::filesystem;
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    return make_error("Unix socket path " + path + " is longer than " +
                          std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes",
                      "choose a shorter path with --socket");
  std::error_code fec;
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::exists(dir, fec)) {
    fs::create_directories(dir, fec);
    if (fec)
      return errno_error("create the folder " + dir.string() + " for the Unix socket", fec.value(),
                         "create it yourself, or choose another path with --socket");
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return make_error(path + " exists and is not a socket; reflexd will not remove it",
                        "move it away, or choose another path with --socket");
    // A socket file: live if something accepts on it, stale if not.
    local::stream_protocol::socket probe(io_);
    boost::system::error_code cec;
    probe.connect(local::stream_protocol::endpoint(path), cec);
    if (!cec)
      return make_error("another process serves on the Unix socket " + path,
                        "stop it (is reflexd already running? `systemctl status reflexd`), or choose another "
                        "path with --socket");
    if (cec != boost::system::errc::connection_refused)
      return errno_error("check the existing Unix socket " + path, cec.value(),
                         "remove it if no daemon uses it, or choose another path with --socket");
    if (::unlink(path.c_str()) < 0 && errno != ENOENT)
      return errno_error("remove the stale Unix socket " + path, errno);
    log()->info("removed a stale Unix socket {} (no process answered on it)", path);
  }

  auto& acc = unix_acceptor_;
  boost::system::error_code ec;
  acc.open(local::stream_protocol(), ec);
  if (ec) return errno_error("open a Unix socket", ec.value());
  // The file bind() makes takes the socket's mode (less the umask): set it
  // first, so it is never more open than asked, then set it exactly.
  if (::fchmod(acc.native_handle(), static_cast<mode_t>(mode)) < 0)
    return errno_error("set the mode of the Unix socket", errno);
  acc.bind(local::stream_protocol::endpoint(path), ec);
  if (ec == asio::error::access_denied)
    return errno_error("bind the Unix socket " + path, ec.value(),
                       "the daemon's user cannot write in " + dir.string() + "; fix its permissions or use --socket");
  if (ec) return errno_error("bind the Unix socket " + path, ec.value());
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) < 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return errno_error("chmod the Unix socket " + path, err);
  }
  if (::stat(path.c_str(), &st) == 0) {
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
  }
  socket_path_ = path;
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    remove_socket_file();
    return errno_error("listen on the Unix socket " + path, ec.value());
  }
  return ok();
}

void Server::remove_socket_file() {
  if (socket_path_.empty() || socket_ino_ == 0) return;
  struct stat st {};
  // Another daemon may have replaced it since: remove only the file we made.
  if (::lstat(socket_path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ && st.st_ino == socket_ino_)
    ::unlink(socket_path_.c_str());
  socket_ino_ = 0;
}

Server::Server(asio::io_context& io, std::shared_ptr<ServerShared> shared)
    : io_(io), shared_(std::move(shared)), acceptor_(io), unix_acceptor_(io), drain_timer_(io) {}

Server::~Server() {
  *alive_ = false;
  close_acceptors();
  {
    // A completion for a stop that never finished must not run after us.
    std::lock_guard lock(shared_->mu);
    shared_->drained = nullptr;
  }
  // Sessions that are still open hold shared_ and end on their own when the
  // io_context runs or is destroyed; the router must outlive them (server.h).
  for (auto& s : shared_->live()) s->force_close();
}

void Server::close_acceptors() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  unix_acceptor_.close(ec);
  remove_socket_file();
}

std::size_t Server::connections() const { return shared_->size(); }

void Server::start() {
  if (acceptor_.is_open()) {
    log()->info("listening on http://{}", format_endpoint(local_));
    accept(acceptor_);
  }
  if (unix_acceptor_.is_open()) {
    log()->info("listening on unix://{}", socket_path_);
    accept(unix_acceptor_);
  }
}

template <class Acceptor>
void Server::accept(Acceptor& acceptor) {
  if (!acceptor.is_open()) return;
  using Socket = typename Acceptor::protocol_type::socket;
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor.async_accept(asio::make_strand(io_),
                        [this, &acceptor, alive = alive_](const boost::system::error_code& ec, Socket socket) {
                          if (!*alive) return;
                          on_accept(acceptor, ec, std::move(socket));
                        });
}

template <class Acceptor, class Socket>
void Server::on_accept(Acceptor& acceptor, const boost::system::error_code& ec, Socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // EMFILE/ENFILE/ENOBUFS: accepting again at once would spin; wait a little.
    log()->warn("accept failed: {}; retrying in 100 ms", ec.message());
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
    timer->async_wait([this, &acceptor, timer, alive = alive_](const boost::system::error_code& tec) {
      if (!tec && *alive) accept(acceptor);
    });
    return;
  }
  if (shared_->size() >= shared_->config.max_connections) {
    log()->debug("{} connections open, closing a new one", shared_->config.max_connections);
    shared_->metrics.drop("over_limit");
    boost::system::error_code cec;
    socket.close(cec);
  } else {
    using Protocol = typename Acceptor::protocol_type;
    Peer peer = peer_of(socket, socket_path_);
    auto session = std::make_shared<Session<Protocol>>(std::move(socket), shared_, std::move(peer));
    shared_->join(session);
    session->start();
  }
  accept(acceptor);
}

void Server::stop(std::chrono::milliseconds drain, std::function<void()> done) {
  close_acceptors();
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
  log()->info("stopping: {} connection(s) to finish", shared_->size());
  for (auto& s : shared_->live()) s->shutdown();
  drain_timer_.expires_after(drain);
  drain_timer_.async_wait([this, alive = alive_](const boost::system::error_code& tec) {
    if (tec || !*alive) return;
    auto left = shared_->live();
    if (!left.empty()) log()->warn("{} connection(s) did not finish in time; closing them", left.size());
    for (auto& s : left) s->force_close();
  });
}

}  // namespace reflex::api
