#pragma once
// Post-conditions: did an applied Action do what it was for, judged from the
// Observations before and after it (pure; no kernel, no clock).
//
//  block       the prefix's pass rate fell to at most block_max_pass of what
//              it was (with an L4 narrowing: by at least min_reduction)
//  rate_limit  the prefix passes at most pps per source (+ rate_tolerance)
//  shadow      the shadow rule sees the prefix's packets
//  aggregate   the interface holds fewer rules
//  rule_batch  every interface holds at least as many rules as the batch has
//              keys (an explicit list: no bystander or symptom test)
//  shape       the interface sends at most its rate (+ rate_tolerance)
//  attach_mode the guard is attached in the mode asked for, with no errors
//  swap_program the guard still judges what the interface receives
// and for every one of them: traffic outside the action's prefix did not fall
// by more than max_drop_fraction (the policy's allowance), and a symptom the
// action answers (latency, drops, loss) did not grow by worsen_factor.
//
// A harmed bystander or a worse symptom fails the check as soon as the
// window has settled; an effect not (yet) seen fails at the deadline.
// Rates below min_pps are too small to judge and count as holding.

#include "knowledge/action.h"
#include "knowledge/observation.h"
#include "knowledge/symptom.h"
#include "knowledge/time.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reflex::execute {

struct VerifyConfig {
  TimeNs settle_ns = 2 * kNsPerSec;     // the effect is judged no sooner than this after the change
  TimeNs deadline_ns = 10 * kNsPerSec;  // and must show by then
  TimeNs baseline_ns = 1 * kNsPerSec;   // the rates before a change, over at least this long
  double max_drop_fraction = 0.5;       // benign traffic may fall by at most this share
  double block_max_pass = 0.1;          // a block lets through at most this share of what passed before
  double min_reduction = 0.5;           // an L4-narrowed block or limit cuts the prefix's pass rate by this share
  double rate_tolerance = 0.1;          // a limit or shape holds within this share of its setting
  double min_pps = 20;                  // below this a packet rate is too small to judge
  double worsen_factor = 1.25;          // latency, drops or loss this much above their value at the change
};

// The counters of one tick that verification needs, cut from an Observation.
struct Traffic {
  struct Iface {
    bool present = false;
    AttachMode mode = AttachMode::none;
    std::uint64_t passed = 0, shadow = 0, judged = 0;  // guard verdicts, cumulative
    std::uint64_t rx_packets = 0, tx_bytes = 0;
    std::uint64_t rules = 0;
    std::vector<std::string> attach_errors;
  };
  struct Source {
    std::uint64_t packets = 0, dropped = 0;  // cumulative
    double pps = 0;                          // over the tick before
  };
  TimeNs ts = 0;
  std::map<std::string, Iface> ifaces;
  // (iface, host) -> counters, sorted by key, one per key: a flat list, as
  // one is cut every tick and kept for the baselines.
  using SourceKey = std::pair<std::string, Prefix>;
  std::vector<std::pair<SourceKey, Source>> sources;
  const Source* source(const SourceKey& key) const;

  static Traffic from(const Observation& obs);
  bool empty() const { return ifaces.empty(); }
};

// Rates over a window, for the interfaces an action touched and its prefix.
struct Rates {
  bool measured = false;       // both ends of the window saw the interfaces
  double seconds = 0;
  double prefix_pass_pps = 0;  // what the prefix's sources got through
  double prefix_sent_pps = 0;  // what they sent
  std::size_t prefix_sources = 0;
  // The same for the symptom's own sources (its subject's prefix), which may
  // be narrower than the action's: the rest of the traffic is bystanders'.
  double origin_pass_pps = 0;
  double pass_pps = 0;         // everything the guards passed
  double shadow_pps = 0;
  double judged_pps = 0, rx_pps = 0, tx_bps = 0;
};
// Over [a, b]. Without `a` (the first tick), the prefix's rates are the
// talkers' own last-tick rates in b, and the interfaces' are unknown.
Rates rates(const Traffic* a, const Traffic& b, const std::vector<std::string>& ifaces,
            const std::optional<Prefix>& prefix, const std::optional<Prefix>& origin = std::nullopt);

struct Baseline {
  Traffic at;    // the counters the change is measured from
  Rates before;  // the rates over the tick before it
  std::optional<double> symptom_value;  // the symptom the action answers, when it was decided
};

enum class Verdict { wait, holds, fails };
struct Judgement {
  Verdict verdict = Verdict::wait;
  std::string detail;  // what was measured, in one line
  double effect = 0;   // change in the measured rate (negative is better)
};

// The sources an action is about: its symptom's prefix (which the action's
// may be wider than), else its own.
std::optional<Prefix> origin_of(const Action& a);

// Whether an action needs watching at all (unblock, alert, shape removal,
// a renewal that changed nothing the datapath sees: no).
bool has_postcondition(const ActionSpec& spec);

Judgement judge(const Action& action, const std::vector<std::string>& ifaces, const Baseline& base,
                TimeNs applied_ns, TimeNs deadline_ns, const Traffic& now, const std::vector<Symptom>& symptoms,
                const VerifyConfig& cfg);

// The symptom an action answers, if it is active: same kind and subject as
// its rationale.
const Symptom* answered_symptom(const Action& a, const std::vector<Symptom>& symptoms);

}  // namespace reflex::execute
