#pragma once
// The terminal side of a run: one status line a second (benign goodput,
// attack sent and getting through, guard drops, rules) and a line for every
// event (attack start, symptom, action, rule in force), on one time axis.

#include "sim/report.h"
#include "sim/runner.h"

#include <string>
#include <vector>

namespace reflex::cmd {

class LiveView final : public sim::RunObserver {
 public:
  explicit LiveView(bool quiet);
  void banner(const sim::Scenario& s, const std::vector<sim::NodeKind>& nodes, int runs, const std::string& dir);
  void start_run(sim::NodeKind node, int index, int runs);
  void end_run(const sim::RunData& d, const sim::RunMetrics& m);
  void summary(const sim::Report& r, const std::string& dir);

  void on_event(const sim::NodeEvent& e) override;
  void on_status(const sim::LiveStatus& s) override;

 private:
  std::string paint(const std::string& s, const char* code) const;
  bool quiet_, tty_;
  TimeNs datapath_second_ = -1;
  int datapath_lines_ = 0, datapath_hidden_ = 0;
};

}  // namespace reflex::cmd
