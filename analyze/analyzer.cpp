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
// power sets how fast it saturates: r^k / (1 + r^k).
double score_from_ratio(double ratio, double power = 1.0) {
  if (!(ratio > 0)) return 0.0;
  const double r = std::pow(ratio, power);
  return std::clamp(r / (1.0 + r), 0.0, 1.0);
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


// The value a hysteresis sees from a gated signal: itself when the gate is
// open, else held below the raise level (it can still clear).
double gated(double value, bool open, const HysteresisConfig& h) {
  return open ? value : std::min(value, std::nextafter(h.raise, 0.0));
}

// Without history (the first ticks after a start) only what the datapath
// already drops is judged (see dropped_mostly), against the fastest talker of
// the bulk: rates sorted from the top, the bulk starts below
// the widest gap between neighbours if that gap is at least `gap` (the
// sources above it stand apart from everyone else), else it is everyone.
// Benign rates spread over decades have no such gap; a flood above them does.
double bulk_top(std::vector<double> r, double gap) {
  if (r.empty()) return 0;
  std::sort(r.begin(), r.end(), std::greater<>());
  std::size_t cut = 0;
  double widest = gap;
  for (std::size_t i = 0; i + 1 < r.size(); ++i)
    if (r[i + 1] > 0 && r[i] / r[i + 1] >= widest) {
      widest = r[i] / r[i + 1];
      cut = i + 1;
    }
  return r[cut];
}

// Most of what it sent was dropped by a rule: a source or network the loop
// had judged before a restart (the rules stay pinned through it).
template <typename T>
bool dropped_mostly(const T& t) {
  return t.dropped > 0 && 2 * t.dropped >= t.packets;
}

// A per-interface host list (sorted by prefix): the first entry not before p,
// and p's entry (or end).
template <typename List>
auto lower_host(List& list, const Prefix& p) {
  return std::lower_bound(list.begin(), list.end(), p, [](const auto& e, const Prefix& q) { return e.first < q; });
}
template <typename List>
auto find_host(List& list, const Prefix& p) {
  auto it = lower_host(list, p);
  return it != list.end() && it->first == p ? it : list.end();
}

double bulk_top(const std::vector<const TalkerObservation*>& talkers, double gap) {
  std::vector<double> r;
  for (const auto* t : talkers) r.push_back(t->pps);
  return bulk_top(std::move(r), gap);
}

}  // namespace

Analyzer::Analyzer(AnalyzerConfig config) : c_(config) {}

