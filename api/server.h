#pragma once
// Server: an HTTP/1.1 listener on the caller's io_context, in the manner of
// Boost.Beast's advanced server, on TCP, on a Unix socket, or both.
//
// - The Unix socket (the default way in for reflexctl) gets the mode asked
//   for (0660: the daemon's user and group) before anyone can connect, its
//   folder is created if missing, a stale socket file left by a daemon that
//   died is replaced, and a live one (another daemon answers on it) is an
//   error. The file is removed when the server goes, if it is still ours.
//   Handlers see the caller's uid and pid there (SO_PEERCRED).
// - Each connection is a Session on its own strand; requests on one connection
//   are answered in order, pipelining included, with at most `pipeline_limit`
//   responses queued before the session stops reading (back-pressure instead
//   of unbounded memory).
// - Every read has a deadline: a new connection or a request that has begun
//   must arrive whole within `request_timeout` (a slowloris client that never
//   finishes its headers is cut off), an idle keep-alive connection is closed
//   after `idle_timeout`, and a client that stops reading its responses after
//   `write_timeout`.
// - Bodies above `body_limit` get 413, headers above `header_limit` 431, a
//   malformed request 400; each of these closes the connection afterwards.
// - stop() is graceful (a gate, as in seastar): stop accepting, let every
//   session finish the responses it owes (with Connection: close), close idle
//   connections at once, force-close what is left after `drain`, then call done.
//
// Handlers run on the session strands. reflexd runs its io_context on one
// thread, so handlers may read and change loop-owned state (the policy
// store); a second loop thread would need handlers to post to one strand.

#include "api/metrics.h"
#include "api/router.h"
#include "common/result.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace reflex::api {

struct ServerConfig {
  // At least one of the two.
  std::optional<boost::asio::ip::tcp::endpoint> listen =
      boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address_v4("127.0.0.1"), 9470};
  std::string unix_socket;         // "" = none
  std::uint32_t socket_mode = 0660;
  std::size_t body_limit = 64 * 1024;
  std::uint32_t header_limit = 8 * 1024;
  std::chrono::milliseconds request_timeout{10'000};  // a whole request, from its first byte (or the accept)
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive: waiting for the next request
  std::chrono::milliseconds write_timeout{10'000};    // a client that does not read its responses
  std::chrono::milliseconds linger_timeout{1'000};  // reading what a client still sends after our error reply
  std::size_t pipeline_limit = 16;                  // responses queued per connection before reading pauses
  std::size_t max_connections = 256;                // both listeners together; more are accepted and closed at once
};

struct ServerShared;  // state the sessions share with the server (server.cpp)

class Server {
 public:
  using Ptr = std::unique_ptr<Server>;

  // Binds and listens; fails with the address and the fix if the port is
  // taken, the address is not local, or the socket path is in use or cannot
  // be made. Serves nothing until start().
  // `router` (and `metrics`, if given) must outlive the io_context's work.
  static Result<Ptr> listen(boost::asio::io_context& io, const ServerConfig& config, const Router& router,
                            MetricsRegistry* metrics = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();
  // The bound address (the real port when the config asked for port 0);
  // default-constructed when there is no TCP listener.
  boost::asio::ip::tcp::endpoint local_endpoint() const { return local_; }
  const std::string& unix_socket() const { return socket_path_; }
  std::size_t connections() const;

  // Graceful stop; `done` runs on the io_context once every session has ended.
  // Calling it again only replaces `done`.
  void stop(std::chrono::milliseconds drain, std::function<void()> done);

 private:
  Server(boost::asio::io_context& io, std::shared_ptr<ServerShared> shared);
  Status listen_tcp(const boost::asio::ip::tcp::endpoint& ep);
  Status listen_unix(const std::string& path, std::uint32_t mode);
  template <class Acceptor>
  void accept(Acceptor& acceptor);
  template <class Acceptor, class Socket>
  void on_accept(Acceptor& acceptor, const boost::system::error_code& ec, Socket socket);
  void close_acceptors();
  void remove_socket_file();

  boost::asio::io_context& io_;
  std::shared_ptr<ServerShared> shared_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::local::stream_protocol::acceptor unix_acceptor_;
  std::string socket_path_;
  std::uint64_t socket_dev_ = 0, socket_ino_ = 0;  // the file we made, to remove only that one
  boost::asio::steady_timer drain_timer_;
  boost::asio::ip::tcp::endpoint local_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace reflex::api
