#include "sim/fleet/sim_node.h"

#include "plan/action_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace reflex::sim::fleet {

using reflex::fleet::Inbound;

SimNode::SimNode(NodeSetup setup, const NodeLoopFactory& make_loop) : s_(std::move(setup)), loop_(make_loop(dp_)) {
  if (s_.endpoint) {
    reflex::fleet::FleetNodeOptions o;
    o.node_id = id();
    fleet_.emplace(o, s_.endpoint, nullptr);
  }
  for (int vi : s_.traffic->visits_of(s_.index)) {
    const auto& v = s_.traffic->visits()[static_cast<std::size_t>(vi)];
    visit_index_.push_back(static_cast<int>(result_.visits.size()));
    result_.visits.push_back({v.attack, v.from, v.until, std::nullopt, 0, 0});
  }
  benign_sources_ = static_cast<std::size_t>(s_.scenario->benign.sources);
  for (std::size_t j = 0; j < benign_sources_; ++j)
    sources_.push_back({s_.traffic->benign_source(s_.index, static_cast<int>(j))});
  iface_.mode = AttachMode::native;
  iface_.wanted_mode = AttachMode::native;
  iface_.name = kSimIface;
  iface_.present = true;
  iface_.oper_up = true;
}

SimNode::SourceCount& SimNode::source(const Flow& f) {
  if (f.slot >= 0 && static_cast<std::size_t>(f.slot) < benign_sources_) return sources_[static_cast<std::size_t>(f.slot)];
  for (std::size_t i = benign_sources_; i < sources_.size(); ++i)
    if (sources_[i].source == f.source) return sources_[i];
  sources_.push_back({f.source});
  return sources_.back();
}

std::string SimNode::id() const { return "n" + std::to_string(s_.index); }

NodeCounts SimNode::counts(TimeNs now) const {
  NodeCounts c;
  c.loop = loop_->counts();
  c.model_rules = dp_.rules().size();
  for (const auto& m : dp_.rules()) c.live_model_rules += !m.rule.expires_ns || m.rule.expires_ns > now ? 1 : 0;
  c.sources = sources_.size();
  if (fleet_) {
    c.peer_entries = fleet_->book().entries();
    c.peer_symptoms = fleet_->active().size();
  }
  return c;
}

Observation SimNode::observe(TimeNs now, double dt) {
  Observation obs;
  obs.ts_ns = now;
  obs.interval_ns = seq_ == 0 ? 0 : static_cast<TimeNs>(dt * kNsPerSec);
  obs.seq = seq_++;
  double packets = 0, bytes = 0;
  for (const auto& c : sources_) packets += c.tick_packets;
  for (const auto& f : flows_) bytes += f.packets * s_.traffic->packet_bytes(f.attack >= 0, std::max(0, f.attack));
  iface_.rx_packets += static_cast<std::uint64_t>(std::llround(packets));
  iface_.rx_bytes += static_cast<std::uint64_t>(std::llround(bytes));
  iface_.rx_pps = packets / dt;
  iface_.rx_bps = bytes * 8 / dt;
  iface_.xdp = dp_.counts();
  iface_.xdp.bytes = iface_.rx_bytes;
  const auto& t = dp_.tick();
  iface_.xdp_rates = {(t.passed - t.shadowed) / dt, t.dropped / dt, t.rate_limited / dt, t.shadowed / dt};
  iface_.rules = dp_.rules().size();
  // The rules that moved, busiest first, as many as the Monitor reports
  // (monitor.top_rules, 10 by default).
  iface_.top_rules.clear();
  rule_order_.clear();
  for (const auto& m : dp_.rules())
    if (m.tick_packets > 0) rule_order_.push_back(&m);
  const std::size_t k = std::min(rule_order_.size(), kTopRules);
  std::partial_sort(rule_order_.begin(), rule_order_.begin() + static_cast<std::ptrdiff_t>(k), rule_order_.end(),
                    [](const ModelRule* a, const ModelRule* b) { return a->tick_packets > b->tick_packets; });
  for (std::size_t j = 0; j < k; ++j) {
    const ModelRule& m = *rule_order_[j];
    RuleObservation r;
    r.uid = m.uid;
    r.rule = m.text;
    r.packets = static_cast<std::uint64_t>(std::llround(m.packets));
    r.pps = m.tick_packets / dt;
    iface_.top_rules.push_back(std::move(r));
  }
  obs.interfaces.emplace(kSimIface, iface_);

  // Top talkers by this tick's rate, as the guard's talker table reports them.
  order_.clear();
  for (const auto& e : sources_)
    if (e.tick_packets > 0) order_.push_back(&e);
  const std::size_t n = std::min<std::size_t>(order_.size(), static_cast<std::size_t>(s_.scenario->top_talkers));
  std::partial_sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(n), order_.end(),
                    [](auto* a, auto* b) { return a->tick_packets > b->tick_packets; });
  obs.talkers.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = *order_[i];
    obs.talkers.push_back({kSimIface, c.source, static_cast<std::uint64_t>(std::llround(c.packets)),
                           static_cast<std::uint64_t>(std::llround(c.bytes)),
                           static_cast<std::uint64_t>(std::llround(c.dropped)), c.tick_packets / dt});
  }
  return obs;
}

