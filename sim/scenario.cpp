#include "sim/scenario.h"

#include "plan/yaml_reader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace reflex::sim {

std::string_view to_string(TrafficClass c) { return c == TrafficClass::benign ? "benign" : "attack"; }

std::string_view to_string(TrafficKind k) {
  switch (k) {
    case TrafficKind::udp: return "udp";
    case TrafficKind::syn: return "syn";
    case TrafficKind::tcp: return "tcp";
  }
  return "?";
}

bool TrafficGroup::active_at(TimeNs t, TimeNs duration) const {
  if (t < from_ns || t >= end_ns(duration)) return false;
  if (!pulse) return true;
  TimeNs period = pulse->on_ns + pulse->off_ns;
  return (t - from_ns) % period < pulse->on_ns;
}

std::optional<TimeNs> Scenario::onset_ns() const {
  std::optional<TimeNs> t;
  for (const auto& g : traffic)
    if (g.cls == TrafficClass::attack) t = std::min(t.value_or(g.from_ns), g.from_ns);
  return t;
}

std::optional<TimeNs> Scenario::attack_end_ns() const {
  std::optional<TimeNs> t;
  for (const auto& g : traffic) {
    if (g.cls != TrafficClass::attack) continue;
    TimeNs end = g.end_ns(duration_ns);
    if (g.pulse) {  // the end of the last "on" phase that starts before end
      TimeNs period = g.pulse->on_ns + g.pulse->off_ns;
      TimeNs last_start = g.from_ns + ((end - 1 - g.from_ns) / period) * period;
      end = std::min(end, last_start + g.pulse->on_ns);
    }
    t = std::max(t.value_or(end), end);
  }
  return t;
}

bool Scenario::any_attack_active(TimeNs t) const {
  return std::any_of(traffic.begin(), traffic.end(),
                     [&](const TrafficGroup& g) { return g.cls == TrafficClass::attack && g.active_at(t, duration_ns); });
}

namespace {

using plan::Diagnostic;
using plan::YamlReader;

template <class T>
void set_if(std::optional<T> v, T& out) {
  if (v) out = *v;
}

struct Parser {
  YamlReader& r;
  Scenario& s;

  std::optional<TimeNs> time(const YAML::Node& n, const std::string& field) { return r.duration(n, field); }

  void node_spec(const YAML::Node& n) {
    if (!r.expect_map(n, "node")) return;
    r.check_keys(n, "node", {"mode", "peer_mtu", "udp_capacity_pps", "max_rules"});
    if (n["mode"]) {
      auto m = r.string(n["mode"], "node.mode");
      if (m && *m != "auto" && *m != "native" && *m != "generic" && *m != "tc")
        r.error(n["mode"], "node.mode", "expected auto, native, generic or tc, got " + YamlReader::describe(n["mode"]));
      else
        set_if(m, s.node.mode);
    }
    if (n["peer_mtu"])
      if (auto v = r.integer(n["peer_mtu"], "node.peer_mtu", 68, 65535, "an MTU in bytes"))
        s.node.peer_mtu = static_cast<std::uint32_t>(*v);
    if (n["udp_capacity_pps"])
      if (auto v = r.integer(n["udp_capacity_pps"], "node.udp_capacity_pps", 0, 10'000'000, "packets per second"))
        s.node.udp_capacity_pps = static_cast<std::uint32_t>(*v);
    if (n["max_rules"])
      if (auto v = r.integer(n["max_rules"], "node.max_rules", 0, 10'000'000, "a rule count"))
        s.node.max_rules = static_cast<std::uint32_t>(*v);
  }

  void threshold(const YAML::Node& n) {
    if (!r.expect_map(n, "threshold")) return;
    r.check_keys(n, "threshold", {"pps", "ttl"});
    if (n["pps"]) set_if(r.number(n["pps"], "threshold.pps", 1, 1e9, "packets per second"), s.threshold.pps);
    if (n["ttl"]) set_if(time(n["ttl"], "threshold.ttl"), s.threshold.ttl_ns);
  }

