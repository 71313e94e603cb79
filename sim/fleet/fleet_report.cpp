#include "sim/fleet/fleet_report.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace reflex::sim::fleet {
namespace {

namespace json = boost::json;

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

json::object distribution(const std::vector<double>& v) {
  json::object o;
  o["n"] = v.size();
  if (v.empty()) return o;
  o["p50"] = percentile(v, 0.5);
  o["p90"] = percentile(v, 0.9);
  o["max"] = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  o["mean"] = sum / static_cast<double>(v.size());
  return o;
}

const FleetRun* find_run(const std::vector<FleetRun>& runs, bool coop) {
  for (const auto& r : runs)
    if (r.coop == coop) return &r;
  return nullptr;
}

json::object summary_json(const RunSummary& m, const FleetRun& r) {
  json::object o;
  o["cooperation"] = r.coop;
  o["attack_packets"] = std::round(m.attack_packets);
  o["attack_delivered"] = std::round(m.attack_delivered);
  o["moving_attack_packets"] = std::round(m.moving_packets);
  o["moving_attack_delivered"] = std::round(m.moving_delivered);
  o["benign_packets"] = std::round(m.benign_packets);
  o["benign_dropped"] = std::round(m.benign_dropped);
  o["actions"] = m.actions;
  json::object by;
  for (const auto& [k, n] : m.actions_by_kind) by[k] = n;
  o["actions_by_kind"] = std::move(by);
  o["actions_per_node"] = r.nodes.empty() ? 0.0 : static_cast<double>(m.actions) / static_cast<double>(r.nodes.size());
  json::object v;
  v["sent"] = m.verdicts_sent;
  v["received"] = m.verdicts_received;
  v["refused"] = m.verdicts_refused;
  v["acted_on"] = m.verdicts_acted_on;
  v["false_sent"] = m.false_verdicts_sent;
  o["verdicts"] = std::move(v);
  json::object bus;
  bus["published"] = r.bus.published;
  bus["buffered_while_down"] = r.bus.buffered;
  bus["deliveries"] = r.bus.deliveries;
  bus["delivered"] = r.bus.delivered;
  bus["lost_to_loss"] = r.bus.lost_loss;
  bus["lost_link_down"] = r.bus.lost_down;
  o["bus"] = std::move(bus);
  o["onset_to_drop_s"] = distribution(m.onset_to_drop_s);
  o["visits"] = m.visits;
  o["visits_never_dropped"] = m.visits_never_dropped;
  json::array order;
  for (std::size_t i = 0; i < m.by_order_onset_s.size(); ++i) {
    json::object e;
    e["entry"] = i;
    e["onset_to_drop_s"] = m.by_order_onset_s[i];
    e["attack_delivered"] = std::round(m.by_order_delivered[i]);
    order.push_back(std::move(e));
  }
  o["moving_by_entry"] = std::move(order);
  o["wall_s"] = r.wall_s;
  o["node_ticks"] = r.node_ticks;
  o["us_per_node_tick"] = r.node_ticks ? r.wall_s * 1e6 / static_cast<double>(r.node_ticks) : 0.0;
  return o;
}

json::array nodes_json(const FleetRun& r) {
  json::array out;
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    const auto& n = r.nodes[i];
    json::object o;
    o["node"] = "n" + std::to_string(i);
    o["attack_packets"] = std::round(n.attack_packets);
    o["attack_delivered"] = std::round(n.attack_delivered);
    o["benign_dropped"] = std::round(n.benign_dropped);
    std::uint64_t acts = 0;
    for (const auto& [k, c] : n.actions) acts += static_cast<std::uint64_t>(c);
    o["actions"] = acts;
    json::array visits;
    for (const auto& v : n.visits) {
      json::object e;
      e["attack"] = v.attack;
      e["onset_s"] = static_cast<double>(v.onset) / kNsPerSec;
      if (v.first_drop) e["onset_to_drop_s"] = static_cast<double>(*v.first_drop - v.onset) / kNsPerSec;
      else e["onset_to_drop_s"] = nullptr;
      e["delivered"] = std::round(v.delivered);
      visits.push_back(std::move(e));
    }
    o["visits"] = std::move(visits);
    o["verdicts"] = json::object{{"sent", n.verdicts_sent},
                                 {"received", n.verdicts_received},
                                 {"refused", n.verdicts_refused},
                                 {"acted_on", n.verdicts_acted_on},
                                 {"false_sent", n.false_verdicts_sent}};
    // Quiet nodes are most of a big fleet: list only what has something to say.
    if (acts == 0 && n.attack_packets == 0 && n.benign_dropped == 0 && n.false_verdicts_sent == 0) continue;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

RunSummary summarize(const FleetScenario& s, const FleetRun& r) {
  RunSummary m;
  for (const auto& n : r.nodes) {
    m.attack_packets += n.attack_packets;
    m.attack_delivered += n.attack_delivered;
    m.benign_packets += n.benign_packets;
    m.benign_dropped += n.benign_dropped;
    for (const auto& [k, c] : n.actions) {
      m.actions += static_cast<std::uint64_t>(c);
      m.actions_by_kind[k] += static_cast<std::uint64_t>(c);
    }
    m.verdicts_sent += n.verdicts_sent;
    m.verdicts_received += n.verdicts_received;
    m.verdicts_refused += n.verdicts_refused;
    m.verdicts_acted_on += n.verdicts_acted_on;
    m.false_verdicts_sent += n.false_verdicts_sent;
    for (const auto& v : n.visits) {
      ++m.visits;
      const auto& a = s.attacks[static_cast<std::size_t>(v.attack)];
      if (a.kind == AttackKind::moving) {
        m.moving_packets += v.packets;
        m.moving_delivered += v.delivered;
      }
      if (v.first_drop) m.onset_to_drop_s.push_back(static_cast<double>(*v.first_drop - v.onset) / kNsPerSec);
      else ++m.visits_never_dropped;
    }
  }
  // Moving attacks, by entry order: visits are listed in order per attack.
  std::vector<double> onset_sum, delivered_sum;
  std::vector<int> count;
  std::map<int, int> order_of_attack;
  for (const auto& v : r.visits) {
    const auto& a = s.attacks[static_cast<std::size_t>(v.attack)];
    if (a.kind != AttackKind::moving) continue;
    const int k = order_of_attack[v.attack]++;
    if (static_cast<std::size_t>(k) >= count.size()) {
      onset_sum.resize(static_cast<std::size_t>(k) + 1);
      delivered_sum.resize(static_cast<std::size_t>(k) + 1);
      count.resize(static_cast<std::size_t>(k) + 1);
    }
    for (const auto& vr : r.nodes[static_cast<std::size_t>(v.node)].visits) {
      if (vr.attack != v.attack || vr.onset != v.from) continue;
      onset_sum[static_cast<std::size_t>(k)] +=
          static_cast<double>((vr.first_drop ? *vr.first_drop : vr.until) - vr.onset) / kNsPerSec;
      delivered_sum[static_cast<std::size_t>(k)] += vr.delivered;
      ++count[static_cast<std::size_t>(k)];
      break;
    }
  }
  for (std::size_t k = 0; k < count.size(); ++k) {
    const double c = std::max(1, count[k]);
    m.by_order_onset_s.push_back(onset_sum[k] / c);
    m.by_order_delivered.push_back(delivered_sum[k] / c);
  }
  return m;
}

std::vector<FleetCheck> check_expectations(const FleetScenario& s, const std::vector<FleetRun>& runs) {
  std::vector<FleetCheck> out;
  const FleetRun* on = find_run(runs, true);
  const FleetRun* off = find_run(runs, false);
  if (s.expect.max_coop_delivered_ratio) {
    FleetCheck c{"coop_delivered_ratio", *s.expect.max_coop_delivered_ratio, std::nullopt, false};
    if (on && off) {
      const auto a = summarize(s, *on), b = summarize(s, *off);
      if (b.moving_delivered > 0) c.value = a.moving_delivered / b.moving_delivered;
      else if (a.moving_delivered == 0) c.value = 0;
    }
    c.pass = c.value && *c.value <= c.max;
    out.push_back(c);
  }
  if (s.expect.max_poison_benign_dropped) {
    FleetCheck c{"poison_benign_dropped", *s.expect.max_poison_benign_dropped, std::nullopt, false};
    if (on) c.value = summarize(s, *on).benign_dropped;
    c.pass = c.value && *c.value <= c.max;
    out.push_back(c);
  }
  return out;
}

json::object report_json(const FleetScenario& s, const std::vector<FleetRun>& runs) {
  json::object o;
  o["format"] = "reflex-sim-fleet/1";
  json::object sc;
  sc["name"] = s.name;
  sc["file"] = s.file;
  sc["description"] = s.description;
  sc["nodes"] = s.nodes;
  sc["duration_s"] = static_cast<double>(s.duration) / kNsPerSec;
  sc["tick_s"] = static_cast<double>(s.tick) / kNsPerSec;
  sc["seed"] = s.seed;
  sc["attacks"] = s.attacks.size();
  sc["flaps"] = s.flaps.size();
  sc["poisoned_nodes"] = s.poison.size();
  o["scenario"] = std::move(sc);
  json::object rs;
  for (const auto& r : runs) {
    json::object ro = summary_json(summarize(s, r), r);
    ro["nodes"] = nodes_json(r);
    rs[r.coop ? "coop_on" : "coop_off"] = std::move(ro);
  }
  o["runs"] = std::move(rs);
  const FleetRun* on = find_run(runs, true);
  const FleetRun* off = find_run(runs, false);
  if (on && off) {
    const auto a = summarize(s, *on), b = summarize(s, *off);
    json::object cmp;
    auto ratio = [](double x, double y) -> json::value { return y > 0 ? json::value(x / y) : json::value(nullptr); };
    cmp["attack_delivered_ratio"] = ratio(a.attack_delivered, b.attack_delivered);
    cmp["moving_attack_delivered_ratio"] = ratio(a.moving_delivered, b.moving_delivered);
    cmp["benign_dropped_on"] = std::round(a.benign_dropped);
    cmp["benign_dropped_off"] = std::round(b.benign_dropped);
    cmp["onset_to_drop_p50_on_s"] = percentile(a.onset_to_drop_s, 0.5);
    cmp["onset_to_drop_p50_off_s"] = percentile(b.onset_to_drop_s, 0.5);
    o["comparison"] = std::move(cmp);
  }
  json::array checks;
  bool all = true;
  for (const auto& c : check_expectations(s, runs)) {
    json::object e;
    e["metric"] = c.metric;
    e["max"] = c.max;
    if (c.value) e["value"] = *c.value;
    else e["value"] = nullptr;
    e["pass"] = c.pass;
    all = all && c.pass;
    checks.push_back(std::move(e));
  }
  o["expectations"] = std::move(checks);
  o["pass"] = all;
  return o;
}

std::string timeline_svg(const FleetScenario& s, const std::vector<FleetRun>& runs) {
  // One row per node, or per group of nodes when there are more than fit.
  constexpr int kMaxRows = 200, kPanelW = 480, kLeft = 60, kTop = 40, kGap = 40, kRowH = 3;
  const int nodes = s.nodes;
  const int group = std::max(1, (nodes + kMaxRows - 1) / kMaxRows);
  const int rows = (nodes + group - 1) / group;
  const int panel_h = std::max(rows * kRowH, 60);
  const int width = kLeft + static_cast<int>(runs.size()) * (kPanelW + kGap) + 20;
  const int height = kTop + panel_h + 70;
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  out << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"" << kLeft << "\" y=\"16\" font-size=\"13\">" << s.name << ": " << nodes << " nodes, "
      << static_cast<double>(s.duration) / kNsPerSec / 60 << " min"
      << (group > 1 ? ", " + std::to_string(group) + " nodes per row" : std::string()) << "</text>\n";
  for (std::size_t ri = 0; ri < runs.size(); ++ri) {
    const auto& r = runs[ri];
    const auto& tl = r.timeline;
    const int x0 = kLeft + static_cast<int>(ri) * (kPanelW + kGap);
    const double cw = static_cast<double>(kPanelW) / std::max(1, tl.bins());
    out << "<text x=\"" << x0 << "\" y=\"" << kTop - 6 << "\">cooperation " << (r.coop ? "on" : "off") << "</text>\n";
    out << "<rect x=\"" << x0 << "\" y=\"" << kTop << "\" width=\"" << kPanelW << "\" height=\"" << rows * kRowH
        << "\" fill=\"#f4f4f4\" stroke=\"#ccc\"/>\n";
    for (int row = 0; row < rows; ++row) {
      // Runs of equal colour become one rect.
      std::string prev;
      int run_from = 0;
      auto emit = [&](int until) {
        if (prev.empty()) return;
        out << "<rect x=\"" << x0 + run_from * cw << "\" y=\"" << kTop + row * kRowH << "\" width=\""
            << (until - run_from) * cw << "\" height=\"" << kRowH << "\" fill=\"" << prev << "\"/>\n";
      };
      for (int b = 0; b <= tl.bins(); ++b) {
        std::string colour;
        if (b < tl.bins()) {
          Bin sum;
          for (int n = row * group; n < std::min(nodes, (row + 1) * group); ++n) {
            const auto& c = tl.cell(n, b);
            sum.attack_delivered += c.attack_delivered;
            sum.attack_dropped += c.attack_dropped;
            sum.benign_dropped += c.benign_dropped;
            sum.warned = sum.warned || c.warned;
          }
          if (sum.attack_delivered > 0 && sum.attack_delivered >= sum.attack_dropped) colour = "#d62728";  // through
          else if (sum.attack_dropped > 0) colour = "#2ca02c";                                           // stopped
          else if (sum.benign_dropped > 0) colour = "#ff7f0e";                                           // collateral
          else if (sum.warned) colour = "#9ecae1";                                                       // held ahead
        }
        if (colour != prev) {
          emit(b);
          prev = colour;
          run_from = b;
        }
      }
    }
    const int axis_y = kTop + rows * kRowH + 14;
    for (int k = 0; k <= 4; ++k) {
      const double t = static_cast<double>(s.duration) / kNsPerSec * k / 4;
      out << "<text x=\"" << x0 + kPanelW * k / 4 << "\" y=\"" << axis_y << "\" text-anchor=\"middle\">"
          << static_cast<int>(t / 60) << "m</text>\n";
    }
  }
  const int ly = kTop + rows * kRowH + 40;
  const std::pair<const char*, const char*> legend[] = {{"#d62728", "attack getting through"},
                                                        {"#2ca02c", "attack dropped"},
                                                        {"#ff7f0e", "benign dropped"},
                                                        {"#9ecae1", "rule held ahead (shadow or block from the fleet)"}};
  int lx = kLeft;
  for (const auto& [c, label] : legend) {
    out << "<rect x=\"" << lx << "\" y=\"" << ly - 9 << "\" width=\"10\" height=\"10\" fill=\"" << c << "\"/>";
    out << "<text x=\"" << lx + 14 << "\" y=\"" << ly << "\">" << label << "</text>\n";
    lx += 40 + static_cast<int>(std::string(label).size()) * 6;
  }
  out << "<text x=\"8\" y=\"" << kTop + 10 << "\">nodes</text>\n";
  out << "</svg>\n";
  return out.str();
}

Status write_fleet_report(const FleetScenario& s, const std::vector<FleetRun>& runs, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("create " + dir + ": " + ec.message(), "choose a writable --report directory");
  {
    std::ofstream f(dir + "/report.json");
    f << json::serialize(report_json(s, runs)) << "\n";
    if (!f) return make_error("write " + dir + "/report.json", "check the disk");
  }
  std::ofstream f(dir + "/timeline.svg");
  f << timeline_svg(s, runs);
  if (!f) return make_error("write " + dir + "/timeline.svg", "check the disk");
  return ok();
}

}  // namespace reflex::sim::fleet
