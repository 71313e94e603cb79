#include "api/api_routes.h"

#include "api/policy_routes.h"

namespace reflex::api {

void add_api(Router& router, MetricsRegistry& metrics, ApiParts parts) {
  add_system_routes(router, metrics, std::move(parts.status));
  add_policy_routes(router, parts.policies);
  // After the system routes: the loop's /healthz replaces theirs.
  add_loop_routes(router, parts.loop, std::move(parts.loop_options));
  add_policy_metrics(metrics, parts.policies);
  add_loop_metrics(metrics, parts.loop);
  if (parts.token) router.require_token(std::move(parts.token));
}

}  // namespace reflex::api
