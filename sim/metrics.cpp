#include "sim/run_data.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace reflex::sim {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

namespace {

// The last sample at or before t (the first if t precedes them all).
const Sample* at(const RunData& r, TimeNs t) {
  if (r.samples.empty()) return nullptr;
  auto it = std::upper_bound(r.samples.begin(), r.samples.end(), t,
                             [](TimeNs v, const Sample& s) { return v < s.t_ns; });
  return it == r.samples.begin() ? &*it : &*std::prev(it);
}

std::uint64_t delta(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b, std::size_t i) {
  std::uint64_t x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
  return y > x ? y - x : 0;
}

std::uint64_t attack_delta(const RunData& r, const Sample& a, const Sample& b, bool arrived) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < r.classes.size(); ++i)
    if (r.classes[i].cls == TrafficClass::attack) n += delta(arrived ? a.arrived : a.offered, arrived ? b.arrived : b.offered, i);
  return n;
}

std::optional<double> ms_after(std::optional<TimeNs> t, std::optional<TimeNs> onset) {
  if (!t || !onset) return std::nullopt;
  return static_cast<double>(*t - *onset) / 1e6;
}

std::optional<TimeNs> first_event(const RunData& r, const std::set<std::string>& lanes, TimeNs after) {
  for (const auto& e : r.events)
    if (e.t_ns >= after && lanes.count(e.lane)) return e.t_ns;
  return std::nullopt;
}

// When the attack stopped getting through: the start of the first 50 ms
// window, after onset, from which on at most 10% of what the attackers sent
// reached the victim, in each of the next ten windows that carry attack
// traffic (500 ms of attack; a pulse's gaps do not count), or in all of them
// until the attack ended.
std::optional<TimeNs> drop_time(const RunData& r) {
  if (!r.onset_ns || r.samples.empty()) return std::nullopt;
  constexpr TimeNs kWin = 50 * kNsPerMs;
  constexpr int kHoldWindows = 10;
  const TimeNs end = r.attack_end_ns.value_or(r.duration_ns);
  auto window_ok = [&](TimeNs t) -> std::optional<bool> {  // nullopt: no attack sent in it
    const Sample* a = at(r, t);
    const Sample* b = at(r, t + kWin);
    std::uint64_t sent = attack_delta(r, *a, *b, false), got = attack_delta(r, *a, *b, true);
    if (sent < 20) return std::nullopt;
    return got * 10 <= sent;
  };
  for (const auto& s : r.samples) {
    if (s.t_ns < *r.onset_ns || s.t_ns + kWin > end) continue;
    auto ok = window_ok(s.t_ns);
    if (!ok || !*ok) continue;
    bool held = true;
    int seen = 1;
    for (TimeNs t = s.t_ns + kWin; seen < kHoldWindows && t + kWin <= end; t += kWin) {
      auto w = window_ok(t);
      if (!w) continue;
      ++seen;
      if (!*w) {
        held = false;
        break;
      }
    }
    if (held) return std::max(s.t_ns, *r.onset_ns);
  }
  return std::nullopt;
}

Percentiles rtt_in(const RunData& r, TimeNs from, TimeNs to) {
  std::vector<double> v;
  for (const auto& s : r.rtt)
    if (s.sent_ns >= from && s.sent_ns < to) v.push_back(static_cast<double>(s.rtt_ns) / 1e6);
  if (v.empty()) return {};
  return {percentile(v, 0.5), percentile(v, 0.99)};
}

}  // namespace

std::optional<double> benign_goodput(const RunData& r, TimeNs from, TimeNs to) {
  if (to <= from) return std::nullopt;
  const Sample* a = at(r, from);
  const Sample* b = at(r, to);
  if (!a || !b || b->t_ns <= a->t_ns) return std::nullopt;
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < r.classes.size(); ++i) {
    const auto& c = r.classes[i];
    if (c.cls != TrafficClass::benign) continue;
    double offered;
    if (c.kind == TrafficKind::tcp) {
      TimeNs lo = std::max(a->t_ns, c.from_ns), hi = std::min(b->t_ns, c.until_ns);
      offered = hi > lo ? c.intended_rate * static_cast<double>(hi - lo) / 1e9 : 0;
    } else {
      offered = static_cast<double>(delta(a->offered, b->offered, i));
    }
    if (offered < 1) continue;
    sum += std::min(1.0, static_cast<double>(delta(a->served, b->served, i)) / offered);
    ++n;
  }
  if (!n) return std::nullopt;
  return sum / n;
}

RateSeries rate_series(const RunData& d, TimeNs bucket) {
  RateSeries s;
  s.arrived.resize(d.classes.size());
  const Sample* prev = nullptr;
  for (const auto& smp : d.samples) {
    if (prev && smp.t_ns - prev->t_ns < bucket) continue;
    if (prev) {
      double dt = static_cast<double>(smp.t_ns - prev->t_ns) / 1e9;
      s.t_s.push_back(static_cast<double>(smp.t_ns) / 1e9);
      double sent = 0;
      for (std::size_t c = 0; c < d.classes.size(); ++c) {
        s.arrived[c].push_back(static_cast<double>(delta(prev->arrived, smp.arrived, c)) / dt);
        if (c > 0 && d.classes[c].cls == TrafficClass::attack)
          sent += static_cast<double>(delta(prev->offered, smp.offered, c)) / dt;
      }
      s.attack_sent.push_back(sent);
      s.guard_dropped.push_back(static_cast<double>(smp.guard_dropped - prev->guard_dropped) / dt);
      s.rules.push_back(smp.rules);
      auto g = benign_goodput(d, prev->t_ns, smp.t_ns);
      s.benign_goodput.push_back(g ? *g : -1);
    }
    prev = &smp;
  }
  return s;
}

