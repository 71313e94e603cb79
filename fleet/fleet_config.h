#pragma once
// The `fleet:` section of reflexd's configuration: how a node joins its peers
// over NATS and how far it trusts them. No section (or `enabled: false`)
// keeps the node fully autonomous, as if the fleet did not exist.
// docs/fleet.md describes every field; parse_fleet_config() reports every
// mistake at once, file:line:col, like the rest of the config.

#include "knowledge/time.h"
#include "plan/diagnostic.h"
#include "plan/yaml_reader.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace reflex::fleet {

struct TlsConfig {
  bool enabled = false;    // also implied by a tls:// server URL
  std::string ca_file;     // PEM: the CA that signed the server's certificate ("" = the system's)
  std::string cert_file;   // PEM client certificate and key, for servers that verify clients
  std::string key_file;
  std::string server_name; // expected name in the server's certificate ("" = the URL's host)
};

// How far this node trusts what peers send (fleet/peer_book.h).
struct TrustConfig {
  double rate_per_minute = 6;   // verdicts a peer may send per minute, sustained
  std::uint32_t burst = 10;     // ... and at once
  TimeNs max_ttl = 30 * 60 * kNsPerSec;  // a peer's verdict counts at most this long
  TimeNs max_age = 5 * 60 * kNsPerSec;   // refused when its time is further than this from ours
  std::size_t max_entries = 4096;        // live peer verdicts kept (memory bound)
  std::vector<std::string> peers;        // node ids accepted ("" list: any the server authenticated)
};

struct FleetConfig {
  bool enabled = false;
  std::string node_id;                 // this node's id ("" = the host name, made a valid id)
  std::vector<std::string> servers;    // nats://host:4222, tls://host:4222
  std::string subject_prefix = "reflex";
  std::string token_file;              // NATS token, in a file of mode 0600
  std::string nkey_seed_file;          // NATS user nkey seed (SU...), in a file of mode 0600
  TlsConfig tls;
  bool publish = true;                 // send this node's verdicts
  bool receive = true;                 // read the peers'
  TimeNs connect_timeout = 2 * kNsPerSec;
  TimeNs reconnect_wait = 2 * kNsPerSec;
  TimeNs ping_interval = 10 * kNsPerSec;   // how soon a dead server is noticed (x2)
  std::size_t reconnect_buffer = 1 << 20;  // bytes of verdicts kept while disconnected
  std::size_t send_queue = 256;            // verdicts waiting for the link before the oldest is dropped
  TrustConfig trust;
};

// Reads `fleet:` (a mapping) into cfg, recording a diagnostic per mistake.
// Checks what can be checked without touching files or the network.
void parse_fleet_config(const YAML::Node& node, plan::YamlReader& r, FleetConfig& cfg);

// Convenience for tests and tools: parses a whole text whose top level is the
// fleet mapping itself.
struct FleetConfigReport {
  FleetConfig config;
  std::vector<plan::Diagnostic> diagnostics;
  bool ok() const;
};
FleetConfigReport parse_fleet_config_text(const std::string& text, const std::string& name);

// The node id to use: cfg.node_id, else the host name with every character a
// NATS subject token may not hold replaced by '-'.
std::string effective_node_id(const FleetConfig& cfg);

}  // namespace reflex::fleet
