#include "fleet/fleet_metrics.h"

namespace reflex::fleet {

void publish_fleet_metrics(api::MetricsRegistry& reg, const FleetNode& node, const VerdictTransport* link) {
  using api::MetricType;
  using api::Sample;
  const FleetNode* n = &node;
  reg.collect("reflex_fleet_verdicts_sent_total", "Verdicts this node published (its own verified actions)",
              MetricType::counter, [n] { return static_cast<double>(n->stats().sent); });
  reg.collect("reflex_fleet_verdicts_received_total", "Verdict messages received from peers",
              MetricType::counter, [n] { return static_cast<double>(n->stats().received); });
  reg.collect("reflex_fleet_verdicts_accepted_total", "Peer verdicts believed (renewals included)",
              MetricType::counter, [n] { return static_cast<double>(n->stats().book.accepted); });
  reg.collect("reflex_fleet_verdicts_refused_total", "Peer verdicts refused, by reason", MetricType::counter,
              {"reason"}, [n] {
                std::vector<Sample> out;
                const auto& b = n->stats().book;
                for (std::size_t i = 0; i < std::size(kAllRefusals); ++i)
                  out.push_back({{std::string(to_string(kAllRefusals[i]))}, static_cast<double>(b.refused[i])});
                return out;
              });
  reg.collect("reflex_fleet_verdicts_acted_on_total", "Actions taken on peer verdicts that reached the datapath",
              MetricType::counter, {"action"}, [n] {
                std::vector<Sample> out;
                for (const auto& [action, c] : n->stats().acted_by_action)
                  out.push_back({{action}, static_cast<double>(c)});
                return out;
              });
  reg.collect("reflex_fleet_peer_verdicts_active", "Live peer_verdict symptoms (one per prefix)", MetricType::gauge,
              [n] { return static_cast<double>(n->book().active().size()); });
  reg.collect("reflex_fleet_peers_active", "Distinct peers with a live verdict", MetricType::gauge,
              [n] { return static_cast<double>(n->book().peers()); });
  reg.collect("reflex_fleet_link_state", "The NATS link's state (1 for the current one)", MetricType::gauge,
              {"state"}, [link] {
                const LinkState now = link ? link->status().state : LinkState::disabled;
                std::vector<Sample> out;
                for (auto s : kAllLinkStates) out.push_back({{std::string(to_string(s))}, s == now ? 1.0 : 0.0});
                return out;
              });
  auto link_counter = [&](const char* name, const char* help, std::uint64_t LinkStatus::*field) {
    reg.collect(name, help, MetricType::counter,
                [link, field] { return link ? static_cast<double>(link->status().*field) : 0.0; });
  };
  link_counter("reflex_fleet_link_reconnects_total", "Reconnections to a NATS server", &LinkStatus::reconnects);
  link_counter("reflex_fleet_link_publish_dropped_total", "Verdicts the link could not queue or the client refused",
               &LinkStatus::publish_dropped);
  link_counter("reflex_fleet_link_receive_dropped_total",
               "Messages dropped before the loop read them (loop behind, or slow consumer)",
               &LinkStatus::receive_dropped);
  link_counter("reflex_fleet_link_errors_total", "Errors the NATS server reported", &LinkStatus::errors);
}

}  // namespace reflex::fleet
