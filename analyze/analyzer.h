#pragma once
// Analyzer: turns each Observation into the changes of the symptoms it
// concludes (raised, updated, cleared), and keeps the set active after them.
// Stateful (baselines, counters' previous values, hysteresis) but pure: time
// comes only from Observation::ts_ns, and it does no I/O. Call analyze() once
// per Observation, in time order.
//
// Each tick the detectors judge every subject they can (the level: what holds
// now); the tick's events are the difference from the active set before it.
// A symptom is `raised` with a new id, `updated` (same id) only when its
// severity changes or its score moves by update_score_step since it was last
// reported, and `cleared` when the level no longer holds it. Between events the
// active set still carries the latest score and evidence.

#include "analyze/analyzer_config.h"
#include "analyze/deep_box.h"
#include "analyze/ewm.h"
#include "analyze/hysteresis.h"
#include "analyze/signal_gate.h"
#include "knowledge/observation.h"
#include "knowledge/symptom.h"
#include "knowledge/symptom_board.h"

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace reflex::analyze {

class Analyzer {
 public:
  explicit Analyzer(AnalyzerConfig config = {});

  // The tick's transitions, in a fixed order (raised and updated in the
  // detectors' order, then cleared by kind and subject).
  std::vector<SymptomEvent> analyze(const Observation& obs);

  // The active symptoms after the last tick: one per kind and subject, with
  // the latest score and evidence (what the planner reads).
  std::vector<Symptom> active() const { return board_.active(); }
  const SymptomBoard& board() const { return board_; }

  // An interface's received traffic as the series detector judges it: the
  // last tick's rx pps and bps, their baselines (geometric means of the
  // ticks seen) and the detector's scores. No symptom kind says "this
  // interface's traffic is unusual", so this is read-only context (the
  // flood and drop symptoms carry their own evidence).
  struct Traffic {
    double pps = 0, bps = 0;
    double pps_baseline = 0, bps_baseline = 0;
    double pps_score = 0, bps_score = 0;
    bool trusted = false;  // both baselines past their warm-up
  };
  // Empty until the interface has had a tick with traffic.
  std::optional<Traffic> traffic(const std::string& iface) const;

 private:
  struct IfaceState {
    bool seen = false;
    TimeNs ts = 0;
    InterfaceObservation last;
    SignalGate latency;  // RTT p99
    SignalGate loss;     // TCP retransmit share (or rate)
    SignalGate pps, bps; // received traffic; pps gates a network's marginal flood
    bool traffic_unusual = false;  // pps's gate is open this tick
    bool traffic_seen = false;
    double last_pps = 0, last_bps = 0;
    // Drop share per reason ("" = all reasons and rx_dropped together).
    std::map<std::string, SignalGate> drops;
  };
  struct SourceState {
    int quiet_ticks = 0;  // consecutive ticks seen without flooding
    TimeNs first_seen = 0, last_seen = 0;
    Hysteresis flood;
    double ratio = 0, pps = 0;  // last tick's rate, and it over the interface's reference
    DeepBox<SignalGate> gate;   // its own rate's series, once it is known benign
    TimeNs flooded_ns = 0;      // the last tick it flooded (0: never)
  };
  // A network (/24, /64) of an interface, judged as a whole.
  struct NetworkState {
    int quiet_ticks = 0;
    TimeNs last_seen = 0;
    TimeNs first_raised = 0;  // its first flood episode (0: never): a pulsing flood's later hosts are not clients
    Hysteresis flood;
    double ratio = 0, pps = 0;
    std::uint32_t sources = 0;
  };
  // Per interface: what its benign sources' (or networks') rates have been.
  struct TalkerBaseline {
    double envelope = 0;  // fastest benign source, decaying over flood_envelope_s
    TimeNs ts = 0;
    int ticks = 0;        // ticks with talkers seen
    // Forgets the envelope over `envelope_s` for the time since the last tick.
    void decay(TimeNs now, double envelope_s);
  };
  struct MapState {
    bool seen = false;
    TimeNs ts = 0;
    std::uint64_t entries = 0;
    EwMean growth{0.3};
    SignalGate growth_gate;  // entries/s: whether this map's growth is unusual for it
  };
  using Key = std::tuple<SymptomKind, std::string, std::string>;  // kind, subject, detail key

  void analyze_interface(const std::string& name, const InterfaceObservation& now, TimeNs ts,
                         std::vector<Symptom>& out);
  void analyze_talkers(const Observation& obs, std::vector<Symptom>& out);
  void analyze_networks(const Observation& obs, std::vector<Symptom>& out);
  // This tick's flood prefixes: attackers inside a cover held from earlier
  // ticks join it, the rest are covered afresh (cover_without).
  std::vector<Prefix> covers_of(const std::string& iface, const std::vector<Prefix>& attackers,
                                const std::vector<Prefix>& benign, TimeNs now);
  // Where a network's flood and a flood of some of its hosts are both raised,
  // one symptom stays: the one raised first (on the board), else the hosts'.
  void drop_overlapping_floods(std::vector<Symptom>& level) const;
  // The flood's critical level: far past the reference, and fast in absolute terms.
  bool critical_flood(double ratio, double pps) const {
    return ratio >= c_.flood_critical_ratio && pps >= c_.flood_critical_min_pps;
  }
  void analyze_map(const std::string& name, const MapObservation& m, TimeNs ts, std::vector<Symptom>& out);
  Hysteresis& hysteresis(SymptomKind k, const std::string& subject, const std::string& detail = {});
  // The symptom on the board for this kind and subject, carried into this
  // tick's level unchanged but for its time (a detector that cannot judge
  // this tick, e.g. too little traffic, holds its state).
  void hold(SymptomKind k, const Subject& subject, TimeNs ts, std::vector<Symptom>& out) const;
  std::vector<SymptomEvent> transitions(std::vector<Symptom> level, TimeNs ts);

  AnalyzerConfig c_;
  std::map<std::string, IfaceState> ifaces_;
  // Per interface, its hosts sorted by prefix: a flat list, walked whole
  // every tick (a fleet of nodes is bound by the cache lines it touches).
  using Sources = std::vector<std::pair<Prefix, SourceState>>;
  std::map<std::string, Sources> sources_;
  std::size_t tracked_sources_ = 0;  // over every interface
  std::map<std::string, TalkerBaseline> talker_base_;
  // Covers of two or more attackers per interface, with when they last held one.
  std::map<std::string, std::map<Prefix, TimeNs>> covers_;
  std::size_t gated_sources_ = 0;
  std::map<std::pair<std::string, Prefix>, NetworkState> networks_;  // (iface, network)
  std::map<std::string, TalkerBaseline> network_base_;
  std::map<std::string, MapState> maps_;
  std::map<Key, Hysteresis> hyst_;
  SymptomBoard board_;
  // What the last event of each active symptom reported (for `updated`).
  std::map<SymptomBoard::Key, std::pair<Severity, double>> reported_;
};

// The id of the episode a symptom raised at `since_ns` starts, e.g.
// "flood:eth0:198.51.100.0/24@1500000000": kind, subject, raise time; unique
// because one kind on one subject has one episode at a time.
std::string symptom_id(const Symptom& s);

}  // namespace reflex::analyze
