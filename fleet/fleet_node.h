#pragma once
// FleetNode: a node's part in the fleet, between its loop and its bus. The
// daemon and the fleet simulator both drive one per node, on the loop's
// thread, so the same code decides what is sent, what is believed and what
// is recorded:
//   - receive(): a message from the bus: decoded, judged by the PeerBook,
//     and recorded (received, or refused with the reason);
//   - symptom_events(): the peer_verdict transitions for this tick's Plan;
//   - planned() / outcomes(): actions and what became of them. An action
//     that is verified (its post-condition held) becomes a verdict, published
//     once, when it answered what this node saw itself: a local symptom, or
//     peers' verdicts corroborated by a local symptom (verdict_for). A block
//     taken on peers' word ahead of the attack is published when the attack
//     reaches this node while it is in force (symptom_events() sees the
//     local symptom), so the fleet's warning outlives its first reporters
//     while the attack keeps moving. A published action that is renewed
//     (what it answered still holds here) refreshes the verdict with the new
//     TTL, so peers keep believing it as long as this node still sees the
//     attack, and no longer. An action taken on peer verdicts that reached
//     the datapath is recorded as acted on.
// Every verdict sent, received, acted on or refused is a RecordKind::verdict
// event in Knowledge and a counter in stats() (and so /metrics).

#include "fleet/fleet_config.h"
#include "fleet/peer_book.h"
#include "fleet/transport.h"
#include "fleet/verdict.h"
#include "knowledge/action.h"
#include "knowledge/recorder.h"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace reflex::fleet {

struct FleetNodeOptions {
  std::string node_id;
  std::string subject_prefix = "reflex";
  bool publish = true, receive = true;
  TrustConfig trust;
  std::uint64_t first_seq = 1;  // the daemon starts from its wall clock, so a restart keeps seq increasing

  static FleetNodeOptions from(const FleetConfig& cfg, std::string node_id, TimeNs wall_now);
};

struct FleetStats {
  std::uint64_t sent = 0;          // verdicts handed to the bus
  std::uint64_t received = 0;      // messages received from peers (own echoes not counted)
  std::uint64_t acted_on = 0;      // actions taken on peer verdicts that reached the datapath (or dry-run)
  std::map<std::string, std::uint64_t> acted_by_action;  // block, rate_limit, shadow, ...
  PeerBookStats book;              // accepted, renewed, refused by reason
};

class FleetNode {
 public:
  // transport and recorder may be null (no bus; no record). They must outlive the node.
  FleetNode(FleetNodeOptions opts, VerdictTransport* transport, Recorder* recorder);

  void receive(const Inbound& m, TimeNs now, TimeNs wall_now, const plan::Guardrails& guardrails);
  std::vector<SymptomEvent> symptom_events(TimeNs now, std::span<const Symptom> local);
  std::vector<Symptom> active() const { return book_.active(); }
  void active(SymptomFill& out) const { book_.active(out); }

  // The plan of this tick and the symptoms it was made from (for the
  // severity and score a verdict carries).
  void planned(const Plan& plan, std::span<const Symptom> symptoms);
  void outcomes(std::span<const Outcome> outs, TimeNs now, TimeNs wall_now);

  const FleetStats& stats() const;
  const PeerBook& book() const { return book_; }
  const FleetNodeOptions& options() const { return o_; }
  std::string subject() const { return verdict_subject(o_.subject_prefix, o_.node_id); }
  std::string wildcard() const { return verdict_wildcard(o_.subject_prefix); }

 private:
  struct Known {
    Action action;
    std::optional<Symptom> seen;  // this node's own symptom behind it (for peer-driven actions: the corroborating one)
    bool published = false, acted = false;
    Outcome verified;             // the verified outcome (peer-driven ones ahead of the attack: awaiting a local symptom)
    TimeNs in_force_until = 0;
    // A renewal of a published action while what it answered still holds
    // here: the verified outcome it carries on, so the verdict is refreshed.
    std::optional<Outcome> refreshes;
  };
  // The published action of the same rule on the same target, if any.
  const Known* published_for(const Action& renewal) const;
  static std::optional<Symptom> corroborating(const Action& a, std::span<const Symptom> symptoms);
  void record(TimeNs now, const std::string& subject, std::string summary, boost::json::object body);
  void publish(const Known& k, const Outcome& o, TimeNs now, TimeNs wall_now);

  FleetNodeOptions o_;
  VerdictTransport* transport_;
  Recorder* recorder_;
  PeerBook book_;
  std::uint64_t seq_;
  std::map<std::string, Known> known_;  // by action id
  std::deque<std::string> known_order_;
  // Peer-driven actions verified before the attack arrived: id, and until when in force.
  struct Awaiting {
    std::string id;
    TimeNs in_force_until = 0;
  };
  std::vector<Awaiting> awaiting_;
  TimeNs wall_offset_ = 0;             // wall clock minus loop clock, as last told
  mutable FleetStats stats_;
};

}  // namespace reflex::fleet
