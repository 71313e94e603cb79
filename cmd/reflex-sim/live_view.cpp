#include "cmd/reflex-sim/live_view.h"

#include <unistd.h>

#include <cstdio>

namespace reflex::cmd {

namespace {

std::string rate(double v) {
  char b[32];
  if (v >= 1e6)
    std::snprintf(b, sizeof(b), "%6.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(b, sizeof(b), "%6.1fk", v / 1e3);
  else
    std::snprintf(b, sizeof(b), "%7.0f", v);
  return b;
}

std::string ms(std::optional<double> v) {
  if (!v) return "never";
  char b[32];
  std::snprintf(b, sizeof(b), "%.0f ms", *v);
  return b;
}

std::string pct(std::optional<double> v) {
  if (!v) return "  –  ";
  char b[32];
  std::snprintf(b, sizeof(b), "%3.0f%%", *v * 100);
  return b;
}

}  // namespace

LiveView::LiveView(bool quiet) : quiet_(quiet), tty_(isatty(1)) {}

std::string LiveView::paint(const std::string& s, const char* code) const {
  return tty_ ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
}

void LiveView::banner(const sim::Scenario& s, const std::vector<sim::NodeKind>& nodes, int runs, const std::string& dir) {
  std::string ns;
  for (auto n : nodes) ns += (ns.empty() ? "" : ", ") + std::string(sim::to_string(n));
  std::printf("%s\n%s\nnodes: %s; %d run(s) each; tick %lld ms; report: %s/\n", paint("reflex-sim: " + s.name, "1").c_str(),
              s.description.c_str(), ns.c_str(), runs, static_cast<long long>(s.tick_ns / kNsPerMs), dir.c_str());
  std::fflush(stdout);
}

void LiveView::start_run(sim::NodeKind node, int index, int runs) {
  std::string what = node == sim::NodeKind::reflex      ? "reflexd run, the whole loop"
                     : node == sim::NodeKind::threshold ? "a fixed per-source threshold, the FastNetMon way"
                                                        : "no reflex: the traffic alone";
  std::printf("\n%s", paint("== node " + std::string(sim::to_string(node)) + " (" + what + ")", "1;36").c_str());
  if (runs > 1) std::printf(", run %d of %d", index + 1, runs);
  std::printf("\n");
  if (!quiet_)
    std::printf("   time  phase     benign goodput   attack sent -> reaching the victim   guard drops   rules\n");
  std::fflush(stdout);
  datapath_second_ = -1;
}

void LiveView::on_status(const sim::LiveStatus& s) {
  if (quiet_) return;
  if (datapath_hidden_) {
    std::printf("           ... and %d more rule changes\n", datapath_hidden_);
    datapath_hidden_ = 0;
  }
  std::printf("  %5.1fs  %-8s      %s         %s pps -> %s pps           %s/s   %5u\n",
              static_cast<double>(s.t_ns) / 1e9, s.phase.c_str(), pct(s.benign_goodput).c_str(),
              rate(s.attack_sent_pps).c_str(), rate(s.attack_arrived_pps).c_str(), rate(s.guard_drop_pps).c_str(),
              s.rules);
  std::fflush(stdout);
}

void LiveView::on_event(const sim::NodeEvent& e) {
  if (quiet_) return;
  if (e.lane == "datapath") {
    // Thousands of per-source rules would flood the terminal: a few a second.
    TimeNs sec = e.t_ns / kNsPerSec;
    if (sec != datapath_second_) {
      datapath_second_ = sec;
      datapath_lines_ = 0;
    }
    if (++datapath_lines_ > 4) {
      ++datapath_hidden_;
      return;
    }
  }
  const char* mark = "  ";
  const char* colour = "0";
  if (e.lane == "scenario") {
    mark = "▶ ";
    colour = e.kind.rfind("attack", 0) == 0 ? "1;31" : "1";
  } else if (e.lane == "symptom") {
    mark = "⚠ ";
    colour = "33";
  } else if (e.lane == "action" || e.lane == "plan") {
    mark = "⚙ ";
    colour = "34";
  } else if (e.lane == "outcome") {
    mark = "✓ ";
    colour = "32";
  } else if (e.lane == "datapath") {
    mark = "· ";
    colour = "2";
  }
  std::string text = e.text.empty() ? e.kind + " " + e.subject : e.text;
  std::printf("  %5.2fs  %s\n", static_cast<double>(e.t_ns) / 1e9,
              paint(std::string(mark) + e.lane + ": " + text, colour).c_str());
  std::fflush(stdout);
}

void LiveView::end_run(const sim::RunData& d, const sim::RunMetrics& m) {
  if (!d.error.empty()) std::printf("%s\n", paint("   run failed: " + d.error, "1;31").c_str());
  std::printf("   onset -> detect %s, -> action %s, -> attack dropped %s; benign goodput before/during/after %s/%s/%s; "
              "attack delivered %llu of %llu; false blocks %llu; rules left %u\n",
              ms(m.onset_to_detect_ms).c_str(), ms(m.onset_to_action_ms).c_str(), ms(m.onset_to_drop_ms).c_str(),
              pct(m.benign_goodput_ratio.before).c_str(), pct(m.benign_goodput_ratio.during).c_str(),
              pct(m.benign_goodput_ratio.after).c_str(), static_cast<unsigned long long>(m.attack_delivered),
              static_cast<unsigned long long>(m.attack_sent), static_cast<unsigned long long>(m.false_blocks), m.rules_left);
  std::fflush(stdout);
}

void LiveView::summary(const sim::Report& r, const std::string& dir) {
  std::printf("\n%s\n", paint("summary", "1").c_str());
  std::printf("  %-10s %12s %12s %10s %10s %12s %8s\n", "node", "to drop p50", "to drop p99", "goodput", "delivered",
              "false blocks", "rules");
  for (const auto& n : r.nodes) {
    std::vector<double> drop;
    for (const auto& m : n.metrics)
      if (m.onset_to_drop_ms) drop.push_back(*m.onset_to_drop_ms);
    const auto* m = n.metrics.empty() ? nullptr : &n.metrics.front();
    std::printf("  %-10s %12s %12s %10s %10s %12llu %8u\n", std::string(sim::to_string(n.node)).c_str(),
                drop.empty() ? "never" : ms(sim::percentile(drop, 0.5)).c_str(),
                drop.empty() ? "never" : ms(sim::percentile(drop, 0.99)).c_str(),
                m ? pct(m->benign_goodput_ratio.during).c_str() : "",
                m && m->attack_delivered_ratio ? pct(m->attack_delivered_ratio).c_str() : "  –  ",
                m ? static_cast<unsigned long long>(m->false_blocks) : 0ULL, m ? m->rules_left : 0u);
  }
  for (const auto& c : sim::check_expectations(r))
    std::printf("  target %-24s at most %-8g worst %-10s %s\n", c.metric.c_str(), c.max,
                c.value ? std::to_string(*c.value).c_str() : "never", c.pass ? paint("pass", "32").c_str() : paint("FAIL", "31").c_str());
  std::printf("\nreport: %s/report.json, %s/timeline.svg, %s/timeline.png, %s/report.html\n", dir.c_str(), dir.c_str(),
              dir.c_str(), dir.c_str());
  std::fflush(stdout);
}

}  // namespace reflex::cmd
