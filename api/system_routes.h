#pragma once
// Endpoints every reflex daemon has, whatever stages it runs:
//   GET /healthz     200 "ok" while the loop answers (liveness)
//   GET /metrics     the registry in Prometheus text format 0.0.4
//   GET /v1/status   the daemon's own status document, plus the endpoints
// The status document is composed by the daemon (`status` below), so a stage
// wired in later adds its section there rather than a new endpoint.

#include "api/metrics.h"
#include "api/router.h"

#include <boost/json/object.hpp>

#include <functional>

namespace reflex::api {

using StatusFn = std::function<boost::json::object()>;

// `router`, `metrics` and whatever `status` reads must outlive the server.
void add_system_routes(Router& router, const MetricsRegistry& metrics, StatusFn status);

}  // namespace reflex::api
