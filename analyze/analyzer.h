#pragma once
// Analyzer: turns each Observation into the Symptoms that hold at that moment.
// Stateful (baselines, counters' previous values, hysteresis) but pure: time
// comes only from Observation::ts_ns, and it does no I/O. Call analyze() once
// per Observation, in time order.

#include "analyze/analyzer_config.h"
#include "analyze/ewm.h"
#include "analyze/hysteresis.h"
#include "knowledge/observation.h"
#include "knowledge/symptom.h"

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace reflex::analyze {

class Analyzer {
 public:
  explicit Analyzer(AnalyzerConfig config = {});

  std::vector<Symptom> analyze(const Observation& obs);

 private:
  struct IfaceState {
    bool seen = false;
    TimeNs ts = 0;
    InterfaceObservation last;
    Ewm log_p99{0.02};
    int latency_ticks = 0;
  };
  struct SourceState {
    int quiet_ticks = 0;  // consecutive ticks seen without flooding
    TimeNs last_seen = 0;
    Hysteresis flood;
    double z = 0, pps = 0;
  };
  struct MapState {
    bool seen = false;
    TimeNs ts = 0;
    std::uint64_t entries = 0;
    EwMean growth{0.3};
  };
  using Key = std::tuple<SymptomKind, std::string, std::string>;  // kind, subject, detail key

  void analyze_interface(const std::string& name, const InterfaceObservation& now, TimeNs ts,
                         std::vector<Symptom>& out);
  void analyze_talkers(const Observation& obs, std::vector<Symptom>& out);
  void analyze_map(const std::string& name, const MapObservation& m, TimeNs ts, std::vector<Symptom>& out);
  Hysteresis& hysteresis(SymptomKind k, const std::string& subject, const std::string& detail = {});

  AnalyzerConfig c_;
  std::map<std::string, IfaceState> ifaces_;
  std::map<std::pair<std::string, Prefix>, SourceState> sources_;  // (iface, host)
  std::map<std::string, MapState> maps_;
  std::map<Key, Hysteresis> hyst_;
};

}  // namespace reflex::analyze
