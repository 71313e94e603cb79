// The loop's metrics, read from the view the loop published last, at scrape
// time: one source of truth, nothing to keep in sync (api/metrics.h).

#include "api/loop_routes.h"
#include "api/loop_json.h"
#include "knowledge/json/desired_state_json.h"

#include <cmath>

namespace reflex::api {
namespace {

using daemon::LoopView;
using T = MetricType;

constexpr double kSecondsPerNs = 1e-9;

// The loop keeps stage timings as log2 buckets of microseconds (bucket i:
// [2^i, 2^(i+1)) us); Prometheus gets them as le = 2^(i+1) us, up to 2^24 us
// (16.8 s), the rest in +Inf.
constexpr std::size_t kStageBuckets = 24;

HistogramValue stage_histogram(const daemon::StageStats& s) {
  HistogramValue h;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kStageBuckets; ++i) {
    cumulative += s.log2_us[i];
    h.buckets.emplace_back(static_cast<double>(2ull << i) * 1e-6, cumulative);
  }
  std::uint64_t all = cumulative;
  for (std::size_t i = kStageBuckets; i < s.log2_us.size(); ++i) all += s.log2_us[i];
  h.count = std::max(all, s.count);
  h.sum = static_cast<double>(s.total_ns) * kSecondsPerNs;
  return h;
}

}  // namespace

