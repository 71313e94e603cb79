#pragma once
// Thresholds of the Analyzer's symptoms. Each has a raise and a clear level
// (hysteresis) so a value near one threshold does not flap.

#include "analyze/hysteresis.h"
#include "analyze/prefix_cover.h"

#include <cstddef>

namespace reflex::analyze {

struct AnalyzerConfig {
  // An active symptom is reported `updated` when its severity changes or its
  // score has moved this much since it was last reported.
  double update_score_step = 0.1;

  // flood: a source sending far more than any benign source of its interface
  // has (the fastest one seen recently, forgotten over flood_envelope_s), and
  // more than flood_min_pps. A source new this tick needs no history of its
  // own: it is judged against the interface's. Before the interface has any
  // history (benign_after_ticks ticks with talkers) only a source a rule
  // already drops is judged, against the median talker; the rest is learned.
  double flood_min_pps = 1000;
  HysteresisConfig flood{3.0, 1.5, 1, 2};  // rate / reference
  // Critical: 5x the fastest benign source and at least flood_critical_min_pps
  // (an interface whose sources all send a few pps does not make a 2000 pps
  // source an unmistakable flood).
  double flood_critical_ratio = 5;
  double flood_critical_min_pps = 5000;
  // Score r^k / (1 + r^k) of r = ratio / raise: 0.5 at the raise level, 0.95
  // at the critical ratio (5 / 3; k = ln 19 / ln(5 / 3) = 5.76), the bar of the
  // flood-critical policy; 0.71 at 3.5x, past flood-ladder's 0.7.
  double flood_score_power = 5.76;
  double flood_envelope_s = 600;
  int benign_after_ticks = 3;              // quiet ticks before a source counts as benign
  std::size_t max_tracked_sources = 65536; // memory bound for per-source state
  // A source known to be benign (benign_after_ticks quiet ticks) gets its own
  // series detector (signal_gate.h): past its warm-up, it raises a flood only
  // when its rate is unusual for it, or at the critical level. A source new
  // to the interface has no series, and the reference alone judges it. The
  // detectors cost ~2 KB each: at most this many.
  std::size_t max_gated_sources = 4096;
  CoverLimits cover;
  // A cover of two or more attackers is remembered this long after its last
  // attacker: a new attacker inside it joins it (the same symptom, the same
  // rule) instead of raising a host of its own. Hosts that take turns across
  // a /24 would otherwise each raise a symptom, an action and a rule under
  // the block that already drops them, until the action budget runs out.
  double cover_hold_s = 30;

  // flood of a network (an IPv4 /24, an IPv6 /64: the Monitor's
  // prefix_talkers): its hosts' summed rate against the fastest benign
  // network of the interface, with the flood's hysteresis and critical
  // levels, for floods spread thin over many hosts each slower than the
  // benign clients. Judged only when at least flood_network_min_sources hosts
  // send on average flood_network_min_host_pps each (a crowd of users sends a
  // few packets a second each; a botnet spreading a flood thin sends
  // hundreds), when no host of the network was a quiet client before it rose
  // (blocking it would block them), and, short of the critical level, while
  // the interface's received rate is unusual for it (its series detector).
  std::uint32_t flood_network_min_sources = 8;
  double flood_network_min_host_pps = 100;

  // drop_rate_high: unintended drops / (drops + passes), per interface and reason.
  HysteresisConfig drop_rate{0.05, 0.02, 1, 2};
  double drop_rate_critical = 0.25;
  double drop_min_packets = 100;           // per tick, below this the ratio is noise

  // latency_high: RTT p99 / its baseline (learned on ordinary ticks by the
  // series detector, which also gates the raise: signal_gate.h).
  HysteresisConfig latency_ratio{2.0, 1.3, 2, 2};
  double latency_critical_ratio = 5.0;     // raises whatever the detector says
  double latency_min_us = 200;             // ignore p99 below this
  std::uint64_t latency_min_samples = 20;

  // loss_high: TCP retransmits / segments sent on the path (raise 2% on two
  // ticks, clear 1%, critical 10%), judged on ticks with at least
  // loss_min_segments segments. When the probe does not count segments, the
  // level is retransmits/s over loss_rate_floor, scaled so the floor is the
  // raise level.
  HysteresisConfig loss{0.02, 0.01, 2, 2};
  double loss_critical = 0.10;
  double loss_min_segments = 100;
  double loss_rate_floor = 20;

  // map_pressure: fill ratio, or forecast time to full.
  HysteresisConfig map_fill{0.80, 0.70, 1, 2};
  double map_critical_fill = 0.95;
  double map_ttf_raise_s = 300;            // raise when full within this
  double map_ttf_clear_s = 900;
  double map_ttf_min_fill = 0.5;           // forecasts only matter once half full

  // attach_degraded: attach mode below the wanted one, or XDP errors rising.
  HysteresisConfig attach{1.0, 0.0, 1, 3};  // badness: 1 = mode below wanted, errors at the raise rate
  double attach_error_rate_raise = 10;     // rx+tx errors per second
};

}  // namespace reflex::analyze
