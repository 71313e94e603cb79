#include "api/session.h"

#include "api/server_shared.h"

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

namespace reflex::api {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr std::size_t kReadChunk = 4096;
// A lingering close reads at most this much before giving up on the client.
constexpr std::size_t kLingerBytes = 256 * 1024;

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_target).category();
}

}  // namespace

template <class Protocol>
Session<Protocol>::Session(Socket&& socket, std::shared_ptr<ServerShared> shared, Peer peer)
    : stream_(std::move(socket)), shared_(std::move(shared)), peer_(std::move(peer)) {}

template <class Protocol>
Session<Protocol>::~Session() {
  shared_->leave(this);
}

template <class Protocol>
void Session<Protocol>::start() {
  // The accept handler is not on this strand; everything after this is.
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session<Protocol>::read_request, this->shared_from_this()));
}

// post, not dispatch: called from a handler on this very strand (a request
// that stops the server), running inline would close the connection before
// that handler's response is queued.
template <class Protocol>
void Session<Protocol>::shutdown() {
  asio::post(stream_.get_executor(), beast::bind_front_handler(&Session<Protocol>::begin_shutdown, this->shared_from_this()));
}

template <class Protocol>
void Session<Protocol>::force_close() {
  asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
    self->closed_ = true;
    self->stream_.close();
  });
}

template <class Protocol>
void Session<Protocol>::read_request() {
  if (closing_ || closed_ || reading_) return;
  if (queue_.size() >= shared_->config.pipeline_limit) return;  // on_write resumes
  reading_ = true;
  parser_.emplace();
  // Beast checks a Content-Length against the limit as the header ends, so
  // the header is read under the largest limit any route has; on_header
  // applies this request's own.
  body_limit_ = shared_->config.body_limit;
  parser_->body_limit(std::max<std::size_t>(body_limit_, shared_->router->max_body_limit()));
  parser_->header_limit(shared_->config.header_limit);
  if (served_ > 0 && buffer_.size() == 0) {
    // Keep-alive: an idle client may take idle_timeout to start its next
    // request; from its first byte, the whole request has request_timeout.
    stream_.expires_after(shared_->config.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            beast::bind_front_handler(&Session<Protocol>::on_first_bytes, this->shared_from_this()));
    return;
  }
  read_message();
}

template <class Protocol>
void Session<Protocol>::on_first_bytes(beast::error_code ec, std::size_t n) {
  if (ec) return on_read_error(ec);
  buffer_.commit(n);
  read_message();
}

template <class Protocol>
void Session<Protocol>::read_message() {
  // One deadline for the whole request, not per read: a client that trickles
  // a byte at a time (slowloris) cannot keep the connection forever.
  stream_.expires_after(shared_->config.request_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session<Protocol>::on_header, this->shared_from_this()));
}

template <class Protocol>
void Session<Protocol>::on_header(beast::error_code ec, std::size_t n) {
  if (ec) {
    reading_ = false;
    return on_read_error(ec);
  }
  // The header says the route (and the token): a route that takes large
  // bodies (a batch of prefixes) gets its limit before the body is read.
  body_limit_ = shared_->router->body_limit(parser_->get(), shared_->config.body_limit);
  if (auto length = parser_->content_length(); length && *length > body_limit_) {
    reading_ = false;
    return on_read_error(http::error::body_limit);
  }
  parser_->body_limit(body_limit_);  // a chunked body counts against it as it comes
  if (parser_->is_done()) return on_read(ec, n);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&Session<Protocol>::on_read, this->shared_from_this()));
}

template <class Protocol>
void Session<Protocol>::on_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (ec) return on_read_error(ec);

  Request req = parser_->release();
  ++served_;
  Response res = shared_->router->handle(req, peer_);
  const bool keep = req.keep_alive() && !closing_ && !shared_->is_stopping();
  res.version(req.version());
  res.keep_alive(keep);
  spdlog::debug("http {} {} -> {}", req.method_string(), req.target(), res.result_int());
  respond(std::move(res), !keep);
  if (keep) read_request();  // pipelining: read the next request while this one is written
}