void add_loop_metrics(MetricsRegistry& m, const daemon::LoopApi& loop) {
  auto view = [&loop] { return loop.view(); };
  auto each = [view](auto fn) {
    return [view, fn] {
      std::vector<Sample> out;
      fn(*view(), out);
      return out;
    };
  };

  // The loop.
  m.collect("reflex_loop_ticks_total", "Ticks the loop has run", T::counter,
            [view] { return double(view()->ticks); });
  m.collect("reflex_loop_overruns_total", "Ticks that took longer than the tick interval", T::counter,
            [view] { return double(view()->overruns); });
  m.collect("reflex_loop_ready", "1 once every interface is attached and the first tick ran", T::gauge,
            [view] { return view()->ready ? 1.0 : 0.0; });
  m.collect("reflex_loop_phase", "The loop's phase: 1 for the phase it is in", T::gauge, {"phase"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              for (auto p : {daemon::LoopPhase::starting, daemon::LoopPhase::running, daemon::LoopPhase::paused,
                             daemon::LoopPhase::stopping})
                out.push_back({{std::string(to_string(p))}, v.phase == p ? 1.0 : 0.0, std::nullopt});
            }));
  m.collect("reflex_loop_tick_interval_seconds", "The configured tick interval", T::gauge,
            [view] { return double(view()->tick_interval_ns) * kSecondsPerNs; });
  m.collect("reflex_loop_last_tick_duration_seconds", "How long the last tick took, all stages", T::gauge,
            [view] {
              auto v = view();
              return v->last_tick ? double(v->last_tick->duration_ns) * kSecondsPerNs : 0.0;
            });
  m.collect("reflex_loop_last_tick_timestamp_seconds", "When the last tick ran (Unix time; 0: none yet)", T::gauge,
            [view] {
              auto v = view();
              return v->last_tick ? double(v->last_tick->wall_ns) * kSecondsPerNs : 0.0;
            });
  m.collect("reflex_loop_stage_duration_seconds",
            "Time per tick in each stage (buckets are powers of two of microseconds)", T::histogram, {"stage"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              for (std::size_t i = 0; i < daemon::kStageCount; ++i)
                out.push_back({{std::string(to_string(daemon::kAllStages[i]))}, 0, stage_histogram(v.stages[i])});
            }));
  m.collect("reflex_loop_stage_max_seconds", "The longest time one tick spent in each stage since start", T::gauge,
            {"stage"}, each([](const LoopView& v, std::vector<Sample>& out) {
              for (std::size_t i = 0; i < daemon::kStageCount; ++i)
                out.push_back({{std::string(to_string(daemon::kAllStages[i]))},
                               double(v.stages[i].max_ns) * kSecondsPerNs, std::nullopt});
            }));

  // Symptoms, plans, actions.
  m.collect("reflex_symptoms_active", "Active symptoms, by kind", T::gauge, {"kind"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              for (auto k : kAllSymptomKinds) {
                double n = 0;
                if (v.snapshot)
                  for (const auto& s : v.snapshot->symptoms) n += s.kind == k;
                out.push_back({{std::string(to_string(k))}, n, std::nullopt});
              }
            }));
  m.collect("reflex_symptom_events_total", "Symptom transitions since start, by kind and transition", T::counter,
            {"kind", "transition"}, each([](const LoopView& v, std::vector<Sample>& out) {
              for (const auto& [key, n] : v.counters.symptom_events)
                out.push_back({{std::string(to_string(key.first)), std::string(to_string(key.second))}, double(n),
                               std::nullopt});
            }));
  m.collect("reflex_plans_total", "Plans the planner made since start", T::counter,
            [view] { return double(view()->counters.plans); });
  m.collect("reflex_actions_total", "Actions planned since start, by kind", T::counter, {"kind"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              for (const auto& [kind, n] : v.counters.actions) out.push_back({{kind}, double(n), std::nullopt});
            }));
  m.collect("reflex_action_outcomes_total", "Outcomes of actions since start, by action kind and outcome",
            T::counter, {"kind", "outcome"}, each([](const LoopView& v, std::vector<Sample>& out) {
              for (const auto& [key, n] : v.counters.outcomes)
                out.push_back({{key.first, std::string(to_string(key.second))}, double(n), std::nullopt});
            }));
  m.collect("reflex_overrides", "Operator overrides in force, by kind and whether they matched a decision yet",
            T::gauge, {"kind", "matched"}, each([](const LoopView& v, std::vector<Sample>& out) {
              for (const char* kind : {"pause", "forbid", "pin", "manual"})
                for (bool matched : {false, true}) {
                  double n = 0;
                  for (const auto& o : v.overrides)
                    n += override_kind_name(o.override_.kind) == kind && o.matched == matched;
                  out.push_back({{kind, matched ? "true" : "false"}, n, std::nullopt});
                }
            }));
  m.collect("reflex_rules", "Guard rules reflex wants in force, by interface and verb", T::gauge, {"iface", "verb"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot || !v.snapshot->desired) return;
              for (const auto& [iface, d] : v.snapshot->desired->ifaces)
                for (auto verb : {RuleVerb::drop, RuleVerb::allow, RuleVerb::rate_limit, RuleVerb::shadow}) {
                  double n = 0;
                  for (const auto& r : d.rules) n += r.verb == verb;
                  out.push_back({{iface, std::string(to_string(verb))}, n, std::nullopt});
                }
            }));
  m.collect("reflex_shapes", "Shapings reflex wants in force, by interface", T::gauge, {"iface"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot || !v.snapshot->desired) return;
              for (const auto& [iface, d] : v.snapshot->desired->ifaces)
                out.push_back({{iface}, double(d.shapes.size()), std::nullopt});
            }));

  // Interfaces and the datapath.
  m.collect("reflex_interface_attach_mode", "How the guard is attached to each interface: 1 for the mode in use",
            T::gauge, {"iface", "mode"}, each([](const LoopView& v, std::vector<Sample>& out) {
              for (const auto& s : v.interfaces)
                for (auto mode : {AttachMode::none, AttachMode::native, AttachMode::generic, AttachMode::tc})
                  out.push_back({{s.key, std::string(to_string(mode))}, s.mode == mode ? 1.0 : 0.0, std::nullopt});
            }));
  m.collect("reflex_interface_healthy", "1 if the interface is attached as wanted with no attach errors", T::gauge,
            {"iface"}, each([](const LoopView& v, std::vector<Sample>& out) {
              for (const auto& s : v.interfaces) out.push_back({{s.key}, s.healthy ? 1.0 : 0.0, std::nullopt});
            }));
  m.collect("reflex_interface_up", "1 if the interface is present and operationally up", T::gauge, {"iface"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              for (const auto& s : v.interfaces)
                out.push_back({{s.key}, s.present && s.up ? 1.0 : 0.0, std::nullopt});
            }));
  auto per_iface = [&](const std::string& name, const std::string& help, auto get) {
    m.collect(name, help, T::counter, {"iface"}, each([get](const LoopView& v, std::vector<Sample>& out) {
                if (!v.snapshot) return;
                for (const auto& [iface, o] : v.snapshot->observation.interfaces)
                  out.push_back({{iface}, double(get(o)), std::nullopt});
              }));
  };
  per_iface("reflex_interface_rx_packets_total", "Packets received (the kernel's interface counters)",
            [](const InterfaceObservation& o) { return o.rx_packets; });
  per_iface("reflex_interface_rx_bytes_total", "Bytes received", [](const InterfaceObservation& o) { return o.rx_bytes; });
  per_iface("reflex_interface_tx_packets_total", "Packets sent", [](const InterfaceObservation& o) { return o.tx_packets; });
  per_iface("reflex_interface_tx_bytes_total", "Bytes sent", [](const InterfaceObservation& o) { return o.tx_bytes; });
  per_iface("reflex_xdp_bytes_total", "Bytes of every packet the guard judged",
            [](const InterfaceObservation& o) { return o.xdp.bytes; });
  per_iface("reflex_xdp_events_lost_total", "Sampled drop events lost to a full ring buffer",
            [](const InterfaceObservation& o) { return o.xdp.events_lost; });
  m.collect("reflex_xdp_packets_total",
            "Packets the guard judged, by verdict (they add up to every packet): pass, drop, rate_limited, "
            "shadow (a shadow rule would have dropped it; it passed)",
            T::counter, {"iface", "verdict"}, each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot) return;
              for (const auto& [iface, o] : v.snapshot->observation.interfaces) {
                const auto& x = o.xdp;
                const std::pair<const char*, std::uint64_t> verdicts[] = {
                    {"pass", x.pass}, {"drop", x.drop}, {"rate_limited", x.rate_limited}, {"shadow", x.shadow}};
                for (const auto& [name, n] : verdicts) out.push_back({{iface, name}, double(n), std::nullopt});
              }
            }));
  m.collect("reflex_xdp_passed_packets_total",
            "Of the packets the guard passed: those an allow rule matched, non-IP and malformed ones", T::counter,
            {"iface", "reason"}, each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot) return;
              for (const auto& [iface, o] : v.snapshot->observation.interfaces) {
                const auto& x = o.xdp;
                const std::pair<const char*, std::uint64_t> reasons[] = {
                    {"allowed", x.allowed}, {"non_ip", x.non_ip}, {"malformed", x.malformed}};
                for (const auto& [name, n] : reasons) out.push_back({{iface, name}, double(n), std::nullopt});
              }
            }));
  m.collect("reflex_kernel_drops_total", "Packets the kernel dropped, by interface and skb drop reason", T::counter,
            {"iface", "reason"}, each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot) return;
              for (const auto& [iface, o] : v.snapshot->observation.interfaces)
                for (const auto& [reason, n] : o.drops) out.push_back({{iface, reason}, double(n), std::nullopt});
            }));
  m.collect("reflex_map_entries", "Entries in each map reflex owns", T::gauge, {"map"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot) return;
              for (const auto& [name, mo] : v.snapshot->observation.maps)
                out.push_back({{name}, double(mo.entries), std::nullopt});
            }));
  m.collect("reflex_map_max_entries", "Capacity of each map reflex owns", T::gauge, {"map"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot) return;
              for (const auto& [name, mo] : v.snapshot->observation.maps)
                out.push_back({{name}, double(mo.max_entries), std::nullopt});
            }));
  m.collect("reflex_map_fill_ratio", "Entries over capacity of each map reflex owns (1: full)", T::gauge, {"map"},
            each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot) return;
              for (const auto& [name, mo] : v.snapshot->observation.maps)
                out.push_back({{name}, mo.max_entries ? double(mo.entries) / double(mo.max_entries) : 0.0,
                               std::nullopt});
            }));
  m.collect("reflex_probe_degraded", "Probes that are not working (1 each), with the probe's name", T::gauge,
            {"probe"}, each([](const LoopView& v, std::vector<Sample>& out) {
              if (!v.snapshot) return;
              for (const auto& d : v.snapshot->observation.degraded) out.push_back({{d.probe}, 1.0, std::nullopt});
            }));

  // The store.
  m.collect("reflex_store_ok", "1 while the store writes; 0: degraded (records wait in memory)", T::gauge,
            [view] { return view()->store.ok ? 1.0 : 0.0; });
  m.collect("reflex_store_pending_records", "Records held in memory, not yet written", T::gauge,
            [view] { return double(view()->store.pending); });
  m.collect("reflex_store_written_records_total", "Records written since the daemon started", T::counter,
            [view] { return double(view()->store.written); });
  m.collect("reflex_store_bytes", "Size of the store on disk", T::gauge, [view] { return double(view()->store.bytes); });
}

}  // namespace reflex::api
