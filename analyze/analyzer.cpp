#include "analyze/analyzer.h"

#include "analyze/prefix_cover.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace reflex::analyze {
namespace {

constexpr double kNsToS = 1e-9;

// Anomaly score in [0, 1] from how far a value is past its raise level:
// 0.5 at the raise level, approaching 1 far beyond it.
double score_from_ratio(double ratio) {
  if (!(ratio > 0)) return 0.0;
  return std::clamp(ratio / (1.0 + ratio), 0.0, 1.0);
}

// Cumulative counter delta; a counter that went backwards was reset.
double delta(std::uint64_t now, std::uint64_t before) {
  return now >= before ? static_cast<double>(now - before) : 0.0;
}

int mode_rank(AttachMode m) {
  switch (m) {
    case AttachMode::native: return 3;
    case AttachMode::generic: return 2;
    case AttachMode::tc: return 1;
    case AttachMode::none: break;
  }
  return 0;
}

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  double m = *mid;
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), mid));
  return m;
}

}  // namespace

Analyzer::Analyzer(AnalyzerConfig config) : c_(config) {}

Hysteresis& Analyzer::hysteresis(SymptomKind k, const std::string& subject, const std::string& detail) {
  return hyst_[Key{k, subject, detail}];
}

std::string symptom_id(const Symptom& s) {
  std::string id(to_string(s.kind));
  for (const std::string* part : {&s.subject.iface, &s.subject.map, &s.subject.reason})
    if (!part->empty()) id += ":" + *part;
  if (s.subject.prefix) id += ":" + s.subject.prefix->to_string();
  return id + "@" + std::to_string(s.since_ns);
}

std::vector<SymptomEvent> Analyzer::analyze(const Observation& obs) {
  std::vector<Symptom> level;
  for (const auto& [name, iface] : obs.interfaces) analyze_interface(name, iface, obs.ts_ns, level);
  analyze_talkers(obs, level);
  for (const auto& [name, m] : obs.maps) analyze_map(name, m, obs.ts_ns, level);
  return transitions(std::move(level), obs.ts_ns);
}

void Analyzer::hold(SymptomKind k, const Subject& subject, TimeNs ts, std::vector<Symptom>& out) const {
  if (const Symptom* s = board_.find(k, subject)) {
    out.push_back(*s);
    out.back().ts_ns = ts;
  }
}

std::vector<SymptomEvent> Analyzer::transitions(std::vector<Symptom> level, TimeNs ts) {
  std::vector<SymptomEvent> events;
  std::map<SymptomBoard::Key, bool> seen;
  for (Symptom& s : level) {
    const auto key = SymptomBoard::key_of(s);
    if (!seen.emplace(key, true).second) continue;  // one per kind and subject
    const Symptom* before = board_.find(s.kind, s.subject);
    if (!before) {
      s.id = symptom_id(s);
      reported_[key] = {s.severity, s.score};
      board_.refresh(s);
      events.push_back({SymptomTransition::raised, s});
      continue;
    }
    // Same episode: it keeps its id and the time it was raised.
    s.id = before->id;
    s.since_ns = before->since_ns;
    board_.refresh(s);
    auto& [severity, score] = reported_[key];
    if (s.severity != severity || std::abs(s.score - score) >= c_.update_score_step) {
      severity = s.severity;
      score = s.score;
      events.push_back({SymptomTransition::updated, s});
    }
  }
  std::vector<SymptomBoard::Key> gone;
  for (const auto& [key, s] : board_.entries())
    if (!seen.count(key)) gone.push_back(key);
  for (const auto& key : gone) {
    Symptom last = *board_.find(key.first, key.second);
    last.ts_ns = ts;
    SymptomEvent e{SymptomTransition::cleared, std::move(last)};
    board_.apply(e);
    reported_.erase(key);
    events.push_back(std::move(e));
  }
  return events;
}