  void group(const YAML::Node& n, std::size_t i) {
    std::string f = "traffic[" + std::to_string(i) + "]";
    if (!r.expect_map(n, f)) return;
    r.check_keys(n, f, {"name", "class", "kind", "sources", "count", "pps", "rate", "size", "from", "until", "pulse",
                        "wave"});
    TrafficGroup g;
    if (auto name = r.string(n["name"], f + ".name")) {
      g.name = *name;
      f = "traffic[" + g.name + "]";
    }
    if (auto c = r.string(n["class"], f + ".class")) {
      if (*c == "benign")
        g.cls = TrafficClass::benign;
      else if (*c == "attack")
        g.cls = TrafficClass::attack;
      else
        r.error(n["class"], f + ".class", "expected benign or attack, got " + YamlReader::describe(n["class"]));
    }
    if (auto k = r.string(n["kind"], f + ".kind")) {
      if (*k == "udp")
        g.kind = TrafficKind::udp;
      else if (*k == "syn")
        g.kind = TrafficKind::syn;
      else if (*k == "tcp")
        g.kind = TrafficKind::tcp;
      else
        r.error(n["kind"], f + ".kind", "expected udp, syn or tcp, got " + YamlReader::describe(n["kind"]));
    }
    if (g.kind == TrafficKind::tcp && g.cls == TrafficClass::attack)
      r.error(n["kind"], f + ".kind", "tcp groups are real connections from the clients: they must be benign",
              "use kind: syn for a TCP attack");
    if (n["count"])
      if (auto v = r.integer(n["count"], f + ".count", 1, 1 << 20, "a number of sources (or connections)"))
        g.count = static_cast<std::uint32_t>(*v);
    if (g.kind == TrafficKind::tcp) {
      if (n["rate"]) {
        set_if(r.bit_rate(n["rate"], f + ".rate"), g.rate_bps);
      } else {
        r.error(n, f + ".rate", "a tcp group needs `rate:` (e.g. 20Mbit)");
      }
      if (n["sources"] || n["pps"])
        r.error(n, f, "a tcp group connects from the clients' own addresses: drop `sources:` and `pps:`");
      if (g.count > 64) r.error(n["count"], f + ".count", "at most 64 connections per tcp group");
    } else if (!n["sources"]) {
      r.error(n, f + ".sources", std::string("a ") + (g.kind == TrafficKind::syn ? "syn" : "udp") +
                                     " group needs `sources:`, the prefixes its crafted addresses are picked in",
              "e.g. sources: 203.0.113.0/24");
    } else {
      if (auto p = r.prefix_list(n["sources"], f + ".sources")) {
        g.sources = *p;
        std::uint64_t room = 0;
        for (const auto& pre : g.sources) {
          if (pre.family != 4) r.error(n["sources"], f + ".sources", "only IPv4 sources are generated today");
          room += pre.len >= 31 ? 1 : (std::uint64_t{1} << (32 - pre.len)) - 2;
        }
        if (room < g.count)
          r.error(n["count"] ? n["count"] : n, f + ".count",
                  std::to_string(g.count) + " sources do not fit in the given prefixes (" + std::to_string(room) +
                      " addresses)");
      }
      if (auto v = r.number(n["pps"], f + ".pps", 1, 5e6, "packets per second")) g.pps = *v;
      if (n["size"])
        if (auto v = r.integer(n["size"], f + ".size", 16, 1400, "payload bytes")) g.size = static_cast<std::uint32_t>(*v);
    }
    if (n["from"]) set_if(time(n["from"], f + ".from"), g.from_ns);
    if (n["until"]) g.until_ns = time(n["until"], f + ".until");
    if (n["pulse"] && r.expect_map(n["pulse"], f + ".pulse")) {
      r.check_keys(n["pulse"], f + ".pulse", {"on", "off"});
      auto on = time(n["pulse"]["on"], f + ".pulse.on");
      auto off = time(n["pulse"]["off"], f + ".pulse.off");
      if (on && off) {
        if (*on <= 0 || *off <= 0)
          r.error(n["pulse"], f + ".pulse", "on and off must both be longer than 0s");
        else
          g.pulse = Pulse{*on, *off};
      }
    }
    if (n["wave"] && r.expect_map(n["wave"], f + ".wave")) {
      r.check_keys(n["wave"], f + ".wave", {"size", "every"});
      auto size = r.integer(n["wave"]["size"], f + ".wave.size", 1, 1 << 20, "sources sending at once");
      auto every = time(n["wave"]["every"], f + ".wave.every");
      if (g.kind == TrafficKind::tcp)
        r.error(n["wave"], f + ".wave", "a tcp group's connections all run at once: waves are for udp and syn groups");
      else if (g.pulse)
        r.error(n["wave"], f + ".wave", "a group has either `pulse:` or `wave:`, not both");
      else if (size && every) {
        if (*every <= 0)
          r.error(n["wave"]["every"], f + ".wave.every", "expected a time longer than 0s");
        else if (static_cast<std::uint32_t>(*size) > g.count)
          r.error(n["wave"]["size"], f + ".wave.size",
                  "a wave of " + std::to_string(*size) + " is more than the group's " + std::to_string(g.count) +
                      " sources");
        else
          g.wave = Wave{static_cast<std::uint32_t>(*size), *every};
      }
    }
    for (const auto& other : s.traffic)
      if (other.name == g.name) r.error(n["name"], f + ".name", "two traffic groups are named " + g.name);
    s.traffic.push_back(std::move(g));
  }