template <class Protocol>
void Session<Protocol>::on_read_error(beast::error_code ec) {
  reading_ = false;
  if (closed_) return;
  if (ec == beast::error::timeout) {
    // Nothing is owed for a request that never arrived whole; just go.
    spdlog::debug("http: closing a connection: request not complete within the timeout");
    shared_->metrics.drop("timeout");
    closed_ = true;
    stream_.close();
    return;
  }
  if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted || ec == asio::error::eof ||
      !is_http_error(ec)) {
    // The client closed (or the socket failed, or we are shutting down):
    // finish writing what is owed, then close.
    closing_ = true;
    if (queue_.empty() && !writing_) close();
    return;
  }
  if (ec == http::error::partial_message) {  // the client closed mid-request
    closing_ = true;
    if (queue_.empty() && !writing_) close();
    return;
  }

  // A request we will not serve: answer why, then close (the stream cannot be
  // trusted to be at a message boundary any more).
  Response res;
  if (ec == http::error::body_limit) {
    res = error_response(http::status::payload_too_large,
                         "request body larger than " + std::to_string(body_limit_) + " bytes",
                         "the API takes small JSON documents (a route that takes more, with the token, says so in "
                         "docs/api.md); send less, or split a prefix list over several overrides");
  } else if (ec == http::error::header_limit) {
    res = error_response(
        http::status::request_header_fields_too_large,
        "request header larger than " + std::to_string(shared_->config.header_limit) + " bytes",
        "send fewer or shorter header fields");
  } else {
    res = error_response(http::status::bad_request, "malformed HTTP request: " + ec.message(),
                         "send an HTTP/1.1 request, e.g. curl http://127.0.0.1:9470/v1/status");
  }
  spdlog::debug("http: rejecting a request: {}", ec.message());
  res.keep_alive(false);
  closing_ = true;
  respond(std::move(res), true);
}

template <class Protocol>
void Session<Protocol>::respond(Response res, bool close) {
  shared_->metrics.count(res.result_int());
  queue_.push_back(Pending{std::move(res), close});
  if (close) closing_ = true;
  write_next();
}

template <class Protocol>
void Session<Protocol>::write_next() {
  if (writing_ || queue_.empty() || closed_) return;
  writing_ = true;
  // While a read is pending its deadline covers this write too (tcp_stream has
  // one timer); otherwise a client that does not read gets write_timeout.
  if (!reading_) stream_.expires_after(shared_->config.write_timeout);
  http::async_write(stream_, queue_.front().response,
                    beast::bind_front_handler(&Session<Protocol>::on_write, this->shared_from_this()));
}

template <class Protocol>
void Session<Protocol>::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == beast::error::timeout) shared_->metrics.drop("timeout");
    spdlog::debug("http: write failed: {}", ec.message());
    closed_ = true;
    stream_.close();
    return;
  }
  const bool last = queue_.front().close;
  queue_.pop_front();
  if (last) {
    queue_.clear();  // pipelined after a Connection: close: not served
    return linger();
  }
  if (closing_ && queue_.empty()) return close();
  write_next();
  read_request();  // resumes reading if the pipeline cap had paused it
}

template <class Protocol>
void Session<Protocol>::begin_shutdown() {
  if (closed_) return;
  closing_ = true;
  // Responses not yet on the wire tell the client this connection ends.
  const std::size_t first_unsent = writing_ ? 1 : 0;
  for (std::size_t i = first_unsent; i < queue_.size(); ++i) queue_[i].response.keep_alive(false);
  if (queue_.size() > first_unsent) queue_.back().close = true;
  if (!writing_ && queue_.empty()) close();
  // Otherwise on_write closes after the last response (and that cancels any
  // pending read; cancelling it now would cancel the write too).
}

template <class Protocol>
void Session<Protocol>::linger() {
  // Half-close and drain what the client still sends (the rest of a rejected
  // body, pipelined requests) so the kernel does not answer it with a RST that
  // could destroy our response before the client reads it.
  if (closed_) return;
  beast::error_code ec;
  stream_.socket().shutdown(Socket::shutdown_send, ec);
  if (ec) return close();
  stream_.expires_after(shared_->config.linger_timeout);
  stream_.async_read_some(asio::buffer(drain_),
                          beast::bind_front_handler(&Session<Protocol>::on_linger, this->shared_from_this()));
}

template <class Protocol>
void Session<Protocol>::on_linger(beast::error_code ec, std::size_t n) {
  lingered_ += n;
  if (ec || closed_ || lingered_ > kLingerBytes) {
    closed_ = true;
    stream_.close();
    return;
  }
  stream_.async_read_some(asio::buffer(drain_),
                          beast::bind_front_handler(&Session<Protocol>::on_linger, this->shared_from_this()));
}

template <class Protocol>
void Session<Protocol>::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(Socket::shutdown_send, ec);
  stream_.close();
}

template class Session<asio::ip::tcp>;
template class Session<asio::local::stream_protocol>;

}  // namespace reflex::api
