#pragma once
// The fleet's figures in /metrics, read where they live (a FleetNode's
// stats, its link's status) at scrape time. The Daemon calls this once,
// after making its FleetNode and NatsLink; both must outlive the registry's
// scrapes, and scrapes run on the loop's thread (api/metrics.h), which is
// the thread FleetNode lives on. packaging/prometheus/ aggregates these
// fleet-wide.
//
//   reflex_fleet_verdicts_sent_total                 counter
//   reflex_fleet_verdicts_received_total             counter
//   reflex_fleet_verdicts_accepted_total             counter  (renewals included)
//   reflex_fleet_verdicts_refused_total{reason}      counter  (every Refusal, zeros too)
//   reflex_fleet_verdicts_acted_on_total{action}     counter  (block, rate_limit, shadow, ...)
//   reflex_fleet_peer_verdicts_active                gauge    (live peer_verdict symptoms)
//   reflex_fleet_peers_active                        gauge    (distinct peers with a live verdict)
//   reflex_fleet_link_state{state}                   gauge    (1 for the current state)
//   reflex_fleet_link_reconnects_total               counter
//   reflex_fleet_link_publish_dropped_total          counter
//   reflex_fleet_link_receive_dropped_total          counter
//   reflex_fleet_link_errors_total                   counter

#include "api/metrics.h"
#include "fleet/fleet_node.h"
#include "fleet/transport.h"

namespace reflex::fleet {

// link may be null (publish-less builds, tests): the link families then say disabled.
void publish_fleet_metrics(api::MetricsRegistry& registry, const FleetNode& node, const VerdictTransport* link);

}  // namespace reflex::fleet
