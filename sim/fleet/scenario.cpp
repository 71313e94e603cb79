#include "sim/fleet/scenario.h"

#include "plan/yaml_reader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace reflex::sim::fleet {
namespace {

using plan::YamlReader;

template <class T, class U>
void set(const std::optional<T>& v, U& dst) {
  if (v) dst = static_cast<U>(*v);
}

class Parser {
 public:
  Parser(const std::string& file, std::vector<plan::Diagnostic>& out) : r_(file, out) {}

  void parse(const YAML::Node& root, FleetScenario& s) {
    if (!r_.expect_map(root, "")) return;
    r_.check_keys(root, "",
                  {"name", "description", "duration", "tick", "seed", "nodes", "mesh", "bus", "benign", "attacks",
                   "flaps", "poison", "policies", "top_talkers", "expect"});
    if (auto n = root["name"]) set(r_.string(n, "name"), s.name);
    else r_.error(root, "name", "missing: the scenario's name");
    if (auto n = root["description"]) set(r_.string(n, "description"), s.description);
    if (auto n = root["duration"]) dur(n, "duration", s.duration, kNsPerSec, 7 * 24 * 3600 * kNsPerSec);
    if (auto n = root["tick"]) dur(n, "tick", s.tick, 50 * kNsPerMs, 60 * kNsPerSec);
    if (auto n = root["seed"]) set(r_.integer(n, "seed", 0, INT64_MAX, "a seed"), s.seed);
    if (auto n = root["nodes"]) set(r_.integer(n, "nodes", 1, 100000, "a number of nodes"), s.nodes);
    else r_.error(root, "nodes", "missing: how many nodes the fleet has");
    if (auto n = root["top_talkers"]) set(r_.integer(n, "top_talkers", 1, 1024, "a number of talkers"), s.top_talkers);
    if (auto n = root["mesh"]) mesh(n, s);
    if (auto n = root["bus"]) bus(n, s.bus);
    if (auto n = root["benign"]) benign(n, s.benign);
    if (auto n = root["attacks"]) list(n, "attacks", [&](const YAML::Node& a, const std::string& f) { attack(a, f, s); });
    if (auto n = root["flaps"]) list(n, "flaps", [&](const YAML::Node& a, const std::string& f) { flap(a, f, s); });
    if (auto n = root["poison"]) list(n, "poison", [&](const YAML::Node& a, const std::string& f) { poison(a, f, s); });
    if (auto n = root["policies"]) set(r_.string(n, "policies"), s.policies);
    if (auto n = root["expect"]) expect(n, s.expect);
    if (s.bus.server_node >= s.nodes) r_.error(root["bus"], "bus.server_node", "must be a node of the mesh (0 .. nodes-1)");
  }

 private:
  void dur(const YAML::Node& n, const std::string& f, TimeNs& dst, TimeNs min, TimeNs max) {
    if (auto d = r_.duration(n, f)) {
      if (*d < min || *d > max) r_.error(n, f, "out of range, got " + YamlReader::describe(n));
      else dst = *d;
    }
  }
  template <class F>
  void list(const YAML::Node& n, const std::string& f, F each) {
    if (!n.IsSequence()) {
      r_.error(n, f, "expected a list, got " + YamlReader::describe(n));
      return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) each(n[i], f + "[" + std::to_string(i) + "]");
  }
  int node_index(const YAML::Node& n, const std::string& f, const FleetScenario& s) {
    auto v = r_.integer(n, f, 0, 100000, "a node index");
    if (v && *v >= s.nodes) {
      r_.error(n, f, "node " + std::to_string(*v) + " is not in a fleet of " + std::to_string(s.nodes));
      return 0;
    }
    return v ? static_cast<int>(*v) : 0;
  }

  void mesh(const YAML::Node& n, FleetScenario& s) {
    if (!r_.expect_map(n, "mesh")) return;
    r_.check_keys(n, "mesh", {"layout"});
    if (auto v = n["layout"]) {
      auto l = r_.string(v, "mesh.layout");
      if (l == "grid") s.layout = Layout::grid;
      else if (l == "ring") s.layout = Layout::ring;
      else if (l == "line") s.layout = Layout::line;
      else if (l) r_.error(v, "mesh.layout", "expected grid, ring or line, got " + YamlReader::describe(v));
    }
  }

