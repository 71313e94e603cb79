#pragma once
// Session: one HTTP/1.1 connection on its own strand (internal to Server),
// over TCP or a Unix socket.
//
// Reads request after request; each goes through the router at once and its
// response joins a queue written in order. Reading pauses while the queue is
// full (pipelining cap) and resumes as responses go out. See server.h for the
// timeouts and limits.

#include "api/http.h"
#include "api/router.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

namespace reflex::api {

struct ServerShared;

// What the server's gate needs of a session, whatever its transport.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Both post to the session's strand, so any thread may call them.
  virtual void shutdown() = 0;     // finish what is owed, then close
  virtual void force_close() = 0;  // close now
};

template <class Protocol>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Protocol>> {
 public:
  using Socket = typename Protocol::socket;
  Session(Socket&& socket, std::shared_ptr<ServerShared> shared, Peer peer);
  ~Session() override;

  void start();
  void shutdown() override;
  void force_close() override;

 private:
  struct Pending {
    Response response;
    bool close = false;  // the connection ends after this one
  };

  void read_request();
  void on_first_bytes(boost::beast::error_code ec, std::size_t n);
  void read_message();
  void on_header(boost::beast::error_code ec, std::size_t n);
  void on_read(boost::beast::error_code ec, std::size_t n);
  void on_read_error(boost::beast::error_code ec);
  void respond(Response res, bool close);
  void write_next();
  void on_write(boost::beast::error_code ec, std::size_t n);
  void begin_shutdown();
  void linger();
  void on_linger(boost::beast::error_code ec, std::size_t n);
  void close();

  boost::beast::basic_stream<Protocol> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<Pending> queue_;
  std::shared_ptr<ServerShared> shared_;
  Peer peer_;
  std::array<char, 4096> drain_{};  // lingering close reads into this
  std::uint64_t served_ = 0;
  std::size_t lingered_ = 0;
  std::size_t body_limit_ = 0;  // of the request being read (its route may allow more)
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;  // no more requests: finish the queue, then close
  bool closed_ = false;
};

extern template class Session<boost::asio::ip::tcp>;
extern template class Session<boost::asio::local::stream_protocol>;

}  // namespace reflex::api
