#include "api/router.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace reflex::api {

void Router::add(http::verb method, std::string path, Handler handler, RouteOptions opts) {
  routes_[std::move(path)][method] = Route{std::move(handler), opts};
}

std::string Router::allow(std::string_view path) const {
  auto it = routes_.find(path);
  if (it == routes_.end()) return {};
  std::vector<std::string_view> methods;
  for (const auto& [verb, route] : it->second) {
    methods.push_back(http::to_string(verb));
    if (verb == http::verb::get && !it->second.count(http::verb::head)) methods.push_back("HEAD");
  }
  std::sort(methods.begin(), methods.end());
  std::string out;
  for (auto m : methods) out += (out.empty() ? "" : ", ") + std::string(m);
  return out;
}

std::vector<std::string> Router::paths() const {
  std::vector<std::string> out;
  for (const auto& [path, methods] : routes_) out.push_back(path);
  return out;
}

Response Router::handle(const Request& req) const {
  const std::string_view path = target_path(req.target());
  auto by_path = routes_.find(path);
  if (by_path == routes_.end())
    return error_response(http::status::not_found, "no endpoint " + std::string(path),
                          "GET /v1/status lists the endpoints");

  const bool head = req.method() == http::verb::head;
  auto by_method = by_path->second.find(req.method());
  if (by_method == by_path->second.end() && head) by_method = by_path->second.find(http::verb::get);
  if (by_method == by_path->second.end()) {
    const std::string allowed = allow(path);
    auto res = error_response(http::status::method_not_allowed,
                              std::string(req.method_string()) + " is not allowed on " + std::string(path),
                              "use " + allowed);
    res.set(http::field::allow, allowed);
    return res;
  }

  const Route& route = by_method->second;
  if (route.opts.json_body && !req.body().empty() && !has_json_content_type(req))
    return error_response(http::status::unsupported_media_type,
                          std::string(path) + " takes a JSON body (Content-Type: application/json)",
                          "send -H 'Content-Type: application/json', or no body");

  Response res;
  try {
    res = route.handler(req);
  } catch (const std::exception& e) {
    spdlog::error("http {} {}: handler failed: {}", req.method_string(), path, e.what());
    return error_response(http::status::internal_server_error, "internal error in " + std::string(path),
                          "see the daemon's log; this is a bug worth reporting");
  }
  if (head) {
    // Keep the GET's Content-Length, send no body (RFC 9110 9.3.2).
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

}  // namespace reflex::api