  void events(const YAML::Node& n) {
    if (!n.IsSequence()) {
      r.error(n, "events", "expected a list of {at, do}, got " + YamlReader::describe(n));
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      std::string f = "events[" + std::to_string(i) + "]";
      if (!r.expect_map(n[i], f)) continue;
      r.check_keys(n[i], f, {"at", "do"});
      ScenarioEvent e;
      set_if(time(n[i]["at"], f + ".at"), e.at_ns);
      if (auto d = r.string(n[i]["do"], f + ".do")) {
        if (*d == "kill_daemon")
          e.action = ScenarioAction::kill_daemon;
        else if (*d == "start_daemon")
          e.action = ScenarioAction::start_daemon;
        else
          r.error(n[i]["do"], f + ".do", "expected kill_daemon (kill -9) or start_daemon, got " +
                                             YamlReader::describe(n[i]["do"]));
      }
      s.events.push_back(e);
    }
  }

  void path(const YAML::Node& n) {
    if (!r.expect_map(n, "path")) return;
    r.check_keys(n, "path", {"bottleneck", "bulk", "background"});
    if (const auto& b = n["bottleneck"]; b && r.expect_map(b, "path.bottleneck")) {
      r.check_keys(b, "path.bottleneck", {"rate", "buffer"});
      auto rate = r.bit_rate(b["rate"], "path.bottleneck.rate");
      auto buf = time(b["buffer"], "path.bottleneck.buffer");
      if (rate && buf) s.bottleneck = PathBottleneck{*rate, *buf};
    }
    if (const auto& b = n["bulk"]; b && r.expect_map(b, "path.bulk")) {
      r.check_keys(b, "path.bulk", {"flows", "from", "until"});
      BulkUpload u;
      if (b["flows"])
        if (auto v = r.integer(b["flows"], "path.bulk.flows", 1, 16, "TCP connections")) u.flows = static_cast<std::uint32_t>(*v);
      if (b["from"]) set_if(time(b["from"], "path.bulk.from"), u.from_ns);
      if (b["until"]) u.until_ns = time(b["until"], "path.bulk.until");
      s.bulk = u;
    }
    if (const auto& b = n["background"]; b && r.expect_map(b, "path.background")) {
      r.check_keys(b, "path.background", {"rate"});
      if (auto rate = r.bit_rate(b["rate"], "path.background.rate")) s.background = BackgroundUpload{*rate};
    }
  }