void SimNode::lie(TimeNs now) {
  if (!s_.poison || !s_.endpoint || s_.lies.empty() || now < s_.poison->start) return;
  if (last_lie_ >= 0 && now - last_lie_ < s_.poison->every) return;
  last_lie_ = now;
  // A well-formed verdict, under its own name (it cannot publish as anyone
  // else), about a prefix that carries only benign traffic.
  reflex::fleet::Verdict v;
  v.node = id();
  v.seq = lie_seq_++;
  v.wall_ns = kSimEpochNs + now;
  v.prefix = s_.lies[next_lie_++ % s_.lies.size()];
  v.kind = SymptomKind::flood;
  v.severity = Severity::critical;
  v.score = 1.0;
  v.evidence = {50000, 100, 500, "fabricated"};
  v.action = reflex::fleet::VerdictAction::block;
  v.ttl_ns = 600 * kNsPerSec;
  s_.endpoint->publish(reflex::fleet::verdict_subject("reflex", v.node), reflex::fleet::encode(v));
  ++result_.false_verdicts_sent;
}

void SimNode::tick(TimeNs now, double dt, const std::vector<Inbound>& inbox) {
  flows_.clear();
  s_.traffic->flows(s_.index, now, dt, flows_);
  dp_.begin_tick(now, dt);
  for (auto& c : sources_) c.tick_packets = 0;
  std::vector<double> visit_packets(visit_index_.size()), visit_lost(visit_index_.size());
  Bin* bin = s_.timeline ? &s_.timeline->at(s_.index, now) : nullptr;
  for (const auto& f : flows_) {
    const auto v = dp_.judge(f);
    auto& c = source(f);
    const double bytes = f.packets * s_.traffic->packet_bytes(f.attack >= 0, std::max(0, f.attack));
    c.packets += f.packets;
    c.bytes += bytes;
    c.dropped += v.lost();
    c.tick_packets += f.packets;
    if (f.attack >= 0) {
      result_.attack_packets += f.packets;
      result_.attack_delivered += v.passed;
      // Which visit: the one of this attack covering now.
      for (std::size_t i = 0; i < visit_index_.size(); ++i) {
        auto& vr = result_.visits[static_cast<std::size_t>(visit_index_[i])];
        if (vr.attack == f.attack && now > vr.onset && now - static_cast<TimeNs>(dt * kNsPerSec) < vr.until) {
          vr.packets += f.packets;
          vr.delivered += v.passed;
          visit_packets[i] += f.packets;
          visit_lost[i] += v.lost();
          break;
        }
      }
      if (bin) {
        bin->attack_delivered += static_cast<float>(v.passed);
        bin->attack_dropped += static_cast<float>(v.lost());
      }
    } else {
      result_.benign_packets += f.packets;
      result_.benign_dropped += v.lost();
      if (bin) bin->benign_dropped += static_cast<float>(v.lost());
    }
  }
  for (std::size_t i = 0; i < visit_index_.size(); ++i) {
    auto& vr = result_.visits[static_cast<std::size_t>(visit_index_[i])];
    if (!vr.first_drop && visit_packets[i] > 0 && visit_lost[i] >= 0.5 * visit_packets[i]) vr.first_drop = now;
  }
  // Forget sources long gone (an attack that moved on), as the guard's table does.
  if (sources_.size() > benign_sources_ + 4 * static_cast<std::size_t>(s_.scenario->top_talkers))
    sources_.erase(std::remove_if(sources_.begin() + static_cast<std::ptrdiff_t>(benign_sources_), sources_.end(),
                                  [](const SourceCount& c) { return c.tick_packets == 0; }),
                   sources_.end());

  Observation obs = observe(now, dt);
  const auto& rep = loop_->step(std::move(obs), kSimEpochNs + now, inbox, fleet_ ? &*fleet_ : nullptr);
  if (s_.trace) {
    for (const auto& a : rep.actions)
      std::printf("%s t=%.0fs %s %s: %s (%s)\n", id().c_str(), static_cast<double>(now) / kNsPerSec,
                  fleet_ ? "on" : "off", a.id.c_str(), plan::describe(a.spec).c_str(), a.rationale.rule_id.c_str());
    for (const auto& o : rep.outcomes)
      std::printf("%s t=%.0fs %s %s -> %s %s\n", id().c_str(), static_cast<double>(now) / kNsPerSec,
                  fleet_ ? "on" : "off", o.action_id.c_str(), std::string(to_string(o.status)).c_str(),
                  o.detail.c_str());
  }
  for (const auto& o : rep.outcomes) {
    if (o.status != OutcomeStatus::applied) continue;
    for (const auto& a : rep.actions)
      if (a.id == o.action_id) ++result_.actions[std::string(plan::action_kind_name(a.spec))];
  }
  lie(now);
  if (s_.timeline) {
    auto& bin = s_.timeline->at(s_.index, now);
    for (const auto& m : dp_.rules())
      if (m.rule.verb != RuleVerb::allow && (!m.rule.expires_ns || m.rule.expires_ns > now)) bin.warned = true;
  }
  if (fleet_) {
    const auto& st = fleet_->stats();
    result_.verdicts_sent = st.sent;
    result_.verdicts_received = st.received;
    result_.verdicts_refused = st.book.refused_total();
    result_.verdicts_acted_on = st.acted_on;
  }
}

}  // namespace reflex::sim::fleet