void Analyzer::analyze_interface(const std::string& name, const InterfaceObservation& now, TimeNs ts,
                                 std::vector<Symptom>& out) {
  IfaceState& st = ifaces_[name];
  const bool have_prev = st.seen && ts > st.ts;
  const double dt = have_prev ? static_cast<double>(ts - st.ts) * kNsToS : 0.0;

  // drop_rate_high: kernel (unintended) drops against packets passed. Our own
  // XDP drop/rate-limit verdicts are excluded: they are the loop's actions.
  if (have_prev) {
    const auto& before = st.last;
    double passes = delta(now.xdp.pass, before.xdp.pass);
    if (passes == 0) passes = delta(now.rx_packets, before.rx_packets);
    double total_drops = delta(now.rx_dropped, before.rx_dropped);
    std::map<std::string, double> by_reason;
    for (const auto& [reason, n] : now.drops) {
      auto it = before.drops.find(reason);
      const double d = delta(n, it == before.drops.end() ? 0 : it->second);
      by_reason[reason] = d;
      total_drops += d;
    }
    auto judge = [&](const std::string& reason, double drops) {
      const double denom = drops + passes;
      const double rate = denom >= c_.drop_min_packets ? drops / denom : 0.0;
      auto& h = hysteresis(SymptomKind::drop_rate_high, name, reason);
      // Too little traffic to judge: hold the current state.
      if (denom < c_.drop_min_packets && h.active()) {
        Subject subject;
        subject.iface = name;
        subject.reason = reason;
        hold(SymptomKind::drop_rate_high, subject, ts, out);
        return;
      }
      if (!h.update(rate, c_.drop_rate, ts)) return;
      Symptom s;
      s.kind = SymptomKind::drop_rate_high;
      s.subject.iface = name;
      s.subject.reason = reason;
      s.severity = rate >= c_.drop_rate_critical ? Severity::critical : Severity::warning;
      s.score = score_from_ratio(rate / c_.drop_rate.raise);
      s.evidence = {rate, c_.drop_rate.raise, rate / c_.drop_rate.raise,
                    fmt("%.0f of %.0f packets dropped", drops, denom) + (reason.empty() ? "" : " (" + reason + ")")};
      s.since_ns = h.since();
      s.ts_ns = ts;
      out.push_back(std::move(s));
    };
    judge("", total_drops);
    for (const auto& [reason, d] : by_reason) judge(reason, d);
  }

  // latency_high: p99 against a log-space baseline that learns only while the
  // symptom is clear (so an incident does not become the new normal).
  if (now.rtt && now.rtt->samples >= c_.latency_min_samples && now.rtt->p99_us > 0) {
    const double p99 = now.rtt->p99_us;
    auto& h = hysteresis(SymptomKind::latency_high, name);
    const bool trusted = st.latency_ticks >= c_.latency_warmup;
    const double baseline = std::exp(st.log_p99.mean());
    const double ratio = trusted && p99 >= c_.latency_min_us ? p99 / baseline : 1.0;
    const bool active = h.update(ratio, c_.latency_ratio, ts);
    // Learn only ordinary ticks: not while raised, nor a tick at the raise level
    // that is still waiting for its confirmation.
    if (!active && ratio < c_.latency_ratio.raise) {
      st.log_p99.update(std::log(p99));
      ++st.latency_ticks;
    }
    if (active) {
      Symptom s;
      s.kind = SymptomKind::latency_high;
      s.subject.iface = name;
      s.severity = ratio >= c_.latency_critical_ratio ? Severity::critical : Severity::warning;
      s.score = score_from_ratio(ratio / c_.latency_ratio.raise);
      s.evidence = {p99, baseline, ratio, fmt("RTT p99 %.0f us, %.1fx its baseline %.0f us", p99, ratio, baseline)};
      s.since_ns = h.since();
      s.ts_ns = ts;
      out.push_back(std::move(s));
    }
  } else if (hysteresis(SymptomKind::latency_high, name).active()) {
    // Too few RTT samples this tick to judge: hold the current state.
    Subject subject;
    subject.iface = name;
    hold(SymptomKind::latency_high, subject, ts, out);
  }

  // attach_degraded: running below the wanted attach mode, or errors rising.
  {
    double badness = 0;
    std::string why;
    if (now.wanted_mode != AttachMode::none && mode_rank(now.mode) < mode_rank(now.wanted_mode)) {
      badness = 1.0 + (mode_rank(now.wanted_mode) - mode_rank(now.mode)) * 0.5;
      why = std::string("attached ") + std::string(to_string(now.mode)) + ", wanted " +
            std::string(to_string(now.wanted_mode));
    }
    if (!now.attach_errors.empty()) {
      badness = std::max(badness, 1.0);
      why += (why.empty() ? "" : "; ") + now.attach_errors.back();
    }
    double err_rate = 0;
    if (have_prev && dt > 0) {
      err_rate = (delta(now.rx_errors, st.last.rx_errors) + delta(now.tx_errors, st.last.tx_errors)) / dt;
      if (err_rate > 0) {
        badness = std::max(badness, err_rate / c_.attach_error_rate_raise);
        if (err_rate >= c_.attach_error_rate_raise) why += (why.empty() ? "" : "; ") + fmt("%.1f errors/s", err_rate);
      }
    }
    auto& h = hysteresis(SymptomKind::attach_degraded, name);
    if (h.update(badness, c_.attach, ts)) {
      Symptom s;
      s.kind = SymptomKind::attach_degraded;
      s.subject.iface = name;
      s.severity = now.mode == AttachMode::none && now.wanted_mode != AttachMode::none ? Severity::critical
                                                                                        : Severity::warning;
      s.score = score_from_ratio(badness);
      s.evidence = {static_cast<double>(mode_rank(now.mode)), static_cast<double>(mode_rank(now.wanted_mode)),
                    badness, why.empty() ? "recovering" : why};
      s.since_ns = h.since();
      s.ts_ns = ts;
      out.push_back(std::move(s));
    }
  }

  st.seen = true;
  st.ts = ts;
  st.last = now;
}

