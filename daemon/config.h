#pragma once
// reflexd's configuration: one YAML file (`--config PATH`) in which every
// field has a default, so `reflexd run --iface eth0` needs no file at all;
// every field can also be given as a flag, which wins over the file
// (apply_flags). Loading reports every mistake at once, as check-policy does:
// file:line:col, the field, what was expected (`reflexd check-config`).

#include "fleet/fleet_config.h"
#include "guard/attach.h"
#include "guard/compiler.h"
#include "knowledge/time.h"
#include "plan/diagnostic.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reflex::daemon {

inline constexpr const char* kDefaultConfigPath = "/etc/reflex/reflexd.yaml";
inline constexpr const char* kDefaultPolicies = "/etc/reflex/policies";
inline constexpr const char* kDefaultStorePath = "/var/lib/reflex/reflex.db";
inline constexpr const char* kDefaultSocket = "/run/reflex/reflexd.sock";
inline constexpr const char* kDefaultTokenFile = "/etc/reflex/token";
inline constexpr TimeNs kMinTick = 50 * kNsPerMs;
inline constexpr TimeNs kMaxTick = 60 * kNsPerSec;

// An interface reflex guards: "eth0", or "veth1@ns2" for one in the network
// namespace ns2 (/run/netns/ns2).
struct InterfaceConfig {
  std::string key;    // as the operator wrote it: the name in every record and API answer
  std::string name;   // in its namespace
  std::string netns;  // "" = the daemon's own
  std::optional<guard::LoadMode> mode;  // unset: DaemonConfig::mode
};

struct ApiConfig {
  std::string listen = "127.0.0.1:9470";  // "" = no TCP listener
  std::string unix_socket = kDefaultSocket;  // "" = no Unix socket
  std::uint32_t socket_mode = 0660;
  std::string token_file = kDefaultTokenFile;
  std::size_t max_connections = 256;
  std::size_t body_limit = 64 * 1024;
  TimeNs request_timeout = 10 * kNsPerSec;
};

struct StoreConfig {
  std::string path = kDefaultStorePath;  // "none": keep no record (not recommended)
  bool synchronous_full = false;         // synchronous=FULL instead of NORMAL (WAL)
  TimeNs raw_for = 10 * 60 * kNsPerSec;            // observations kept raw
  TimeNs minutes_for = 7 * 24 * 3600 * kNsPerSec;  // 1-minute roll-ups kept
  TimeNs hours_for = 90 * 24 * 3600 * kNsPerSec;   // 1-hour roll-ups kept
  std::uint64_t max_bytes = 1ull << 30;            // the store's disk budget
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";  // text|json
};

struct MonitorSettings {
  std::size_t top_talkers = 16;
  // Measure the guard's run time on one tick in N (0: never, the default: each
  // BPF_ENABLE_STATS switch stalls every CPU for 10-30 ms; docs/monitor.md).
  unsigned run_time_every = 0;
};

struct DaemonConfig {
  std::vector<InterfaceConfig> interfaces;
  guard::LoadMode mode = guard::LoadMode::auto_;
  TimeNs tick = kNsPerSec;
  std::string policies = kDefaultPolicies;
  bool watch_policies = true;
  std::string pin_root = "/sys/fs/bpf/reflex";
  // The guard's rule capacity per interface: Execute refuses rules past it and
  // the Monitor reports the rule table's fill against it (map_pressure).
  std::size_t max_rules = guard::kDefaultMaxRules;
  TimeNs drain = 5 * kNsPerSec;  // SIGTERM: time for in-flight work
  ApiConfig api;
  StoreConfig store;
  LogConfig log;
  MonitorSettings monitor;
  fleet::FleetConfig fleet;  // disabled unless the file has a `fleet:` section (docs/fleet.md)
  std::string source;  // the file it came from ("" = defaults and flags only)

  guard::LoadMode mode_of(const InterfaceConfig& i) const { return i.mode.value_or(mode); }
};

struct ConfigReport {
  std::optional<DaemonConfig> config;  // set only when there is no error
  std::vector<plan::Diagnostic> diagnostics;
  bool ok() const { return config.has_value(); }
};

// Parses a config text (name is used in diagnostics). Pure.
ConfigReport parse_config(const std::string& text, const std::string& name);
// Reads and parses a file; a missing or unreadable file is one diagnostic.
ConfigReport load_config_file(const std::string& path);

// "IF" or "IF@NETNS"; the error names the text and the expected form.
Result<InterfaceConfig> parse_interface(const std::string& text);

// Flags given on the command line; each set one wins over the file.
struct ConfigFlags {
  std::vector<std::string> ifaces;  // replace the file's list when any is given
  std::optional<std::string> mode, listen, unix_socket, token_file, store, policies, log_format, log_level,
      pin_root;
  std::optional<std::int64_t> tick_ms;
  std::optional<bool> watch_policies;
  std::optional<std::int64_t> drain_ms;
  std::optional<std::int64_t> max_rules;
};
// Applies flags over cfg and checks the result as a whole (an interface named
// twice, a tick out of range, an unknown mode): one diagnostic per problem,
// naming the flag.
std::vector<plan::Diagnostic> apply_flags(DaemonConfig& cfg, const ConfigFlags& flags);

}  // namespace reflex::daemon
