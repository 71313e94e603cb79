#pragma once
// The loop over HTTP: plain handlers over a daemon::LoopApi. Reads render the
// view the loop published last (never waiting for the loop); mutations are
// overrides handed to the loop, which validates, records and applies them on
// its next tick. docs/api.md and docs/openapi.yaml describe every document.
//
//   GET    /v1/state               phase, last tick and stage timings, interfaces,
//                                  rules (first page) and shapes with TTLs, overrides, store
//   GET    /v1/rules               the desired rules, filtered and paged
//   GET    /v1/symptoms            active symptoms and recent transitions
//   GET    /v1/plans               recent plans
//   GET    /v1/actions             recent actions with their latest outcome
//   GET    /v1/flows               sampled flows the guard judged, grouped, filtered
//   GET    /v1/history             the store's records, filtered and paged
//   GET    /v1/overrides           overrides in force, and whether each matched anything
//   POST   /v1/overrides           add one (api/override_request.h has the body)
//   GET    /v1/overrides/{id}
//   DELETE /v1/overrides/{id}
//   GET    /readyz                 200 once every interface is attached and a tick ran
//   GET    /healthz                replaces the system route: 503 if ticks stopped
//
// Handlers run on the server's strands, on the loop's thread (one io_context
// thread, as reflexd runs it); view() is a shared_ptr copy, so a slow client
// holds a view alive, never the loop.

#include "api/metrics.h"
#include "api/router.h"
#include "daemon/loop_api.h"

#include <functional>

namespace reflex::api {

struct LoopRouteOptions {
  std::size_t state_rules = 100;   // rules listed in /v1/state by default
  std::size_t page_default = 100;  // limit when none is given
  std::size_t page_max = 1000;
  // /healthz fails when the last tick is older than this many intervals
  // (and at least `stall_min_ns`): the loop is stuck, restart the daemon.
  unsigned stall_ticks = 20;
  TimeNs stall_min_ns = 5 * kNsPerSec;
  std::function<TimeNs()> wall_now;  // default: the system clock
};

// `loop` must outlive the router's use (the daemon owns both).
void add_loop_routes(Router& router, daemon::LoopApi& loop, LoopRouteOptions opts = {});

// reflex_loop_*, reflex_stage_*, reflex_symptom*, reflex_actions*, reflex_xdp_*,
// reflex_interface_*, reflex_map_*, reflex_override*, reflex_rules, reflex_store_*,
// read from the view at scrape time (docs/api.md lists them).
void add_loop_metrics(MetricsRegistry& metrics, const daemon::LoopApi& loop);

}  // namespace reflex::api