void Analyzer::analyze_talkers(const Observation& obs, std::vector<Symptom>& out) {
  // Group this tick's talkers by interface.
  std::map<std::string, std::vector<const TalkerObservation*>> by_iface;
  for (const auto& t : obs.talkers) by_iface[t.iface].push_back(&t);

  for (const auto& [iface, talkers] : by_iface) {
    std::vector<double> rates;
    for (const auto* t : talkers) rates.push_back(t->pps);
    const double med = median(rates);
    std::vector<double> dev;
    for (double r : rates) dev.push_back(std::abs(r - med));
    // MAD with a floor: among few, similar talkers it can be ~0.
    const double mad = std::max({median(dev) * 1.4826, 0.05 * med, 1.0});

    std::vector<Prefix> attackers, benign;
    double attack_pps = 0, max_z = 0;
    TimeNs since = obs.ts_ns;
    for (const auto* t : talkers) {
      auto [it, inserted] = sources_.try_emplace({iface, t->source});
      SourceState& s = it->second;
      s.last_seen = obs.ts_ns;
      s.pps = t->pps;
      s.z = (t->pps - med) / mad;
      const double z = t->pps >= c_.flood_min_pps ? s.z : 0.0;
      if (s.flood.update(z, c_.flood, obs.ts_ns)) {
        s.quiet_ticks = 0;
        attackers.push_back(t->source);
        attack_pps += t->pps;
        max_z = std::max(max_z, s.z);
        since = std::min(since, s.flood.since());
      } else {
        ++s.quiet_ticks;
      }
    }
    // Benign: sources seen quiet for a while (now or before), on this interface.
    for (const auto& [key, s] : sources_)
      if (key.first == iface && !s.flood.active() && s.quiet_ticks >= c_.benign_after_ticks)
        benign.push_back(key.second);

    for (const Prefix& p : cover_without(attackers, benign, c_.cover)) {
      double pps = 0, z = 0;
      int n = 0;
      for (const auto* t : talkers)
        if (p.contains(t->source) && sources_[{iface, t->source}].flood.active()) {
          pps += t->pps;
          z = std::max(z, sources_[{iface, t->source}].z);
          ++n;
        }
      Symptom s;
      s.kind = SymptomKind::flood;
      s.subject.iface = iface;
      s.subject.prefix = p;
      s.severity = z >= c_.flood_critical_z ? Severity::critical : Severity::warning;
      s.score = score_from_ratio(z / c_.flood.raise);
      s.evidence = {pps, med, z, fmt("%.0f sources, %.0f pps; median talker %.0f pps", n, pps, med)};
      s.since_ns = since;
      s.ts_ns = obs.ts_ns;
      out.push_back(std::move(s));
    }
    (void)attack_pps;
    (void)max_z;
  }

  // Bound memory: forget the sources not seen for longest.
  if (sources_.size() > c_.max_tracked_sources) {
    std::vector<std::pair<TimeNs, std::pair<std::string, Prefix>>> age;
    for (const auto& [k, s] : sources_) age.emplace_back(s.last_seen, k);
    std::sort(age.begin(), age.end());
    for (std::size_t i = 0; i < age.size() - c_.max_tracked_sources; ++i) sources_.erase(age[i].second);
  }
}