  void expect(const YAML::Node& n) {
    if (!r.expect_map(n, "expect")) return;
    r.check_keys(n, "expect", {"onset_to_drop_ms", "recovered_ms", "false_blocks", "rules_left",
                               "attack_delivered_ratio", "rules_gone_lag_ms", "rtt_p99_late_ms"});
    auto num = [&](const char* k, std::optional<double>& out) {
      if (n[k]) out = r.number(n[k], std::string("expect.") + k, 0, 1e9, "a maximum");
    };
    auto count = [&](const char* k, std::optional<std::uint64_t>& out) {
      if (n[k])
        if (auto v = r.integer(n[k], std::string("expect.") + k, 0, 1'000'000'000, "a maximum count"))
          out = static_cast<std::uint64_t>(*v);
    };
    num("onset_to_drop_ms", s.expect.onset_to_drop_ms_max);
    num("recovered_ms", s.expect.recovered_ms_max);
    num("attack_delivered_ratio", s.expect.attack_delivered_ratio_max);
    num("rules_gone_lag_ms", s.expect.rules_gone_lag_ms_max);
    num("rtt_p99_late_ms", s.expect.rtt_p99_late_ms_max);
    count("false_blocks", s.expect.false_blocks_max);
    count("rules_left", s.expect.rules_left_max);
  }

  void top(const YAML::Node& root) {
    if (!r.expect_map(root, "")) return;
    r.check_keys(root, "", {"name", "description", "duration", "settle_max", "tick", "node", "threshold", "traffic",
                            "events", "path", "expect"});
    set_if(r.string(root["name"], "name"), s.name);
    if (root["description"]) set_if(r.string(root["description"], "description"), s.description);
    if (auto d = time(root["duration"], "duration")) {
      if (*d <= 0)
        r.error(root["duration"], "duration", "must be longer than 0s");
      else
        s.duration_ns = *d;
    }
    if (root["settle_max"]) set_if(time(root["settle_max"], "settle_max"), s.settle_max_ns);
    if (root["tick"]) {
      if (auto t = time(root["tick"], "tick")) {
        if (*t < 50 * kNsPerMs)
          r.error(root["tick"], "tick", "the loop's tick is at least 50ms");
        else
          s.tick_ns = *t;
      }
    }
    if (root["node"]) node_spec(root["node"]);
    if (root["threshold"]) threshold(root["threshold"]);
    const auto& t = root["traffic"];
    if (!t || !t.IsSequence() || t.size() == 0) {
      r.error(t ? t : root, "traffic", "expected a list of traffic groups (at least one)");
    } else {
      for (std::size_t i = 0; i < t.size(); ++i) group(t[i], i);
    }
    if (root["events"]) events(root["events"]);
    if (root["path"]) path(root["path"]);
    if (root["expect"]) expect(root["expect"]);
  }
};

}  // namespace

Result<Scenario> parse_scenario(const std::string& text, const std::string& file) {
  std::vector<Diagnostic> diags;
  auto docs = plan::parse_yaml_documents(text, file, diags);
  Scenario s;
  s.file = file;
  if (diags.empty() && docs.size() != 1)
    diags.push_back({Diagnostic::Level::error, plan::SourceLoc{file, 1, 1}, "",
                     "expected one YAML document, found " + std::to_string(docs.size()), ""});
  if (diags.empty()) {
    YamlReader r(file, diags);
    Parser p{r, s};
    p.top(docs[0]);
  }
  std::string errors;
  int n = 0;
  for (const auto& d : diags) {
    if (d.level != Diagnostic::Level::error) continue;
    errors += (errors.empty() ? "" : "\n") + d.to_string();
    ++n;
  }
  if (n) return make_error(errors, std::to_string(n) + " error(s) in " + file + "; see docs/scenarios.md");
  return s;
}

Result<Scenario> load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error("open scenario " + path, errno, "give the path of a file in sim/scenarios/");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str(), path);
}

std::vector<std::uint32_t> group_sources(const TrafficGroup& g) {
  // Spread evenly over the prefixes, skipping network and broadcast
  // addresses, so a /24 of 256 sources and a /16 of 1000 both look real.
  std::vector<std::uint32_t> out;
  out.reserve(g.count);
  std::uint64_t room = 0;
  for (const auto& p : g.sources) room += p.len >= 31 ? 1 : (std::uint64_t{1} << (32 - p.len)) - 2;
  if (room == 0) return out;
  for (std::uint32_t i = 0; i < g.count; ++i) {
    std::uint64_t k = room >= g.count ? i * (room / g.count) : i % room;
    for (const auto& p : g.sources) {
      std::uint64_t n = p.len >= 31 ? 1 : (std::uint64_t{1} << (32 - p.len)) - 2;
      if (k < n) {
        out.push_back(p.v4_host_order() + static_cast<std::uint32_t>(p.len >= 31 ? 0 : k + 1));
        break;
      }
      k -= n;
    }
  }
  return out;
}

}  // namespace reflex::sim
