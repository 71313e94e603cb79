#include "fleet/fleet_node.h"

#include "plan/action_text.h"

#include <algorithm>

#include <boost/json.hpp>

namespace reflex::fleet {
namespace {

constexpr std::size_t kKnownActions = 4096;

}  // namespace

FleetNodeOptions FleetNodeOptions::from(const FleetConfig& cfg, std::string node_id, TimeNs wall_now) {
  FleetNodeOptions o;
  o.node_id = std::move(node_id);
  o.subject_prefix = cfg.subject_prefix;
  o.publish = cfg.publish;
  o.receive = cfg.receive;
  o.trust = cfg.trust;
  // Milliseconds since the epoch, times 1000: a restarted node's sequence
  // starts above anything it sent before, so peers never take it for a replay.
  o.first_seq = static_cast<std::uint64_t>(wall_now / kNsPerMs) * 1000;
  return o;
}

FleetNode::FleetNode(FleetNodeOptions opts, VerdictTransport* transport, Recorder* recorder)
    : o_(std::move(opts)), transport_(transport), recorder_(recorder), book_(o_.trust, o_.node_id), seq_(o_.first_seq) {}

void FleetNode::record(TimeNs now, const std::string& subject, std::string summary, boost::json::object body) {
  if (!recorder_) return;
  LoopEvent e;
  e.kind = RecordKind::verdict;
  e.ts_ns = now;
  e.subject = subject;
  e.summary = std::move(summary);
  e.body = std::move(body);
  recorder_->record_event(e);
}

void FleetNode::receive(const Inbound& m, TimeNs now, TimeNs wall_now, const plan::Guardrails& guardrails) {
  wall_offset_ = wall_now - now;
  if (!o_.receive) return;
  auto from = node_of_subject(o_.subject_prefix, m.subject);
  if (from && *from == o_.node_id) return;  // our own, echoed by the server
  ++stats_.received;
  const std::string sender = from ? *from : std::string("?");
  Admission a;
  auto v = decode_verdict(m.payload);
  if (!from) a = book_.refuse_malformed(sender, "subject " + m.subject + " is not a verdict subject");
  else if (!v) a = book_.refuse_malformed(sender, v.error().what);
  else a = book_.admit(*v, *from, now, wall_now, guardrails);

  boost::json::object body;
  body["from"] = sender;
  body["subject"] = m.subject;
  if (v) {
    body["verdict"] = boost::json::parse(encode(*v));
  }
  body["detail"] = a.detail;
  const std::string subject = v ? v->prefix.to_string() : sender;
  if (a.accepted) {
    body["direction"] = "received";
    body["renewal"] = a.renewal;
    record(now, subject, a.detail, std::move(body));
  } else if (a.refusal) {
    body["direction"] = "refused";
    body["reason"] = to_string(*a.refusal);
    record(now, subject, "refused (" + std::string(to_string(*a.refusal)) + "): " + a.detail, std::move(body));
  }
}

std::vector<SymptomEvent> FleetNode::symptom_events(TimeNs now, std::span<const Symptom> local) {
  auto events = book_.update(now, local);
  // Peer-driven actions verified before the attack reached this node: once
  // it does (a local symptom on the prefix, the action still in force), the
  // action is this node's own evidence too, and the fleet hears it from here.
  // Looked up only when a local symptom could corroborate one: a fleet that
  // warns ahead holds many of them for their whole TTL.
  std::erase_if(awaiting_, [&](const Awaiting& a) { return now >= a.in_force_until; });
  if (std::none_of(local.begin(), local.end(), local_evidence)) return events;
  for (auto it = awaiting_.begin(); it != awaiting_.end();) {
    auto k = known_.find(it->id);
    if (k == known_.end() || k->second.published || now >= k->second.in_force_until) {
      it = awaiting_.erase(it);
      continue;
    }
    if (auto s = corroborating(k->second.action, local)) {
      k->second.seen = *s;
      k->second.published = true;
      publish(k->second, k->second.verified, now, now + wall_offset_);
      it = awaiting_.erase(it);
      continue;
    }
    ++it;
  }
  return events;
}

std::optional<Symptom> FleetNode::corroborating(const Action& a, std::span<const Symptom> symptoms) {
  const auto target = plan::target_prefix(a.spec);
  if (!target) return std::nullopt;
  for (const auto& s : symptoms) {
    if (!local_evidence(s)) continue;
    if (s.subject.prefix->contains(*target) || target->contains(*s.subject.prefix)) return s;
  }
  return std::nullopt;
}

void FleetNode::planned(const Plan& plan, std::span<const Symptom> symptoms) {
  for (const auto& a : plan.actions) {
    if (!a.rationale.symptom) continue;  // overrides, reverts without a symptom: nothing to tell
    const bool from_peer = *a.rationale.symptom == SymptomKind::peer_verdict;
    const bool verdict_kind =
        std::holds_alternative<BlockPrefix>(a.spec) || std::holds_alternative<RateLimitPrefix>(a.spec);
    if (!from_peer && !verdict_kind) continue;
    Known k;
    k.action = a;
    if (from_peer) {
      // The local symptom that corroborated the peers, if any: one on a
      // prefix overlapping the action's.
      k.seen = corroborating(a, symptoms);
    } else {
      for (const auto& s : symptoms)
        if (s.kind == *a.rationale.symptom && s.subject == a.rationale.subject) k.seen = s;
    }
    if (a.rationale.decision == "renew" && (!from_peer || k.seen))
      if (const Known* prev = published_for(a)) k.refreshes = prev->verified;
    if (known_.emplace(a.id, std::move(k)).second) known_order_.push_back(a.id);
  }
  while (known_order_.size() > kKnownActions) {
    known_.erase(known_order_.front());
    known_order_.pop_front();
  }
}

const FleetNode::Known* FleetNode::published_for(const Action& renewal) const {
  const auto target = plan::target_key(renewal.spec);
  for (auto it = known_order_.rbegin(); it != known_order_.rend(); ++it) {
    auto k = known_.find(*it);
    if (k == known_.end() || k->first == renewal.id) continue;
    const Known& p = k->second;
    if (p.published && p.action.rationale.rule_id == renewal.rationale.rule_id && plan::target_key(p.action.spec) == target)
      return &p;
  }
  return nullptr;
}

void FleetNode::publish(const Known& k, const Outcome& o, TimeNs now, TimeNs wall_now) {
  auto v = verdict_for(k.action, o, k.seen ? &*k.seen : nullptr);
  if (!v) return;
  v->node = o_.node_id;
  v->seq = seq_++;
  v->wall_ns = wall_now;
  auto text = encode(*v);
  const std::string subj = subject();
  if (transport_) transport_->publish(subj, text);
  ++stats_.sent;
  boost::json::object body;
  body["direction"] = "sent";
  body["subject"] = subj;
  body["verdict"] = boost::json::parse(text);
  record(now, v->prefix.to_string(),
         "sent " + std::string(to_string(v->action)) + " " + v->prefix.to_string() + " to the fleet (" + k.action.id + ")",
         std::move(body));
}

void FleetNode::outcomes(std::span<const Outcome> outs, TimeNs now, TimeNs wall_now) {
  wall_offset_ = wall_now - now;
  for (const auto& o : outs) {
    auto it = known_.find(o.action_id);
    if (it == known_.end()) continue;
    Known& k = it->second;
    const bool from_peer = k.action.rationale.symptom == SymptomKind::peer_verdict;
    if (from_peer && !k.acted &&
        (o.status == OutcomeStatus::applied || o.status == OutcomeStatus::verified ||
         o.status == OutcomeStatus::dry_run)) {
      k.acted = true;
      ++stats_.acted_on;
      const auto name = std::string(plan::action_kind_name(k.action.spec));
      ++stats_.acted_by_action[name];
      boost::json::object body;
      body["direction"] = "acted_on";
      body["action_id"] = k.action.id;
      body["action"] = name;
      body["rule"] = k.action.rationale.rule_id;
      body["dry_run"] = o.status == OutcomeStatus::dry_run;
      body["evidence"] = k.action.rationale.evidence.detail;
      auto p = plan::target_prefix(k.action.spec);
      record(now, p ? p->to_string() : std::string(),
             "acted on peer verdicts: " + name + (p ? " " + p->to_string() : std::string()) + " (" +
                 k.action.rationale.evidence.detail + ")",
             std::move(body));
    }
    if (o_.publish && !k.published && k.refreshes &&
        (o.status == OutcomeStatus::applied || o.status == OutcomeStatus::verified)) {
      k.published = true;
      k.verified = *k.refreshes;
      publish(k, k.verified, now, wall_now);
      continue;
    }
    if (o_.publish && !k.published && o.status == OutcomeStatus::verified) {
      if (from_peer && !k.seen) {
        // Verified here before the attack arrived: it speaks for this node once the attack does.
        k.verified = o;
        k.in_force_until = k.action.ttl_ns ? now + k.action.ttl_ns : now + 3600 * kNsPerSec;
        awaiting_.push_back({k.action.id, k.in_force_until});
        continue;
      }
      k.published = true;
      k.verified = o;
      publish(k, o, now, wall_now);
    }
  }
}

const FleetStats& FleetNode::stats() const {
  stats_.book = book_.stats();
  return stats_;
}

}  // namespace reflex::fleet