  void bus(const YAML::Node& n, BusSpec& b) {
    if (!r_.expect_map(n, "bus")) return;
    r_.check_keys(n, "bus", {"latency", "per_hop", "jitter", "loss", "server_node"});
    if (auto v = n["latency"]) dur(v, "bus.latency", b.latency, 0, 60 * kNsPerSec);
    if (auto v = n["per_hop"]) dur(v, "bus.per_hop", b.per_hop, 0, 60 * kNsPerSec);
    if (auto v = n["jitter"]) dur(v, "bus.jitter", b.jitter, 0, 60 * kNsPerSec);
    if (auto v = n["loss"]) set(r_.number(v, "bus.loss", 0, 1, "a probability"), b.loss);
    if (auto v = n["server_node"]) set(r_.integer(v, "bus.server_node", 0, 100000, "a node index"), b.server_node);
  }

  void benign(const YAML::Node& n, BenignSpec& b) {
    if (!r_.expect_map(n, "benign")) return;
    r_.check_keys(n, "benign", {"sources", "pps", "spread", "wobble", "packet_bytes"});
    if (auto v = n["sources"]) set(r_.integer(v, "benign.sources", 0, 1000, "sources per node"), b.sources);
    if (auto v = n["pps"]) set(r_.number(v, "benign.pps", 0, 1e7, "packets per second"), b.pps);
    if (auto v = n["spread"]) set(r_.number(v, "benign.spread", 0, 5, "a lognormal sigma"), b.spread);
    if (auto v = n["wobble"]) set(r_.number(v, "benign.wobble", 0, 1, "a relative noise"), b.wobble);
    if (auto v = n["packet_bytes"]) set(r_.integer(v, "benign.packet_bytes", 60, 9000, "bytes"), b.packet_bytes);
  }

  void attack(const YAML::Node& n, const std::string& f, FleetScenario& s) {
    if (!r_.expect_map(n, f)) return;
    r_.check_keys(n, f,
                  {"name", "kind", "prefix", "sources", "pps", "spread", "start", "dwell", "duration", "entries",
                   "from_node", "proto", "port", "packet_bytes"});
    AttackSpec a;
    a.name = "attack-" + std::to_string(s.attacks.size() + 1);
    if (auto v = n["name"]) set(r_.string(v, f + ".name"), a.name);
    if (auto v = n["kind"]) {
      auto k = r_.string(v, f + ".kind");
      if (k == "moving") a.kind = AttackKind::moving;
      else if (k == "spread") a.kind = AttackKind::spread;
      else if (k) r_.error(v, f + ".kind", "expected moving or spread, got " + YamlReader::describe(v));
    }
    if (auto v = n["prefix"]) {
      if (auto p = r_.prefix(v, f + ".prefix")) a.prefix = *p;
    } else {
      r_.error(n, f + ".prefix", "missing: the attackers' prefix");
    }
    if (auto v = n["sources"]) set(r_.integer(v, f + ".sources", 1, 65536, "a number of hosts"), a.sources);
    if (auto v = n["pps"]) set(r_.number(v, f + ".pps", 0, 1e9, "packets per second"), a.pps);
    if (auto v = n["spread"]) set(r_.number(v, f + ".spread", 0, 5, "a lognormal sigma"), a.spread);
    if (auto v = n["start"]) dur(v, f + ".start", a.start, 0, s.duration);
    if (auto v = n["dwell"]) dur(v, f + ".dwell", a.dwell, kNsPerSec, s.duration);
    if (auto v = n["duration"]) dur(v, f + ".duration", a.duration, kNsPerSec, s.duration);
    if (auto v = n["entries"]) set(r_.integer(v, f + ".entries", 1, 100000, "a number of entry nodes"), a.entries);
    if (auto v = n["from_node"]) a.from_node = node_index(v, f + ".from_node", s);
    if (auto v = n["proto"]) {
      auto p = r_.string(v, f + ".proto");
      if (p == "udp") a.proto = 17;
      else if (p == "tcp") a.proto = 6;
      else if (p) r_.error(v, f + ".proto", "expected udp or tcp, got " + YamlReader::describe(v));
    }
    if (auto v = n["port"]) set(r_.integer(v, f + ".port", 0, 65535, "a port"), a.port);
    if (auto v = n["packet_bytes"]) set(r_.integer(v, f + ".packet_bytes", 60, 9000, "bytes"), a.packet_bytes);
    if (a.kind == AttackKind::moving && !n["dwell"]) r_.error(n, f + ".dwell", "a moving attack needs `dwell`");
    if (a.kind == AttackKind::spread && !n["duration"]) r_.error(n, f + ".duration", "a spread attack needs `duration`");
    if (a.entries > s.nodes) r_.error(n, f + ".entries", "more entry nodes than the fleet has");
    const unsigned host_bits = a.prefix.max_len() - a.prefix.len;
    if (host_bits < 31 && (1ull << host_bits) < static_cast<unsigned long long>(a.sources))
      r_.error(n, f + ".sources", "more sources than " + a.prefix.to_string() + " holds");
    s.attacks.push_back(std::move(a));
  }