RunMetrics compute_metrics(const RunData& r) {
  RunMetrics m;
  const TimeNs onset = r.onset_ns ? *r.onset_ns : r.surge_window ? r.surge_window->first : r.duration_ns;
  const TimeNs attack_end = r.attack_end_ns ? *r.attack_end_ns : r.surge_window ? r.surge_window->second : r.duration_ns;
  m.onset_to_detect_ms = ms_after(r.onset_ns ? first_event(r, {"symptom"}, onset) : std::nullopt, r.onset_ns);
  m.onset_to_action_ms = ms_after(r.onset_ns ? first_event(r, {"action"}, onset) : std::nullopt, r.onset_ns);
  m.onset_to_drop_ms = ms_after(drop_time(r), r.onset_ns);

  // Phases: before skips the first second (connections and queues settle);
  // after starts a second after the attack so in-flight queues drain.
  m.benign_goodput_ratio.before = benign_goodput(r, std::min<TimeNs>(kNsPerSec, onset / 2), onset);
  m.benign_goodput_ratio.during = benign_goodput(r, onset, attack_end);
  m.benign_goodput_ratio.after = benign_goodput(r, attack_end + kNsPerSec, r.duration_ns);
  if (r.onset_ns && m.benign_goodput_ratio.before) {
    // Recovered: from this instant to the attack's end, every 500 ms window
    // has goodput >= 95% of before.
    constexpr TimeNs kWin = 500 * kNsPerMs, kStep = 10 * kNsPerMs;
    const double target = 0.95 * *m.benign_goodput_ratio.before;
    std::optional<TimeNs> recovered;
    for (TimeNs t = attack_end - kWin; t >= onset; t -= kStep) {
      auto g = benign_goodput(r, t, t + kWin);
      if (g && *g < target) break;
      recovered = t;
    }
    if (recovered) m.recovered_ms = static_cast<double>(*recovered - onset) / 1e6;
  }

  if (!r.samples.empty()) {
    const Sample* a = at(r, onset);
    const Sample& last = r.samples.back();
    m.attack_sent = attack_delta(r, *a, last, false);
    m.attack_delivered = attack_delta(r, *a, last, true);
    TimeNs on = 0;
    for (auto [a0, a1] : r.attack_windows) on += a1 - a0;
    if (on > 0 && m.attack_sent) m.attack_offered_pps = static_cast<double>(m.attack_sent) * 1e9 / static_cast<double>(on);
    if (m.attack_sent) m.attack_delivered_ratio = static_cast<double>(m.attack_delivered) / static_cast<double>(m.attack_sent);
    for (const auto& s : r.samples) m.rules_max = std::max(m.rules_max, s.rules);
  }
  m.benign_dropped = r.benign_dropped;
  m.false_blocks = r.false_block_sources;
  m.rules_left = r.rules_left;

  bool node_counts = false;
  for (const auto& e : r.events) {
    if (e.lane != "outcome") continue;
    node_counts = true;
    if (e.kind == "applied" || e.kind == "verified") ++m.actions_applied;
    if (e.kind == "rolled_back") ++m.actions_rolled_back;
    if (e.kind == "expired") ++m.actions_expired;
  }
  if (!node_counts) {  // a node without outcome records: count from the datapath
    for (const auto& e : r.events)
      if (e.lane == "action") ++m.actions_applied;
    for (const auto& rule : r.rules)
      if (rule.gone_ns && rule.expiry_ns && *rule.gone_ns >= *rule.expiry_ns) ++m.actions_expired;
  }
  for (const auto& rule : r.rules) {
    if (!rule.expiry_at_attack_end_ns) continue;
    double lag = rule.gone_ns ? static_cast<double>(*rule.gone_ns - *rule.expiry_at_attack_end_ns) / 1e6
                              : static_cast<double>(r.end_ns - *rule.expiry_at_attack_end_ns) / 1e6;
    m.rules_gone_lag_ms = std::max(m.rules_gone_lag_ms.value_or(lag), lag);
  }
  if (!r.rtt.empty()) {
    TimeNs from = r.bulk_window ? r.bulk_window->first : onset;
    TimeNs to = r.bulk_window ? r.bulk_window->second : attack_end;
    m.rtt_before_ms = rtt_in(r, kNsPerSec, from);
    m.rtt_during_ms = rtt_in(r, from, to);
    m.rtt_late_ms = rtt_in(r, from + (to - from) / 2, to);
    m.rtt_after_ms = rtt_in(r, to + kNsPerSec, r.duration_ns);
  }
  return m;
}

}  // namespace reflex::sim
