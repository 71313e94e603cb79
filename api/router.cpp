#include "api/router.h"

#include "api/auth.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace reflex::api {
namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// "/v1/overrides/x" -> {"v1", "overrides", "x"}; empty segments are kept, so
// "/a//b" does not match "/a/{x}/b" by accident.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  std::size_t start = 1;
  for (;;) {
    auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view PathParams::get(std::string_view name) const {
  for (const auto& [k, v] : values)
    if (k == name) return v;
  return {};
}

bool is_mutating(http::verb method) {
  return method == http::verb::post || method == http::verb::put || method == http::verb::patch ||
         method == http::verb::delete_;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (!valid_utf8(out)) return std::nullopt;  // it would be echoed into JSON answers
  return out;
}

void Router::add(http::verb method, std::string path, Handler handler, RouteOptions opts) {
  route(
      method, std::move(path), [h = std::move(handler)](const Call& call) { return h(call.request); }, opts);
}

void Router::route(http::verb method, std::string path, CallHandler handler, RouteOptions opts) {
  auto [it, inserted] = routes_.try_emplace(std::move(path));
  it->second[method] = Route{std::move(handler), opts};
  max_body_limit_ = std::max(max_body_limit_, opts.body_limit);
  if (!inserted) return;
  auto segments = split_path(it->first);
  if (std::none_of(segments.begin(), segments.end(), is_param)) return;
  std::vector<std::string> owned(segments.begin(), segments.end());
  patterns_.emplace_back(std::move(owned), &it->second);
}

const Router::Methods* Router::match(std::string_view path, PathParams* params) const {
  if (auto it = routes_.find(path); it != routes_.end()) return &it->second;
  if (patterns_.empty()) return nullptr;
  const auto segments = split_path(path);
  for (const auto& [pattern, methods] : patterns_) {
    if (pattern.size() != segments.size()) continue;
    PathParams found;
    bool ok = true;
    for (std::size_t i = 0; i < pattern.size() && ok; ++i) {
      if (is_param(pattern[i])) {
        auto value = percent_decode(segments[i]);
        ok = !segments[i].empty() && value && !value->empty();
        if (ok) found.values.emplace_back(pattern[i].substr(1, pattern[i].size() - 2), std::move(*value));
      } else {
        ok = pattern[i] == segments[i];
      }
    }
    if (!ok) continue;
    if (params) *params = std::move(found);
    return methods;
  }
  return nullptr;
}

std::vector<http::verb> Router::methods(std::string_view path) const {
  std::vector<http::verb> out;
  if (auto it = routes_.find(path); it != routes_.end())
    for (const auto& [verb, route] : it->second) out.push_back(verb);
  return out;
}

std::string Router::allow(std::string_view path) const {
  const Methods* by_method = match(path, nullptr);
  if (!by_method) return {};
  std::vector<std::string_view> names;
  for (const auto& [verb, route] : *by_method) {
    names.push_back(http::to_string(verb));
    if (verb == http::verb::get && !by_method->count(http::verb::head)) names.push_back("HEAD");
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (auto m : names) out += (out.empty() ? "" : ", ") + std::string(m);
  return out;
}

std::vector<std::string> Router::paths() const {
  std::vector<std::string> out;
  for (const auto& [path, methods] : routes_) out.push_back(path);
  return out;
}

std::size_t Router::body_limit(const Request& header, std::size_t fallback) const {
  const Methods* by_path = match(target_path(header.target()), nullptr);
  if (!by_path) return fallback;
  auto it = by_path->find(header.method());
  if (it == by_path->end() || it->second.opts.body_limit <= fallback) return fallback;
  if (auth_ && is_mutating(header.method()) && !auth_->carries_token(header)) return fallback;
  return it->second.opts.body_limit;
}

Response Router::handle(const Request& req, const Peer& peer) const {
  const std::string_view path = target_path(req.target());
  PathParams params;
  const Methods* by_path = match(path, &params);
  if (!by_path)
    return error_response(http::status::not_found, "no endpoint " + std::string(path),
                          "GET /v1/status lists the endpoints");

  const bool head = req.method() == http::verb::head;
  auto by_method = by_path->find(req.method());
  if (by_method == by_path->end() && head) by_method = by_path->find(http::verb::get);
  if (by_method == by_path->end()) {
    const std::string allowed = allow(path);
    auto res = error_response(http::status::method_not_allowed,
                              std::string(req.method_string()) + " is not allowed on " + std::string(path),
                              "use " + allowed);
    res.set(http::field::allow, allowed);
    return res;
  }

  if (auth_ && is_mutating(req.method()))
    if (auto refused = auth_->refuse(req)) return std::move(*refused);

  const Route& route = by_method->second;
  if (route.opts.json_body && !req.body().empty() && !has_json_content_type(req))
    return error_response(http::status::unsupported_media_type,
                          std::string(path) + " takes a JSON body (Content-Type: application/json)",
                          "send -H 'Content-Type: application/json', or no body");

  Response res;
  try {
    res = route.handler(Call{req, peer, params});
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
