#pragma once
// A fleet scenario (sim/scenarios/fleet-*.yaml): a mesh of simulated nodes,
// the benign traffic each sees, attacks that move between entry nodes or
// spread thin over many, link flaps, poisoned nodes, and the bus between
// them. Loading reports every mistake at once, file:line:col, like policies.
// docs/fleet.md describes every field.

#include "common/prefix.h"
#include "common/result.h"
#include "knowledge/time.h"
#include "plan/diagnostic.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reflex::sim::fleet {

enum class Layout { grid, ring, line };

struct BusSpec {
  TimeNs latency = 2 * kNsPerMs;   // to and from the NATS server, base
  TimeNs per_hop = 3 * kNsPerMs;   // added per mesh hop to and from the server's node
  TimeNs jitter = 2 * kNsPerMs;    // uniform in [0, jitter)
  double loss = 0;                 // each delivery lost with this probability
  int server_node = 0;             // where the NATS server sits in the mesh
};

struct BenignSpec {
  int sources = 40;       // per node
  double pps = 200;       // median per source
  double spread = 0.4;    // lognormal sigma of the per-source median
  double wobble = 0.1;    // per-tick relative noise
  int packet_bytes = 600;
};

enum class AttackKind { moving, spread };

struct AttackSpec {
  std::string name;
  AttackKind kind = AttackKind::moving;
  Prefix prefix;           // the attackers' prefix
  int sources = 2;         // hosts in it
  double pps = 5000;       // per entry node, all sources together (spread: median per entry)
  double spread = 0;       // spread attacks: lognormal sigma of the per-entry rate
  TimeNs start = 0;
  TimeNs dwell = 0;        // moving: time at each entry node
  TimeNs duration = 0;     // spread: how long it lasts
  int entries = 1;         // moving: entry nodes visited in turn; spread: entry nodes hit at once
  std::optional<int> from_node;  // moving: the first entry node (default: drawn)
  std::uint8_t proto = 17;
  std::uint16_t port = 53;
  int packet_bytes = 100;
};

struct FlapSpec {
  std::vector<int> nodes;  // explicit nodes, or
  int random = 0;          // this many drawn at random
  TimeNs at = 0, length = 0;
  int repeat = 1;          // times, `every` apart
  TimeNs every = 0;
};

struct PoisonSpec {
  int node = 0;
  TimeNs start = 0;
  TimeNs every = 30 * kNsPerSec;  // one false verdict per this
  // What it lies about: prefixes carrying benign traffic ("benign", the
  // harmful lie), or the listed ones.
  std::vector<Prefix> prefixes;
};

struct Expectations {
  std::optional<double> max_coop_delivered_ratio;  // coop-on / coop-off attack packets delivered, moving attacks
  std::optional<double> max_poison_benign_dropped;  // benign packets dropped fleet-wide with cooperation on
};

struct FleetScenario {
  std::string name, description, file;
  TimeNs duration = 10 * 60 * kNsPerSec;
  TimeNs tick = kNsPerSec;
  std::uint64_t seed = 1;
  int nodes = 10;
  Layout layout = Layout::grid;
  BusSpec bus;
  BenignSpec benign;
  std::vector<AttackSpec> attacks;
  std::vector<FlapSpec> flaps;
  std::vector<PoisonSpec> poison;
  std::string policies;  // folder; "" = the repository's policies/
  int top_talkers = 16;
  Expectations expect;
};

struct ScenarioReport {
  std::optional<FleetScenario> scenario;
  std::vector<plan::Diagnostic> diagnostics;
  bool ok() const { return scenario.has_value(); }
  std::string errors() const;
};

ScenarioReport parse_fleet_scenario(const std::string& text, const std::string& file);
ScenarioReport load_fleet_scenario(const std::string& path);

// Is this file a fleet scenario (its top level has `nodes:`)? For tools that
// read every file of sim/scenarios/.
bool looks_like_fleet_scenario(const std::string& path);

}  // namespace reflex::sim::fleet