  void flap(const YAML::Node& n, const std::string& f, FleetScenario& s) {
    if (!r_.expect_map(n, f)) return;
    r_.check_keys(n, f, {"nodes", "random", "at", "for", "repeat", "every"});
    FlapSpec fl;
    if (auto v = n["nodes"]) {
      if (!v.IsSequence()) r_.error(v, f + ".nodes", "expected a list of node indexes");
      else
        for (std::size_t i = 0; i < v.size(); ++i) fl.nodes.push_back(node_index(v[i], f + ".nodes", s));
    }
    if (auto v = n["random"]) set(r_.integer(v, f + ".random", 1, 100000, "a number of nodes"), fl.random);
    if (fl.nodes.empty() && fl.random == 0) r_.error(n, f, "name `nodes:` or a `random:` count");
    if (auto v = n["at"]) dur(v, f + ".at", fl.at, 0, s.duration);
    if (auto v = n["for"]) dur(v, f + ".for", fl.length, kNsPerSec, s.duration);
    else r_.error(n, f + ".for", "missing: how long the links stay down");
    if (auto v = n["repeat"]) set(r_.integer(v, f + ".repeat", 1, 100000, "a count"), fl.repeat);
    if (auto v = n["every"]) dur(v, f + ".every", fl.every, kNsPerSec, s.duration);
    if (fl.repeat > 1 && fl.every == 0) r_.error(n, f + ".every", "a repeated flap needs `every`");
    s.flaps.push_back(std::move(fl));
  }

  void poison(const YAML::Node& n, const std::string& f, FleetScenario& s) {
    if (!r_.expect_map(n, f)) return;
    r_.check_keys(n, f, {"node", "start", "every", "prefixes"});
    PoisonSpec p;
    if (auto v = n["node"]) p.node = node_index(v, f + ".node", s);
    else r_.error(n, f + ".node", "missing: which node lies");
    if (auto v = n["start"]) dur(v, f + ".start", p.start, 0, s.duration);
    if (auto v = n["every"]) dur(v, f + ".every", p.every, kNsPerSec, s.duration);
    if (auto v = n["prefixes"]) {
      if (v.IsScalar() && v.Scalar() == "benign") {
      } else if (auto l = r_.prefix_list(v, f + ".prefixes")) {
        p.prefixes = *l;
      }
    }
    s.poison.push_back(std::move(p));
  }

  void expect(const YAML::Node& n, Expectations& e) {
    if (!r_.expect_map(n, "expect")) return;
    r_.check_keys(n, "expect", {"max_coop_delivered_ratio", "max_poison_benign_dropped"});
    if (auto v = n["max_coop_delivered_ratio"])
      e.max_coop_delivered_ratio = r_.number(v, "expect.max_coop_delivered_ratio", 0, 10, "a ratio");
    if (auto v = n["max_poison_benign_dropped"])
      e.max_poison_benign_dropped = r_.number(v, "expect.max_poison_benign_dropped", 0, 1e18, "packets");
  }

  YamlReader r_;
};

}  // namespace

std::string ScenarioReport::errors() const {
  std::string out;
  for (const auto& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

ScenarioReport parse_fleet_scenario(const std::string& text, const std::string& file) {
  ScenarioReport rep;
  auto docs = plan::parse_yaml_documents(text, file, rep.diagnostics);
  if (docs.empty()) {
    if (rep.diagnostics.empty()) rep.diagnostics.push_back({plan::Diagnostic::Level::error, {file, 0, 0}, "", "empty scenario"});
    return rep;
  }
  FleetScenario s;
  s.file = file;
  Parser p(file, rep.diagnostics);
  p.parse(docs.front(), s);
  for (const auto& d : rep.diagnostics)
    if (d.level == plan::Diagnostic::Level::error) return rep;
  if (!s.policies.empty() && std::filesystem::path(s.policies).is_relative())
    s.policies = (std::filesystem::path(file).parent_path() / s.policies).lexically_normal().string();
  rep.scenario = std::move(s);
  return rep;
}

ScenarioReport load_fleet_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ScenarioReport rep;
    rep.diagnostics.push_back({plan::Diagnostic::Level::error, {path, 0, 0}, "", "cannot read the scenario file",
                               "check the path"});
    return rep;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_fleet_scenario(ss.str(), path);
}

bool looks_like_fleet_scenario(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("nodes:", 0) == 0) return true;
  return false;
}

}  // namespace reflex::sim::fleet
