#include "sim/report.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace reflex::sim {

namespace json = boost::json;

namespace {

struct Figure {
  const char* name;
  std::function<std::optional<double>(const RunMetrics&)> get;
  const char* what;
};

std::optional<double> num(std::uint64_t v) { return static_cast<double>(v); }

const std::vector<Figure>& figures() {
  static const std::vector<Figure> f = {
      {"onset_to_detect_ms", [](const RunMetrics& m) { return m.onset_to_detect_ms; }, "onset to first symptom"},
      {"onset_to_action_ms", [](const RunMetrics& m) { return m.onset_to_action_ms; }, "onset to first action"},
      {"onset_to_drop_ms", [](const RunMetrics& m) { return m.onset_to_drop_ms; }, "onset to attack dropped (>= 90%)"},
      {"recovered_ms", [](const RunMetrics& m) { return m.recovered_ms; }, "onset to benign goodput >= 95% of before, for good"},
      {"benign_goodput_before", [](const RunMetrics& m) { return m.benign_goodput_ratio.before; }, "benign goodput before"},
      {"benign_goodput_during", [](const RunMetrics& m) { return m.benign_goodput_ratio.during; }, "benign goodput during"},
      {"benign_goodput_after", [](const RunMetrics& m) { return m.benign_goodput_ratio.after; }, "benign goodput after"},
      {"benign_dropped", [](const RunMetrics& m) { return num(m.benign_dropped); }, "benign packets the guard dropped"},
      {"attack_sent", [](const RunMetrics& m) { return num(m.attack_sent); }, "attack packets sent"},
      {"attack_offered_pps", [](const RunMetrics& m) { return m.attack_offered_pps; }, "attack rate the generator reached"},
      {"attack_delivered", [](const RunMetrics& m) { return num(m.attack_delivered); }, "attack packets that reached the victim"},
      {"attack_delivered_ratio", [](const RunMetrics& m) { return m.attack_delivered_ratio; }, "share of the attack delivered"},
      {"actions_applied", [](const RunMetrics& m) { return num(m.actions_applied); }, "actions applied"},
      {"actions_rolled_back", [](const RunMetrics& m) { return num(m.actions_rolled_back); }, "actions rolled back"},
      {"actions_expired", [](const RunMetrics& m) { return num(m.actions_expired); }, "actions expired"},
      {"false_blocks", [](const RunMetrics& m) { return num(m.false_blocks); }, "benign sources ever blocked"},
      {"rules_max", [](const RunMetrics& m) { return num(m.rules_max); }, "most rules in force at once"},
      {"rules_left", [](const RunMetrics& m) { return num(m.rules_left); }, "rules left after the settle phase"},
      {"rules_gone_lag_ms", [](const RunMetrics& m) { return m.rules_gone_lag_ms; }, "worst rule: gone minus its TTL at attack end"},
      {"rtt_p50_during_ms", [](const RunMetrics& m) { return m.rtt_during_ms.p50; }, "probe RTT p50 under load"},
      {"rtt_p99_during_ms", [](const RunMetrics& m) { return m.rtt_during_ms.p99; }, "probe RTT p99 under load"},
      {"rtt_p50_before_ms", [](const RunMetrics& m) { return m.rtt_before_ms.p50; }, "probe RTT p50 before"},
      {"rtt_p99_late_ms", [](const RunMetrics& m) { return m.rtt_late_ms.p99; }, "probe RTT p99, second half of the load"},
  };
  return f;
}

json::value opt(std::optional<double> v) {
  if (!v) return nullptr;
  return std::round(*v * 1000) / 1000;
}

std::string fmt(std::optional<double> v) {
  if (!v) return "–";
  char b[32];
  if (std::fabs(*v) >= 100 || *v == std::floor(*v))
    std::snprintf(b, sizeof(b), "%.0f", *v);
  else
    std::snprintf(b, sizeof(b), "%.3g", *v);
  return b;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

json::array events_json(const RunData& d) {
  json::array a;
  for (const auto& e : d.events)
    a.push_back(json::object{{"t_ms", static_cast<double>(e.t_ns) / 1e6},
                             {"lane", e.lane},
                             {"kind", e.kind},
                             {"subject", e.subject},
                             {"text", e.text}});
  return a;
}

}  // namespace

json::object metrics_json(const RunMetrics& m) {
  json::object o;
  o["onset_to_detect_ms"] = opt(m.onset_to_detect_ms);
  o["onset_to_action_ms"] = opt(m.onset_to_action_ms);
  o["onset_to_drop_ms"] = opt(m.onset_to_drop_ms);
  o["recovered_ms"] = opt(m.recovered_ms);
  o["benign_goodput_ratio"] = json::object{{"before", opt(m.benign_goodput_ratio.before)},
                                           {"during", opt(m.benign_goodput_ratio.during)},
                                           {"after", opt(m.benign_goodput_ratio.after)}};
  o["benign_dropped"] = m.benign_dropped;
  o["attack_sent"] = m.attack_sent;
  o["attack_delivered"] = m.attack_delivered;
  o["attack_offered_pps"] = opt(m.attack_offered_pps);
  o["attack_delivered_ratio"] = opt(m.attack_delivered_ratio);
  o["actions"] = json::object{
      {"applied", m.actions_applied}, {"rolled_back", m.actions_rolled_back}, {"expired", m.actions_expired}};
  o["false_blocks"] = m.false_blocks;
  o["rules_left"] = m.rules_left;
  o["rules_max"] = m.rules_max;
  o["rules_gone_lag_ms"] = opt(m.rules_gone_lag_ms);
  if (m.rtt_during_ms.p50)
    o["rtt_ms"] = json::object{
        {"before", json::object{{"p50", opt(m.rtt_before_ms.p50)}, {"p99", opt(m.rtt_before_ms.p99)}}},
        {"during", json::object{{"p50", opt(m.rtt_during_ms.p50)}, {"p99", opt(m.rtt_during_ms.p99)}}},
        {"after", json::object{{"p50", opt(m.rtt_after_ms.p50)}, {"p99", opt(m.rtt_after_ms.p99)}}},
        {"late", json::object{{"p50", opt(m.rtt_late_ms.p50)}, {"p99", opt(m.rtt_late_ms.p99)}}}};
  return o;
}

json::object percentiles_json(const std::vector<RunMetrics>& runs) {
  json::object o;
  for (const auto& f : figures()) {
    std::vector<double> v;
    for (const auto& m : runs)
      if (auto x = f.get(m)) v.push_back(*x);
    json::object p{{"n", v.size()}};
    if (!v.empty()) {
      p["p50"] = opt(percentile(v, 0.5));
      p["p90"] = opt(percentile(v, 0.9));
      p["p99"] = opt(percentile(v, 0.99));
      p["min"] = opt(*std::min_element(v.begin(), v.end()));
      p["max"] = opt(*std::max_element(v.begin(), v.end()));
    }
    o[f.name] = std::move(p);
  }
  return o;
}

std::vector<ExpectationCheck> check_expectations(const Report& r) {
  std::vector<ExpectationCheck> out;
  if (r.nodes.empty() || !r.scenario) return out;
  const auto& e = r.scenario->expect;
  const auto& runs = r.nodes.front().metrics;
  auto check = [&](const char* name, std::optional<double> max, auto get) {
    if (!max) return;
    ExpectationCheck c{name, *max, std::nullopt, true};
    for (const auto& m : runs) {
      std::optional<double> v = get(m);
      if (!v) {  // never happened: a failure for times, fine for counts
        c.pass = false;
        continue;
      }
      c.value = std::max(c.value.value_or(*v), *v);
      if (*v > *max) c.pass = false;
    }
    out.push_back(c);
  };
  check("onset_to_drop_ms", e.onset_to_drop_ms_max, [](const RunMetrics& m) { return m.onset_to_drop_ms; });
  check("recovered_ms", e.recovered_ms_max, [](const RunMetrics& m) { return m.recovered_ms; });
  check("false_blocks", e.false_blocks_max ? std::optional<double>(static_cast<double>(*e.false_blocks_max)) : std::nullopt,
        [](const RunMetrics& m) { return std::optional<double>(static_cast<double>(m.false_blocks)); });
  check("rules_left", e.rules_left_max ? std::optional<double>(static_cast<double>(*e.rules_left_max)) : std::nullopt,
        [](const RunMetrics& m) { return std::optional<double>(static_cast<double>(m.rules_left)); });
  check("attack_delivered_ratio", e.attack_delivered_ratio_max, [](const RunMetrics& m) { return m.attack_delivered_ratio; });
  check("rtt_p99_late_ms", e.rtt_p99_late_ms_max, [](const RunMetrics& m) { return m.rtt_late_ms.p99; });
  check("rules_gone_lag_ms", e.rules_gone_lag_ms_max, [](const RunMetrics& m) {
    return m.rules_gone_lag_ms ? m.rules_gone_lag_ms : std::optional<double>(0.0);
  });
  return out;
}

json::object report_json(const Report& r) {
  json::object o;
  const Scenario& s = *r.scenario;
  o["scenario"] = s.name;
  o["description"] = s.description;
  o["file"] = s.file;
  o["tick_ms"] = s.tick_ns / kNsPerMs;
  o["host"] = r.host;
  json::array nodes;
  for (const auto& n : r.nodes) nodes.push_back(json::string(to_string(n.node)));
  o["nodes"] = nodes;
  if (r.nodes.empty()) return o;
  const auto& primary = r.nodes.front();
  o["node"] = to_string(primary.node);
  o["runs"] = primary.runs.size();
  // The node under test's first run, at the top level (the figures a reader
  // looks for first); every run and every node below.
  if (!primary.metrics.empty())
    for (auto& [k, v] : metrics_json(primary.metrics.front())) o[k] = v;
  o["percentiles"] = percentiles_json(primary.metrics);
  json::object compare;
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    const auto& n = r.nodes[i];
    json::object c;
    if (!n.metrics.empty()) c = metrics_json(n.metrics.front());
    c["percentiles"] = percentiles_json(n.metrics);
    compare[to_string(n.node)] = std::move(c);
  }
  o["compare"] = std::move(compare);
  json::array checks;
  bool pass = true;
  for (const auto& c : check_expectations(r)) {
    checks.push_back(json::object{{"metric", c.metric}, {"max", c.max}, {"worst", opt(c.value)}, {"pass", c.pass}});
    pass = pass && c.pass;
  }
  o["expectations"] = std::move(checks);
  o["pass"] = pass;
  json::array all;
  for (const auto& n : r.nodes)
    for (std::size_t i = 0; i < n.runs.size(); ++i) {
      const auto& d = n.runs[i];
      json::object run{{"node", to_string(n.node)},
                       {"run", d.run_index},
                       {"metrics", i < n.metrics.size() ? json::value(metrics_json(n.metrics[i])) : json::value()},
                       {"attach_mode", d.attach_mode},
                       {"interrupted", d.interrupted},
                       {"error", d.error},
                       {"onset_ms", d.onset_ns ? json::value(static_cast<double>(*d.onset_ns) / 1e6) : json::value()},
                       {"events", events_json(d)}};
      if (i == 0) {
        RateSeries se = rate_series(d);
        json::object ser;
        ser["t_s"] = json::value_from(se.t_s);
        json::object by_class;
        for (std::size_t c = 0; c < d.classes.size(); ++c) by_class[d.classes[c].name] = json::value_from(se.arrived[c]);
        ser["arrived_pps"] = std::move(by_class);
        ser["attack_sent_pps"] = json::value_from(se.attack_sent);
        ser["guard_dropped_pps"] = json::value_from(se.guard_dropped);
        ser["rules"] = json::value_from(se.rules);
        run["series"] = std::move(ser);
      }
      all.push_back(std::move(run));
    }
  o["all_runs"] = std::move(all);
  return o;
}

