#include "api/system_routes.h"

namespace reflex::api {

void add_system_routes(Router& router, const MetricsRegistry& metrics, StatusFn status) {
  router.get("/healthz", [](const Request&) { return text_response(http::status::ok, "ok\n"); });

  router.get("/metrics", [&metrics](const Request&) {
    return text_response(http::status::ok, metrics.render(), kPrometheusType);
  });

  router.get("/v1/status", [&router, status = std::move(status)](const Request&) {
    json::object doc = status ? status() : json::object{};
    json::array endpoints;
    for (const auto& path : router.paths()) endpoints.emplace_back(router.allow(path) + " " + path);
    doc["endpoints"] = std::move(endpoints);
    return json_response(http::status::ok, doc);
  });
}

}  // namespace reflex::api
