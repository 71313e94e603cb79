#pragma once
// The report of `reflex-sim run`: report.json (figures per node, percentiles
// over runs, expectations), timeline.svg and timeline.png (one drawing, two
// cairo surfaces: traffic by class, symptoms and actions on one time axis,
// a panel per node) and report.html (self-contained: the SVG inline, the
// tables, no fetches).

#include "common/result.h"
#include "sim/run_data.h"
#include "sim/scenario.h"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace reflex::sim {

struct NodeRuns {
  NodeKind node = NodeKind::none;
  std::vector<RunData> runs;
  std::vector<RunMetrics> metrics;  // one per run
};

struct Report {
  const Scenario* scenario = nullptr;
  std::vector<NodeRuns> nodes;  // the first is the node under test; the rest are its baselines
  std::string host;             // the machine, for the reader of figures
};

struct ExpectationCheck {
  std::string metric;
  double max = 0;
  std::optional<double> value;  // the worst over the primary node's runs
  bool pass = false;
};
std::vector<ExpectationCheck> check_expectations(const Report& r);

boost::json::object metrics_json(const RunMetrics& m);
// p50, p90, p99, min, max and n of every figure over the runs.
boost::json::object percentiles_json(const std::vector<RunMetrics>& runs);
boost::json::object report_json(const Report& r);

// Writes the drawing to an SVG and a PNG file.
Status draw_timeline(const Report& r, const std::string& svg_path, const std::string& png_path);
std::string report_html(const Report& r, const std::string& svg_text);

// All four files into dir (created if missing).
Status write_report(const Report& r, const std::string& dir);

}  // namespace reflex::sim
