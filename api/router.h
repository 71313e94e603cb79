#pragma once
// Router: method + exact path -> a plain handler function.
//
// Handlers are `Response handler(const Request&)`: synchronous, on the loop's
// thread, reading state the daemon owns. The router owns everything that is the
// same for every endpoint, so a handler only writes its happy path and its own
// errors:
//   - 404 for an unknown path, 405 with `Allow` for a known path and another method;
//   - HEAD answered by the GET handler without the body;
//   - 415 when a route takes a JSON body and the request sends another type;
//   - 500 (logged) if a handler throws, instead of dropping the connection.
// Paths match exactly, without the query string: the API has no path parameters.

#include "api/http.h"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::api {

using Handler = std::function<Response(const Request&)>;

struct RouteOptions {
  // The route reads a JSON body: a non-empty body must say Content-Type:
  // application/json (415 otherwise). An empty body is always allowed.
  bool json_body = false;
};

class Router {
 public:
  // Adding the same method and path twice replaces the handler.
  void add(http::verb method, std::string path, Handler handler, RouteOptions opts = {});
  void get(std::string path, Handler handler) { add(http::verb::get, std::move(path), std::move(handler)); }
  void post(std::string path, Handler handler, RouteOptions opts = {}) {
    add(http::verb::post, std::move(path), std::move(handler), opts);
  }

  // Never throws; the response's version and keep-alive are the session's job.
  Response handle(const Request& req) const;

  // "GET, HEAD, POST" for a path; empty if the path is unknown.
  std::string allow(std::string_view path) const;
  std::vector<std::string> paths() const;

 private:
  struct Route {
    Handler handler;
    RouteOptions opts;
  };
  // path -> method -> route; std::map so Allow and listings are stable.
  std::map<std::string, std::map<http::verb, Route>, std::less<>> routes_;
};

}  // namespace reflex::api