void Analyzer::analyze_map(const std::string& name, const MapObservation& m, TimeNs ts, std::vector<Symptom>& out) {
  MapState& st = maps_[name];
  double growth = m.growth_per_s;
  if (st.seen && ts > st.ts) {
    const double dt = static_cast<double>(ts - st.ts) * kNsToS;
    st.growth.update((static_cast<double>(m.entries) - static_cast<double>(st.entries)) / dt);
    if (growth == 0) growth = st.growth.mean();
  }
  st.seen = true;
  st.ts = ts;
  st.entries = m.entries;
  if (m.max_entries == 0) return;

  const double fill = static_cast<double>(m.entries) / static_cast<double>(m.max_entries);
  const double ttf = growth > 0 ? static_cast<double>(m.max_entries - std::min(m.entries, m.max_entries)) / growth
                                : INFINITY;
  // One pressure figure for the hysteresis: the fill ratio, lifted to the raise
  // level when the forecast says the map fills soon (and lowered back only when
  // the forecast is comfortably far).
  double pressure = fill;
  if (fill >= c_.map_ttf_min_fill) {
    if (ttf <= c_.map_ttf_raise_s) pressure = std::max(pressure, c_.map_fill.raise);
    else if (ttf < c_.map_ttf_clear_s) pressure = std::max(pressure, (c_.map_fill.raise + c_.map_fill.clear) / 2);
  }
  auto& h = hysteresis(SymptomKind::map_pressure, name);
  if (!h.update(pressure, c_.map_fill, ts)) return;
  Symptom s;
  s.kind = SymptomKind::map_pressure;
  s.subject.map = name;
  s.severity = fill >= c_.map_critical_fill || ttf <= c_.map_ttf_raise_s / 5 ? Severity::critical : Severity::warning;
  s.score = score_from_ratio(pressure / c_.map_fill.raise);
  s.evidence = {fill, c_.map_fill.raise, pressure / c_.map_fill.raise,
                std::isfinite(ttf) ? fmt("%.0f%% full, full in %.0f s at %.1f entries/s", fill * 100, ttf, growth)
                                   : fmt("%.0f%% full, not growing", fill * 100)};
  s.since_ns = h.since();
  s.ts_ns = ts;
  out.push_back(std::move(s));
}

}  // namespace reflex::analyze
