#pragma once
// Everything reflexd serves, registered in one place, so the daemon and the
// test that holds the API to docs/openapi.yaml (tests/unit/api/openapi_test.cpp)
// see the same routes:
//   system routes (/healthz, /metrics, /v1/status), the policy routes
//   (/v1/policies...), the loop's routes (/v1/state ... /v1/overrides/{id},
//   /readyz, and a /healthz that fails when ticks stop), the policy and loop
//   metrics, and the bearer token for every mutating call.
// The server's own metrics (reflex_http_*) register when the Server is given
// the same registry (Server::listen(io, config, router, &metrics)).

#include "api/auth.h"
#include "api/loop_routes.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/system_routes.h"
#include "daemon/loop_api.h"
#include "plan/policy_store.h"

#include <memory>

namespace reflex::api {

struct ApiParts {
  daemon::LoopApi& loop;
  plan::PolicyStore& policies;
  StatusFn status;                         // the daemon's part of /v1/status
  std::shared_ptr<const TokenAuth> token;  // null: mutating calls are served unauthenticated (tests only)
  LoopRouteOptions loop_options = {};
};

// Everything `parts` names, the router and the registry must outlive the
// server's use of them; call before Server::start() (the router must not
// change while serving).
void add_api(Router& router, MetricsRegistry& metrics, ApiParts parts);

}  // namespace reflex::api
