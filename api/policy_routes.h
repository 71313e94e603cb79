#pragma once
// The policy store over HTTP, and its metrics. Thin on purpose: handlers ask
// the PolicyStore the daemon owns and render what it says.
//
//   GET  /v1/policies          the set in force, load counts, the last rejection
//   POST /v1/policies/reload   reload now (trigger "api"): 200 + status when
//                              accepted, 422 + the findings when rejected (the
//                              set in force does not change)
// docs/api.md shows the documents.

#include "api/metrics.h"
#include "api/router.h"
#include "plan/policy_store.h"

#include <boost/json/object.hpp>

namespace reflex::api {

boost::json::object policy_status_json(const plan::PolicyStore& store);
boost::json::object rejection_json(const plan::PolicyRejection& rejection);
boost::json::object diagnostic_json(const plan::Diagnostic& d);

// The store must outlive the router's use (the daemon owns both).
void add_policy_routes(Router& router, plan::PolicyStore& store);

// reflex_policy_* families, read from the store at scrape time.
void add_policy_metrics(MetricsRegistry& metrics, const plan::PolicyStore& store);

}  // namespace reflex::api
