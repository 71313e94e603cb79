#pragma once
// Router: method + path -> a plain handler function.
//
// Handlers are synchronous, on the loop's thread, reading state the daemon
// owns. Two shapes: `Response handler(const Request&)` for routes that need
// only the request, and `Response handler(const Call&)` for routes that read a
// path parameter or who is calling. The router owns everything that is the
// same for every endpoint, so a handler only writes its happy path and its own
// errors:
//   - 404 for an unknown path, 405 with `Allow` for a known path and another method;
//   - HEAD answered by the GET handler without the body;
//   - 401 for a mutating call (POST, PUT, PATCH, DELETE) without the right
//     bearer token, once require_token() gave it one;
//   - 415 when a route takes a JSON body and the request sends another type;
//   - 500 (logged) if a handler throws, instead of dropping the connection.
// Paths match without the query string. A path segment written `{name}`
// matches any one non-empty segment (`/v1/overrides/{id}`); an exact path wins
// over a pattern.

#include "api/http.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reflex::api {

class TokenAuth;

// Who sent a request, as the connection knows it.
struct Peer {
  enum class Transport { none, tcp, unix_socket };
  Transport transport = Transport::none;
  std::string address;                // "127.0.0.1:53422", or the socket's path
  std::optional<std::uint32_t> uid;   // SO_PEERCRED, on the Unix socket
  std::optional<std::int32_t> pid;
};

// Values of a route's `{name}` segments (percent-decoded).
struct PathParams {
  std::vector<std::pair<std::string, std::string>> values;
  std::string_view get(std::string_view name) const;
};

struct Call {
  const Request& request;
  const Peer& peer;
  const PathParams& params;
  std::string_view param(std::string_view name) const { return params.get(name); }
};

using Handler = std::function<Response(const Request&)>;
using CallHandler = std::function<Response(const Call&)>;

struct RouteOptions {
  // The route reads a JSON body: a non-empty body must say Content-Type:
  // application/json (415 otherwise). An empty body is always allowed.
  bool json_body = false;
  // Bytes this route's body may take, above the server's body_limit (0: the
  // server's). Granted once the header is in, and only to a caller whose
  // token is right: the unauthenticated still meet the server's limit.
  std::size_t body_limit = 0;
};

class Router {
 public:
  // Adding the same method and path twice replaces the handler.
  void add(http::verb method, std::string path, Handler handler, RouteOptions opts = {});
  void route(http::verb method, std::string path, CallHandler handler, RouteOptions opts = {});
  void get(std::string path, Handler handler) { add(http::verb::get, std::move(path), std::move(handler)); }
  void post(std::string path, Handler handler, RouteOptions opts = {}) {
    add(http::verb::post, std::move(path), std::move(handler), opts);
  }

  // From now on every mutating call must carry this token (the daemon sets it
  // before serving). Without it, mutating calls are served unauthenticated.
  void require_token(std::shared_ptr<const TokenAuth> auth) { auth_ = std::move(auth); }

  // Never throws; the response's version and keep-alive are the session's job.
  Response handle(const Request& req, const Peer& peer = {}) const;

  // The body limit for a request whose header has arrived: its route's own
  // (when larger and the caller may mutate), else `fallback`.
  std::size_t body_limit(const Request& header, std::size_t fallback) const;
  // The largest body any route takes (0: none sets its own): what a
  // connection must let through until a request's header says its route.
  std::size_t max_body_limit() const { return max_body_limit_; }

  // "GET, HEAD, POST" for a path (or a route pattern); empty if none matches.
  std::string allow(std::string_view path) const;
  // The route paths, patterns as written ("/v1/overrides/{id}").
  std::vector<std::string> paths() const;
  // The methods of one route path as registered (HEAD only if added itself).
  std::vector<http::verb> methods(std::string_view path) const;

 private:
  struct Route {
    CallHandler handler;
    RouteOptions opts;
  };
  using Methods = std::map<http::verb, Route>;
  // The route for a request path: exact first, then patterns in order.
  const Methods* match(std::string_view path, PathParams* params) const;

  // path -> method -> route; std::map so Allow and listings are stable.
  std::map<std::string, Methods, std::less<>> routes_;
  std::vector<std::pair<std::vector<std::string>, const Methods*>> patterns_;  // split, for patterns only
  std::shared_ptr<const TokenAuth> auth_;
  std::size_t max_body_limit_ = 0;
};

// True for the methods that change state (and so need the token).
bool is_mutating(http::verb method);

// Percent-decodes a path segment or query value ('+' stays '+'); nullopt if
// malformed or not UTF-8 (values are echoed into JSON answers).
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace reflex::api
