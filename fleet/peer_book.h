#pragma once
// PeerBook: what this node believes of its peers' verdicts, and the Plan
// input it makes of them. Pure (times come in as arguments, no I/O), so the
// daemon and the fleet simulator run the same trust rules.
//
// admit() judges one received verdict: who sent it (the subject's node, which
// the body must repeat), whether that peer is allowed and within its rate
// cap, whether it is fresh, and whether what it asks for is something the
// local guardrails allow at all (never_block, the widest prefix). A refused
// verdict changes nothing here; the caller records the refusal.
//
// update() turns the live verdicts into peer_verdict symptoms, one per prefix
// (every L4 narrowing of a prefix counts for it), as transitions like the
// Analyzer's:
//   evidence.value     distinct peers whose verdict on the prefix is live
//   severity           warning when only peers report it; critical when this
//                      node's own Analyzer also has a symptom on an
//                      overlapping prefix (the report is corroborated here)
//   score              the highest score the peers reported
// so a policy can say "shadow on one report, block when two peers agree or
// when it is seen here too" (policies/60-fleet.yaml). A verdict never raises
// severity by itself: one peer, however loud, only ever earns warning.

#include "fleet/fleet_config.h"
#include "fleet/verdict.h"
#include "knowledge/symptom.h"
#include "knowledge/symptom_fill.h"
#include "plan/policy.h"

#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::fleet {

// A symptom of this node's own Analyzer on a prefix: what can corroborate a
// peer's verdict (peer_verdict symptoms never corroborate each other).
inline bool local_evidence(const Symptom& s) { return s.kind != SymptomKind::peer_verdict && s.subject.prefix; }

// Why a verdict was refused. Appended, never reordered: metrics and records
// name them by string.
enum class Refusal {
  malformed,     // not a v1 verdict (decode_verdict's error)
  node_mismatch, // the body names another node than the subject it came on
  unknown_peer,  // not in trust.peers
  rate_capped,   // the peer sent more than its rate cap allows
  stale,         // its time is further than trust.max_age from ours
  never_block,   // its prefix overlaps a prefix the local guardrails protect
  too_wide,      // its prefix is wider than the local max_block_prefix
  capacity,      // the book is full (trust.max_entries)
  duplicate,     // a verdict with this (node, seq) was already taken
};
inline constexpr Refusal kAllRefusals[] = {Refusal::malformed, Refusal::node_mismatch, Refusal::unknown_peer,
                                           Refusal::rate_capped, Refusal::stale, Refusal::never_block,
                                           Refusal::too_wide, Refusal::capacity, Refusal::duplicate};
std::string_view to_string(Refusal r);

struct Admission {
  bool accepted = false;
  bool renewal = false;              // accepted, and the peer already had a live verdict on this key
  std::optional<Refusal> refusal;    // set when refused (and when ignored as our own: none, accepted false)
  std::string detail;                // one line for humans
};

struct PeerBookStats {
  std::uint64_t accepted = 0, renewed = 0, own = 0;
  std::uint64_t refused[std::size(kAllRefusals)] = {};
  std::uint64_t refused_total() const;
};

class PeerBook {
 public:
  PeerBook(TrustConfig trust, std::string self_id);

  // `subject_node`: the node the message's subject names. `now`: the loop
  // clock (for expiry and rate caps); `wall_now`: Unix time (for staleness).
  Admission admit(const Verdict& v, std::string_view subject_node, TimeNs now, TimeNs wall_now,
                  const plan::Guardrails& guardrails);
  // Records a message that could not be decoded, so it counts like the rest.
  Admission refuse_malformed(std::string_view subject_node, const std::string& why);

  // Expires what ran out by `now` and returns the symptom transitions since
  // the last call. `local`: the Analyzer's active symptoms (corroboration).
  std::vector<SymptomEvent> update(TimeNs now, std::span<const Symptom> local);
  // The peer_verdict symptoms active after the last update(), by prefix.
  std::vector<Symptom> active() const;
  void active(SymptomFill& out) const;

  std::size_t entries() const { return entries_; }
  std::size_t peers() const;  // distinct peers with at least one live verdict
  const PeerBookStats& stats() const { return stats_; }
  const std::string& self_id() const { return self_; }

 private:
  struct Entry {
    TimeNs received_ns = 0, expires_ns = 0;
    std::uint64_t seq = 0;
    Verdict verdict;
  };
  struct Bucket {
    double tokens = 0;
    TimeNs ts = 0;
    std::uint64_t last_seq = 0;
    bool seen = false;
  };
  Admission refuse(Refusal r, std::string detail);
  bool take_token(Bucket& b, TimeNs now);

  TrustConfig trust_;
  std::string self_;
  // prefix -> (L4 narrowing, node) -> entry
  std::map<Prefix, std::map<std::pair<L4Match, std::string>, Entry>> live_;
  std::map<std::string, Bucket> buckets_;
  // Active peer_verdict symptoms; each is stamped anew when rewritten, so
  // the loop copies and compares only the ones that changed.
  struct OnBoard {
    Symptom symptom;
    std::uint64_t stamp = 0;
  };
  std::map<Prefix, OnBoard> board_;
  // The board in order, flat, as active() reads it every tick (walking the
  // tree's nodes was most of its cost); remade when update() changes the
  // board. A copy starts without one (its pointers are into the other book's
  // board), and active() then walks the board itself.
  struct BoardIndex {
    std::vector<std::pair<std::uint64_t, const Symptom*>> entries;
    bool valid = false;
    BoardIndex() = default;
    BoardIndex(const BoardIndex&) {}
    BoardIndex& operator=(const BoardIndex&) {
      entries.clear();
      valid = false;
      return *this;
    }
  };
  BoardIndex index_;
  std::set<Prefix> dirty_;           // prefixes whose verdicts changed since the board was made
  std::size_t entries_ = 0;
  TimeNs next_expiry_ = 0;           // no entry expires before this (update() looks only then)
  TimeNs board_ts_ = 0;              // the last update's time: every symptom on the board is as of then
  // The local symptoms' prefixes the board's corroboration was judged on, and update()'s scratch.
  std::vector<Prefix> judged_local_, local_scratch_;
  PeerBookStats stats_;
};

}  // namespace reflex::fleet
