#include "knowledge/json/observation_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cmath>

namespace reflex {
namespace {

namespace json = boost::json;

// Rates rounded to what means something (1/1000 of a unit), so a line diff
// of two ticks does not drown in float noise; whole numbers print as
// integers ("rx_pps":1000, not 1E3).
json::value r3(double x) {
  if (!std::isfinite(x)) return 0;
  x = std::round(x * 1000.0) / 1000.0;
  if (x == std::floor(x) && std::fabs(x) < 9.0e15) return static_cast<std::int64_t>(x);
  return x;
}

json::object iface_json(const InterfaceObservation& i) {
  json::object drops;
  for (const auto& [reason, n] : i.drops) drops[reason] = n;

  json::object xdp{
      {"pass", i.xdp.pass},
      {"drop", i.xdp.drop},
      {"rate_limited", i.xdp.rate_limited},
      {"shadow", i.xdp.shadow},
      {"allowed", i.xdp.allowed},
      {"non_ip", i.xdp.non_ip},
      {"malformed", i.xdp.malformed},
      {"bytes", i.xdp.bytes},
      {"pass_pps", r3(i.xdp_rates.pass_pps)},
      {"drop_pps", r3(i.xdp_rates.drop_pps)},
      {"rate_limited_pps", r3(i.xdp_rates.rate_limited_pps)},
      {"shadow_pps", r3(i.xdp_rates.shadow_pps)},
      {"rules", i.rules},
      {"drop_events", i.drop_events},
      {"events_lost", i.xdp.events_lost},
      {"sample_every", i.sample_every},
  };
  if (i.guard_ns_per_packet) xdp["run_ns_per_packet"] = r3(*i.guard_ns_per_packet);
  json::array top_rules;
  for (const auto& r : i.top_rules)
    top_rules.push_back(json::object{
        {"rule", r.rule}, {"uid", r.uid}, {"packets", r.packets}, {"bytes", r.bytes}, {"pps", r3(r.pps)}});
  xdp["top_rules"] = std::move(top_rules);

  json::object o{
      {"name", i.name},
      {"present", i.present},
      {"oper_up", i.oper_up},
      {"mode", std::string(to_string(i.mode))},
      {"wanted_mode", std::string(to_string(i.wanted_mode))},
      {"rx_packets", i.rx_packets},
      {"rx_pps", r3(i.rx_pps)},
      {"rx_bytes", i.rx_bytes},
      {"rx_bps", r3(i.rx_bps)},
      {"tx_packets", i.tx_packets},
      {"tx_pps", r3(i.tx_pps)},
      {"tx_bytes", i.tx_bytes},
      {"tx_bps", r3(i.tx_bps)},
      {"rx_errors", i.rx_errors},
      {"rx_dropped", i.rx_dropped},
      {"tx_errors", i.tx_errors},
      {"tx_dropped", i.tx_dropped},
      {"drops", std::move(drops)},
      {"xdp", std::move(xdp)},
  };
  if (!i.netns.empty()) o["netns"] = i.netns;
  if (i.rtt) {
    json::array buckets;
    for (auto b : i.rtt->log2_us_buckets) buckets.push_back(b);
    o["rtt_us"] = json::object{{"p50", r3(i.rtt->p50_us)},          {"p90", r3(i.rtt->p90_us)},
                               {"p99", r3(i.rtt->p99_us)},          {"mean", r3(i.rtt->mean_us)},
                               {"samples", i.rtt->samples},         {"samples_total", i.rtt->samples_total},
                               {"log2_buckets", std::move(buckets)}};
  } else {
    o["rtt_us"] = nullptr;  // the RTT probe is not running (see "degraded")
  }
  json::array errors;
  for (const auto& e : i.attach_errors) errors.push_back(json::value(e));
  o["attach_errors"] = std::move(errors);
  if (i.retrans)
    o["retrans"] = json::object{{"retransmits", i.retrans->retransmits},
                                {"per_s", r3(i.retrans->per_s)},
                                {"segments_per_s", r3(i.retrans->segments_per_s)}};
  else
    o["retrans"] = nullptr;  // the retransmit probe is not running (see "degraded")
  return o;
}

}  // namespace

json::value to_json(const Observation& obs) {
  json::object ifaces;
  for (const auto& [key, i] : obs.interfaces) ifaces[key] = iface_json(i);

  json::array talkers;
  for (const auto& t : obs.talkers)
    talkers.push_back(json::object{{"iface", t.iface},
                                   {"source", t.source.to_string()},
                                   {"packets", t.packets},
                                   {"bytes", t.bytes},
                                   {"dropped", t.dropped},
                                   {"pps", r3(t.pps)}});

  json::array networks;
  for (const auto& n : obs.prefix_talkers)
    networks.push_back(json::object{{"iface", n.iface},
                                    {"prefix", n.prefix.to_string()},
                                    {"sources", n.sources},
                                    {"packets", n.packets},
                                    {"bytes", n.bytes},
                                    {"dropped", n.dropped},
                                    {"pps", r3(n.pps)}});

  json::array samples;
  for (const auto& s : obs.drop_samples)
    samples.push_back(json::object{{"iface", s.iface},
                                   {"ts_ns", s.ts_ns},
                                   {"reason", s.reason},
                                   {"rule_uid", s.rule_uid},
                                   {"source", s.source.to_string()},
                                   {"proto", s.proto},
                                   {"dport", s.dport},
                                   {"len", s.pkt_len}});

  json::object maps;
  for (const auto& [name, m] : obs.maps)
    maps[name] = json::object{
        {"entries", m.entries},
        {"max_entries", m.max_entries},
        {"fill",
         r3(m.max_entries ? static_cast<double>(m.entries) / static_cast<double>(m.max_entries) : 0.0)},
        {"growth_per_s", r3(m.growth_per_s)}};

  json::array degraded;
  for (const auto& d : obs.degraded)
    degraded.push_back(json::object{{"probe", d.probe}, {"reason", d.reason}});

  return json::object{
      {"ts_ns", obs.ts_ns},
      {"seq", obs.seq},
      {"interval_ns", obs.interval_ns},
      {"interfaces", std::move(ifaces)},
      {"talkers", std::move(talkers)},
      {"networks", std::move(networks)},
      {"drop_samples", std::move(samples)},
      {"maps", std::move(maps)},
      {"degraded", std::move(degraded)},
  };
}

}  // namespace reflex