std::string report_html(const Report& r, const std::string& svg) {
  const Scenario& s = *r.scenario;
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>reflex-sim: " << html_escape(s.name)
    << "</title>\n<style>\nbody{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}\n"
       "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
       "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\n.pass{color:#1a7f37}.fail{color:#c62828}"
       "\n#timeline svg{width:100%;height:auto;border:1px solid #ddd}\n</style></head><body>\n";
  h << "<h1>Scenario <code>" << html_escape(s.name) << "</code></h1>\n<p>" << html_escape(s.description) << "</p>\n";
  h << "<p>Host: " << html_escape(r.host) << ". Tick " << s.tick_ns / kNsPerMs << " ms; "
    << (r.nodes.empty() ? 0 : r.nodes.front().runs.size()) << " run(s) per node.</p>\n";
  h << "<div id=\"timeline\">\n" << svg << "\n</div>\n";
  h << "<h2>Figures (first run of each node)</h2>\n<table id=\"figures\"><tr><th>figure</th>";
  for (const auto& n : r.nodes) h << "<th>" << to_string(n.node) << "</th>";
  h << "<th>meaning</th></tr>\n";
  for (const auto& f : figures()) {
    h << "<tr><td>" << f.name << "</td>";
    for (const auto& n : r.nodes) h << "<td>" << (n.metrics.empty() ? "–" : fmt(f.get(n.metrics.front()))) << "</td>";
    h << "<td>" << f.what << "</td></tr>\n";
  }
  h << "</table>\n";
  if (!r.nodes.empty() && r.nodes.front().runs.size() > 1) {
    h << "<h2>Percentiles over runs</h2>\n<table id=\"percentiles\"><tr><th>figure</th><th>node</th><th>n</th><th>p50</th>"
         "<th>p90</th><th>p99</th><th>max</th></tr>\n";
    for (const auto& f : figures())
      for (const auto& n : r.nodes) {
        std::vector<double> v;
        for (const auto& m : n.metrics)
          if (auto x = f.get(m)) v.push_back(*x);
        if (v.empty()) continue;
        h << "<tr><td>" << f.name << "</td><td>" << to_string(n.node) << "</td><td>" << v.size() << "</td><td>"
          << fmt(percentile(v, 0.5)) << "</td><td>" << fmt(percentile(v, 0.9)) << "</td><td>" << fmt(percentile(v, 0.99))
          << "</td><td>" << fmt(*std::max_element(v.begin(), v.end())) << "</td></tr>\n";
      }
    h << "</table>\n";
  }
  auto checks = check_expectations(r);
  if (!checks.empty()) {
    h << "<h2>Targets (" << (r.nodes.empty() ? "" : std::string(to_string(r.nodes.front().node)))
      << ")</h2>\n<table id=\"targets\"><tr><th>figure</th><th>at most</th><th>worst run</th><th></th></tr>\n";
    for (const auto& c : checks)
      h << "<tr><td>" << c.metric << "</td><td>" << fmt(c.max) << "</td><td>" << fmt(c.value) << "</td><td class=\""
        << (c.pass ? "pass\">pass" : "fail\">FAIL") << "</td></tr>\n";
    h << "</table>\n";
  }
  for (const auto& n : r.nodes) {
    if (n.runs.empty()) continue;
    h << "<h2>Events: " << to_string(n.node) << " (run 1)</h2>\n<table class=\"events\"><tr><th>t (s)</th><th>lane</th>"
         "<th>what</th></tr>\n";
    std::size_t shown = 0;
    for (const auto& e : n.runs.front().events) {
      if (e.lane == "datapath" && ++shown > 40) continue;  // thousands of rules: the picture shows the count
      char t[32];
      std::snprintf(t, sizeof(t), "%.2f", static_cast<double>(e.t_ns) / 1e9);
      h << "<tr><td>" << t << "</td><td>" << html_escape(e.lane) << "</td><td style=\"text-align:left\">"
        << html_escape(e.text.empty() ? e.kind + " " + e.subject : e.text) << "</td></tr>\n";
    }
    h << "</table>\n";
    if (!n.runs.front().error.empty()) h << "<p class=\"fail\">run failed: " << html_escape(n.runs.front().error) << "</p>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

Status write_report(const Report& r, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("create report folder " + dir + ": " + ec.message());
  {
    std::ofstream out(dir + "/report.json");
    out << json::serialize(report_json(r)) << "\n";
    if (!out) return make_error("write " + dir + "/report.json");
  }
  if (auto st = draw_timeline(r, dir + "/timeline.svg", dir + "/timeline.png"); !st) return st;
  std::ifstream in(dir + "/timeline.svg");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string svg = ss.str();
  if (auto p = svg.find("<svg"); p != std::string::npos) svg = svg.substr(p);  // inline: no XML prolog
  std::ofstream html(dir + "/report.html");
  html << report_html(r, svg);
  if (!html) return make_error("write " + dir + "/report.html");
  return ok();
}

}  // namespace reflex::sim