void Analyzer::TalkerBaseline::decay(TimeNs now, double envelope_s) {
  if (ticks > 0 && now > ts) envelope *= std::exp(-static_cast<double>(now - ts) * kNsToS / envelope_s);
}

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
  analyze_networks(obs, level);
  drop_overlapping_floods(level);
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
      // The share through the series detector (SignalGate, learning ordinary
      // ticks only): once it has a baseline, the share raises only when the
      // detector finds it unusual for this interface and reason, or at the
      // critical share; before that (warm-up), the absolute levels alone, as a
      // floor the policies rely on. A tick too quiet to judge is not a row.
      bool open = true;
      double baseline = c_.drop_rate.raise;
      bool learned = false;
      if (denom >= c_.drop_min_packets) {
        SignalGate& g = st.drops.try_emplace(reason).first->second;
        learned = g.trusted();
        const bool unusual = g.open(static_cast<double>(ts) * kNsToS, rate, c_.drop_rate.clear / 2, !h.active(),
                                    c_.drop_rate.raise_after + 1);
        open = !learned || unusual || rate >= c_.drop_rate_critical || h.active();
        if (learned) baseline = g.baseline();
      }
      if (!h.update(gated(rate, open, c_.drop_rate), c_.drop_rate, ts)) return;
      Symptom s;
      s.kind = SymptomKind::drop_rate_high;
      s.subject.iface = name;
      s.subject.reason = reason;
      s.severity = rate >= c_.drop_rate_critical ? Severity::critical : Severity::warning;
      s.score = score_from_ratio(rate / c_.drop_rate.raise);
      s.evidence = {rate, baseline, rate / c_.drop_rate.raise,
                    fmt("%.0f of %.0f packets dropped", drops, denom) + (reason.empty() ? "" : " (" + reason + ")") +
                        (learned ? fmt(", baseline %.2f%% (floored at %.1f%%)", 100 * baseline, 50 * c_.drop_rate.clear)
                                 : std::string(", no baseline yet"))};
      s.since_ns = h.since();
      s.ts_ns = ts;
      out.push_back(std::move(s));
    };
    judge("", total_drops);
    for (const auto& [reason, d] : by_reason) judge(reason, d);
  }

  // latency_high: p99 against its baseline (SignalGate: the series detector,
  // learning ordinary ticks only); the ratio raises only when the detector
  // found the jump unusual for this path, or at the critical ratio.
  if (now.rtt && now.rtt->samples >= c_.latency_min_samples && now.rtt->p99_us > 0) {
    const double p99 = now.rtt->p99_us;
    auto& h = hysteresis(SymptomKind::latency_high, name);
    const bool trusted = st.latency.trusted();
    const double baseline = trusted ? st.latency.baseline() : p99;
    const double ratio = trusted && p99 >= c_.latency_min_us ? p99 / baseline : 1.0;
    const bool open = st.latency.open(static_cast<double>(ts) * kNsToS, p99, c_.latency_min_us / 4, !h.active(),
                                      c_.latency_ratio.raise_after + 1);
    const bool active = h.update(gated(ratio, open || ratio >= c_.latency_critical_ratio || h.active(), c_.latency_ratio),
                                 c_.latency_ratio, ts);
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

  // loss_high: TCP retransmits on the path, as a share of the segments sent
  // when the probe counts them (else per second against loss_rate_floor), with
  // the same gate: a path that always retransmits a little learns it.
  if (now.retrans) {
    const RetransSummary& r = *now.retrans;
    const bool share = r.segments_per_s > 0;
    auto& h = hysteresis(SymptomKind::loss_high, name);
    const double volume = share ? r.segments_per_s : r.per_s;
    if (volume * std::max(dt, 0.0) >= (share ? c_.loss_min_segments : 0.0) && have_prev) {
      const double level = share ? r.per_s / r.segments_per_s : r.per_s / c_.loss_rate_floor * c_.loss.raise;
      const bool trusted = st.loss.trusted();
      const double floor = share ? c_.loss.clear / 2 : c_.loss_rate_floor / 2;
      const double x = share ? level : r.per_s;
      const double baseline = trusted ? st.loss.baseline() : x;
      const bool open = st.loss.open(static_cast<double>(ts) * kNsToS, x, floor, !h.active(), c_.loss.raise_after + 1);
      const bool active =
          h.update(gated(level, open || level >= c_.loss_critical || h.active(), c_.loss), c_.loss, ts);
      if (active) {
        Symptom s;
        s.kind = SymptomKind::loss_high;
        s.subject.iface = name;
        s.severity = level >= c_.loss_critical ? Severity::critical : Severity::warning;
        s.score = score_from_ratio(level / c_.loss.raise);
        s.evidence = {x, baseline, level / c_.loss.raise,
                      share ? fmt("%.1f%% of TCP segments retransmitted (%.0f/s), baseline %.2f%%", 100 * level, r.per_s,
                                  100 * baseline)
                            : fmt("%.0f TCP retransmits/s, baseline %.1f/s", r.per_s, baseline)};
        s.since_ns = h.since();
        s.ts_ns = ts;
        out.push_back(std::move(s));
      }
    } else if (h.active()) {
      Subject subject;
      subject.iface = name;
      hold(SymptomKind::loss_high, subject, ts, out);
    }
  }

  // Received traffic through the detector: the gate of a network's marginal
  // flood (analyze_networks), and context (traffic()).
  // Rates from the Monitor, else from the counters' deltas; idle ticks are
  // not rows (log space needs a rate).
  {
    double pps = now.rx_pps, bps = now.rx_bps;
    if (pps <= 0 && have_prev && dt > 0) {
      pps = delta(now.rx_packets, st.last.rx_packets) / dt;
      bps = 8 * delta(now.rx_bytes, st.last.rx_bytes) / dt;
    }
    st.traffic_unusual = false;
    if (pps > 0) {
      const double t = static_cast<double>(ts) * kNsToS;
      // Open for as long as a network's flood needs to confirm its raise.
      st.traffic_unusual = st.pps.open(t, pps, 1.0, true, c_.flood.raise_after + 2);
      st.bps.open(t, std::max(bps, 1.0), 1.0, true, 1);
      st.traffic_seen = true;
      st.last_pps = pps;
      st.last_bps = bps;
    }
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

std::optional<Analyzer::Traffic> Analyzer::traffic(const std::string& iface) const {
  auto it = ifaces_.find(iface);
  if (it == ifaces_.end() || !it->second.traffic_seen) return std::nullopt;
  const IfaceState& st = it->second;
  Traffic t;
  t.pps = st.last_pps;
  t.bps = st.last_bps;
  t.pps_baseline = st.pps.baseline();
  t.bps_baseline = st.bps.baseline();
  t.pps_score = st.pps.score();
  t.bps_score = st.bps.score();
  t.trusted = st.pps.trusted() && st.bps.trusted();
  return t;
}

std::vector<Prefix> Analyzer::covers_of(const std::string& iface, const std::vector<Prefix>& attackers,
                                        const std::vector<Prefix>& benign, TimeNs now) {
  auto& held = covers_[iface];
  const auto hold_ns = static_cast<TimeNs>(c_.cover_hold_s * 1e9);
  std::erase_if(held, [&](const auto& kv) { return now - kv.second > hold_ns; });
  std::vector<Prefix> out, rest;
  for (const Prefix& a : attackers) {
    auto it = std::find_if(held.begin(), held.end(), [&](const auto& kv) { return kv.first.contains(a); });
    // A benign host seen inside it since ends it: the cover is found afresh.
    if (it != held.end() && std::any_of(benign.begin(), benign.end(), [&](const Prefix& b) {
          return b.family == it->first.family && it->first.contains(b);
        })) {
      held.erase(it);
      it = held.end();
    }
    if (it == held.end()) {
      rest.push_back(a);
      continue;
    }
    it->second = now;
    out.push_back(it->first);
  }
  for (const Prefix& p : cover_without(rest, benign, c_.cover)) {
    out.push_back(p);
    if (!p.is_host()) held[p] = now;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (held.empty()) covers_.erase(iface);
  return out;
}

void Analyzer::analyze_talkers(const Observation& obs, std::vector<Symptom>& out) {
  // Group this tick's talkers by interface.
  std::map<std::string, std::vector<const TalkerObservation*>> by_iface;
  for (const auto& t : obs.talkers) by_iface[t.iface].push_back(&t);
  // Interfaces with a flood still active must be judged even if no talker is
  // listed this tick (the flood stopped): their sources then count as quiet.
  for (const auto& [iface, list] : sources_)
    if (std::any_of(list.begin(), list.end(), [](const auto& e) { return e.second.flood.active(); })) by_iface[iface];

  for (auto& [iface, talkers] : by_iface) {
    TalkerBaseline& base = talker_base_[iface];
    // The reference a source is judged against: the fastest benign source the
    // interface has had, forgotten over flood_envelope_s. A source new this
    // tick has no history of its own; the interface's per-source rates do.
    base.decay(obs.ts_ns, c_.flood_envelope_s);
    //
    // Without history (a start with traffic already flowing) a source that
    // stands apart from the rest is a heavy client as often as a flood, and
    // restarts are far more common than attacks at the moment of a restart:
    // what passes is learned as benign, and only what a rule already drops
    // (the attack the loop knew before it restarted) is judged, so it stays
    // raised and its rule stays. A flood already running, never judged, when
    // the daemon first starts is learned too: a blind spot until the
    // envelope decays, taken over blocking a backup client on every restart.
    const bool history = base.ticks >= c_.benign_after_ticks;
    const double floor_ref = c_.flood_min_pps / c_.flood.raise;
    const double reference = std::max(history ? base.envelope : bulk_top(talkers, c_.flood.raise), floor_ref);
    auto judged = [&](const TalkerObservation* t) { return history || (t && dropped_mostly(*t)); };

    // This tick's talkers by source (a source listed twice: its last line),
    // a sorted vector: it is made and dropped every tick. The talkers point
    // into the Observation in listing order, so the pointer breaks ties as
    // a stable sort would (without its buffer).
    std::vector<std::pair<Prefix, const TalkerObservation*>> now;
    now.reserve(talkers.size());
    for (const auto* t : talkers) now.emplace_back(t->source, t);
    std::sort(now.begin(), now.end(), [](const auto& a, const auto& b) {
      if (const auto c = a.first <=> b.first; c != 0) return c < 0;
      return std::less<>()(a.second, b.second);
    });
    auto listed = [&](const Prefix& p) -> const TalkerObservation* {
      auto it = std::upper_bound(now.begin(), now.end(), p, [](const Prefix& q, const auto& e) { return q < e.first; });
      return it != now.begin() && std::prev(it)->first == p ? std::prev(it)->second : nullptr;
    };
    std::vector<Prefix> attackers, benign;
    double benign_max = 0;
    // Hosts of a flood cover still held teach nothing about benign rates: a
    // hit-and-run attacker's first, partial tick would otherwise raise the
    // reference until the next attackers no longer stand out.
    const auto hold_ns = static_cast<TimeNs>(c_.cover_hold_s * 1e9);
    const auto covers_it = covers_.find(iface);
    auto in_held_cover = [&](const Prefix& p) {
      if (covers_it == covers_.end()) return false;
      return std::any_of(covers_it->second.begin(), covers_it->second.end(), [&](const auto& kv) {
        return obs.ts_ns - kv.second <= hold_ns && kv.first.contains(p);
      });
    };
    auto recently_flooded = [&](const SourceState& s) {
      return s.flooded_ns != 0 && obs.ts_ns - s.flooded_ns <= hold_ns;
    };
    auto learn = [&](const Prefix& p, const SourceState& s, double pps) {
      if (!recently_flooded(s) && !in_held_cover(p)) benign_max = std::max(benign_max, pps);
    };
    Sources& list = sources_[iface];
    for (auto& [host, s] : list) {
      const TalkerObservation* t = listed(host);
      if (!t && !s.flood.active()) continue;
      const double pps = t ? t->pps : 0.0;
      s.pps = pps;
      s.ratio = pps >= c_.flood_min_pps && judged(t) ? pps / reference : 0.0;
      // A source known benign is judged against its own series too: short of
      // the critical level, it raises only when its rate is unusual for it
      // (a client that bursts every minute learns its bursts). Rows are the
      // ticks it is listed; it learns while not flooding.
      bool open = true;
      if (t) {
        if (!s.gate && s.quiet_ticks >= c_.benign_after_ticks && gated_sources_ < c_.max_gated_sources) {
          s.gate.emplace();
          ++gated_sources_;
        }
        if (s.gate) {
          const bool learned = s.gate->trusted();
          const bool unusual = s.gate->open(static_cast<double>(obs.ts_ns) * kNsToS, pps, c_.flood_min_pps / c_.flood.raise,
                                            !s.flood.active(), c_.flood.raise_after + 1);
          open = !learned || unusual || critical_flood(s.ratio, pps) || s.flood.active();
        }
      }
      if (s.flood.update(gated(s.ratio, open, c_.flood), c_.flood, obs.ts_ns)) {
        s.quiet_ticks = 0;
        s.flooded_ns = obs.ts_ns;
        attackers.push_back(host);
      } else {
        ++s.quiet_ticks;
        if (t && s.ratio < c_.flood.raise) learn(host, s, pps);
      }
    }
    for (const auto* t : talkers) {
      auto it = lower_host(list, t->source);
      if (it != list.end() && it->first == t->source) {
        it->second.last_seen = obs.ts_ns;
        continue;
      }
      it = list.emplace(it, t->source, SourceState{});
      ++tracked_sources_;
      SourceState& s = it->second;
      s.last_seen = obs.ts_ns;
      s.first_seen = obs.ts_ns;
      s.pps = t->pps;
      s.ratio = t->pps >= c_.flood_min_pps && judged(t) ? t->pps / reference : 0.0;
      if (s.flood.update(s.ratio, c_.flood, obs.ts_ns)) {
        s.flooded_ns = obs.ts_ns;
        attackers.push_back(t->source);
      } else {
        s.quiet_ticks = 1;
        if (s.ratio < c_.flood.raise) learn(t->source, s, t->pps);
      }
    }
    // Learn after judging: this tick's benign rates widen the envelope.
    base.envelope = std::max(base.envelope, benign_max);
    base.ts = obs.ts_ns;
    if (!talkers.empty()) ++base.ticks;

    // Benign: sources seen quiet for a while (now or before), on this
    // interface; an attacker that paused is not one while its cover is held.
    for (const auto& [host, s] : list)
      if (!s.flood.active() && s.quiet_ticks >= c_.benign_after_ticks && !recently_flooded(s)) benign.push_back(host);

    for (const Prefix& p : covers_of(iface, attackers, benign, obs.ts_ns)) {
      double pps = 0, ratio = 0;
      int n = 0;
      TimeNs since = obs.ts_ns;
      for (const Prefix& a : attackers)
        if (p.contains(a)) {
          const SourceState& s = find_host(list, a)->second;
          pps += s.pps;
          ratio = std::max(ratio, s.ratio);
          since = std::min(since, s.flood.since());
          ++n;
        }
      // The prefix as a whole against the reference (a /24 of hosts each just
      // past the raise level is a stronger flood than any one of them).
      ratio = std::max(ratio, pps / reference);
      Symptom s;
      s.kind = SymptomKind::flood;
      s.subject.iface = iface;
      s.subject.prefix = p;
      s.severity = critical_flood(ratio, pps) ? Severity::critical : Severity::warning;
      s.score = score_from_ratio(ratio / c_.flood.raise, c_.flood_score_power);
      s.evidence = {pps, reference, ratio, {}};
      s.evidence.detail = fmt("%.0f sources, %.0f pps, %.1fx ", n, pps, ratio) +
                          (history ? fmt("the fastest benign source (%.0f pps)", reference)
                                   : fmt("the median talker (%.0f pps; no history yet, dropped by a rule)", reference));
      s.since_ns = since;
      s.ts_ns = obs.ts_ns;
      out.push_back(std::move(s));
    }
  }

  // Bound memory: forget the sources not seen for longest.
  if (tracked_sources_ > c_.max_tracked_sources) {
    std::vector<std::pair<TimeNs, std::pair<std::string, Prefix>>> age;
    for (const auto& [iface, list] : sources_)
      for (const auto& [host, s] : list) age.emplace_back(s.last_seen, std::pair{iface, host});
    std::sort(age.begin(), age.end());
    for (std::size_t i = 0; i < age.size() - c_.max_tracked_sources; ++i) {
      Sources& list = sources_[age[i].second.first];
      auto it = find_host(list, age[i].second.second);
      if (it->second.gate) --gated_sources_;
      list.erase(it);
      --tracked_sources_;
    }
  }
}

void Analyzer::analyze_networks(const Observation& obs, std::vector<Symptom>& out) {
  std::map<std::string, std::vector<const PrefixTalkerObservation*>> by_iface;
  for (const auto& n : obs.prefix_talkers) by_iface[n.iface].push_back(&n);
  for (const auto& [key, n] : networks_)
    if (n.flood.active()) by_iface[key.first];

  for (auto& [iface, nets] : by_iface) {
    TalkerBaseline& base = network_base_[iface];
    base.decay(obs.ts_ns, c_.flood_envelope_s);
    const bool history = base.ticks >= c_.benign_after_ticks;
    double reference = c_.flood_min_pps / c_.flood.raise;
    if (history) {
      reference = std::max(reference, base.envelope);
    } else {
      std::vector<double> r;
      for (const auto* n : nets) r.push_back(n->pps);
      reference = std::max(reference, bulk_top(std::move(r), c_.flood.raise));
    }
    // Short of the critical level a network's flood needs the interface's
    // traffic to be unusual for it (a network that grows slowly is a trend,
    // not an attack); before the interface has a baseline, the levels alone.
    auto ifs = ifaces_.find(iface);
    const bool traffic_open = ifs == ifaces_.end() || !ifs->second.pps.trusted() || ifs->second.traffic_unusual;

    std::map<Prefix, const PrefixTalkerObservation*> now;
    for (const auto* n : nets) now[n->prefix] = n;
    for (const auto* n : nets) networks_.try_emplace({iface, n->prefix});
    double benign_max = 0;
    for (auto& [key, st] : networks_) {
      if (key.first != iface) continue;
      auto it = now.find(key.second);
      if (it == now.end() && !st.flood.active()) continue;
      const double pps = it == now.end() ? 0.0 : it->second->pps;
      const std::uint32_t hosts = it == now.end() ? 0 : it->second->sources;
      st.pps = pps;
      st.sources = hosts;
      if (it != now.end()) st.last_seen = obs.ts_ns;
      const bool judged = pps >= c_.flood_min_pps && hosts >= c_.flood_network_min_sources &&
                          pps / hosts >= c_.flood_network_min_host_pps &&
                          (history || (it != now.end() && dropped_mostly(*it->second)));
      st.ratio = judged ? pps / reference : 0.0;
      const bool open = traffic_open || critical_flood(st.ratio, pps) || st.flood.active();
      if (st.flood.update(gated(st.ratio, open, c_.flood), c_.flood, obs.ts_ns)) {
        st.quiet_ticks = 0;
        if (!st.first_raised) st.first_raised = st.flood.since();
        continue;
      }
      ++st.quiet_ticks;
      if (it != now.end() && st.ratio < c_.flood.raise) benign_max = std::max(benign_max, pps);
    }
    base.envelope = std::max(base.envelope, benign_max);
    base.ts = obs.ts_ns;
    if (!nets.empty()) ++base.ticks;

    for (const auto& [key, st] : networks_) {
      if (key.first != iface || !st.flood.active()) continue;
      const Prefix& net = key.second;
      // A host of it that was a quiet client before the network first rose:
      // the network is not all attacker, and blocking it would block that
      // host. (Before its first episode, not this one: the hosts of a pulsing
      // flood seen in the first pulse are quiet in the gaps.)
      // Its flooding hosts, if any stand out, are the per-source judge's.
      bool has_client = false;
      Prefix first_host = net;  // hosts sort by address after the family and length
      first_host.len = static_cast<std::uint8_t>(net.max_len());
      if (const auto hosts = sources_.find(iface); hosts != sources_.end()) {
        const Sources& list = hosts->second;
        for (auto s = lower_host(list, first_host); s != list.end() && net.contains(s->first); ++s)
          if (!s->second.flood.active() && s->second.quiet_ticks >= c_.benign_after_ticks &&
              s->second.first_seen < st.first_raised) {
            has_client = true;
            break;
          }
      }
      if (has_client) continue;
      Symptom s;
      s.kind = SymptomKind::flood;
      s.subject.iface = iface;
      s.subject.prefix = net;
      s.severity = critical_flood(st.ratio, st.pps) ? Severity::critical : Severity::warning;
      s.score = score_from_ratio(st.ratio / c_.flood.raise, c_.flood_score_power);
      s.evidence = {st.pps, reference, st.ratio, {}};
      s.evidence.detail = fmt("%.0f hosts of the network, %.0f pps together, %.1fx ", st.sources, st.pps, st.ratio) +
                          (history ? fmt("the fastest benign network (%.0f pps)", reference)
                                   : fmt("the bulk of the networks (%.0f pps; no history yet, dropped by a rule)", reference)) +
                          (traffic_open && ifs != ifaces_.end() && ifs->second.pps.trusted()
                               ? fmt(", received rate unusual (%.0f pps, baseline %.0f)", ifs->second.last_pps,
                                     ifs->second.pps.baseline())
                               : std::string());
      s.since_ns = st.flood.since();
      s.ts_ns = obs.ts_ns;
      out.push_back(std::move(s));
    }
  }

  // Bound memory like the sources: forget the networks not seen for longest.
  if (networks_.size() > c_.max_tracked_sources) {
    std::vector<std::pair<TimeNs, std::pair<std::string, Prefix>>> age;
    for (const auto& [k, n] : networks_)
      if (!n.flood.active()) age.emplace_back(n.last_seen, k);
    std::sort(age.begin(), age.end());
    const std::size_t excess = networks_.size() - c_.max_tracked_sources;
    for (std::size_t i = 0; i < std::min(excess, age.size()); ++i) networks_.erase(age[i].second);
  }
}

void Analyzer::drop_overlapping_floods(std::vector<Symptom>& level) const {
  // A flood from a network and one from hosts inside it (or the other way)
  // on the same interface are one attack: the planner gets one subject.
  auto overlaps = [](const Symptom& a, const Symptom& b) {
    return a.kind == SymptomKind::flood && b.kind == SymptomKind::flood && a.subject.iface == b.subject.iface &&
           a.subject.prefix && b.subject.prefix &&
           (a.subject.prefix->contains(*b.subject.prefix) || b.subject.prefix->contains(*a.subject.prefix)) &&
           *a.subject.prefix != *b.subject.prefix;
  };
  auto from_network = [this](const Symptom& s) {
    if (!s.subject.prefix) return false;
    auto it = networks_.find({s.subject.iface, *s.subject.prefix});
    return it != networks_.end() && it->second.flood.active();
  };
  std::vector<bool> drop(level.size(), false);
  for (std::size_t i = 0; i < level.size(); ++i) {
    if (level[i].kind != SymptomKind::flood || !from_network(level[i])) continue;
    const bool held = board_.find(SymptomKind::flood, level[i].subject) != nullptr;
    for (std::size_t j = 0; j < level.size(); ++j) {
      if (i == j || !overlaps(level[i], level[j])) continue;
      // The network's symptom stays only while it is the one on the board
      // and the hosts' is new; otherwise the hosts' (narrower) stays.
      const bool other_held = board_.find(SymptomKind::flood, level[j].subject) != nullptr;
      if (held && !other_held) drop[j] = true;
      else drop[i] = true;
    }
  }
  if (std::find(drop.begin(), drop.end(), true) == drop.end()) return;
  std::size_t k = 0;
  for (std::size_t i = 0; i < level.size(); ++i) {
    if (drop[i]) continue;
    if (k != i) level[k] = std::move(level[i]);
    ++k;
  }
  level.resize(k);
}

void Analyzer::analyze_map(const std::string& name, const MapObservation& m, TimeNs ts, std::vector<Symptom>& out) {
  MapState& st = maps_[name];
  double growth = m.growth_per_s;
  bool have_growth = false;
  if (st.seen && ts > st.ts) {
    const double dt = static_cast<double>(ts - st.ts) * kNsToS;
    st.growth.update((static_cast<double>(m.entries) - static_cast<double>(st.entries)) / dt);
    if (growth == 0) growth = st.growth.mean();
    have_growth = true;
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
  //
  // The growth runs through the series detector (SignalGate, learning every
  // tick: a map that churns, filling in bursts and emptying again, learns its
  // bursts). Once it has a baseline, the forecast lifts the pressure only when
  // this tick's growth is unusual for this map, while the symptom is active,
  // or when the map is full within a fifth of the forecast horizon (the
  // critical forecast). The fill levels stay absolute: a map's capacity does
  // not get larger by being often full.
  auto& h = hysteresis(SymptomKind::map_pressure, name);
  bool forecast_counts = true;
  if (have_growth) {
    const bool learned = st.growth_gate.trusted();
    // Growth that would take ten forecast horizons to fill the whole map is nothing.
    const double floor = static_cast<double>(m.max_entries) / (10 * c_.map_ttf_clear_s);
    const bool unusual = st.growth_gate.open(static_cast<double>(ts) * kNsToS, std::max(growth, 0.0), floor, true,
                                             c_.map_fill.raise_after + 1);
    forecast_counts = !learned || unusual || h.active() || ttf <= c_.map_ttf_raise_s / 5;
  }
  double pressure = fill;
  if (fill >= c_.map_ttf_min_fill && forecast_counts) {
    if (ttf <= c_.map_ttf_raise_s) pressure = std::max(pressure, c_.map_fill.raise);
    else if (ttf < c_.map_ttf_clear_s) pressure = std::max(pressure, (c_.map_fill.raise + c_.map_fill.clear) / 2);
  }
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
