#pragma once
// What the Monitor watches and how often.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "guard/compiler.h"
#include "guard/guard.h"

namespace reflex::monitor {

// An interface as the operator names it: "eth0", or "veth1@ns2" for one in
// the network namespace ns2 (/run/netns/ns2). key is the name used in the
// Observation and the JSON output.
struct InterfaceRef {
  std::string key;
  std::string name;
  std::string netns;  // "" = the Monitor's own namespace
};

// "IF" or "IF@NETNS"; default_netns applies to a bare "IF".
Result<InterfaceRef> parse_interface_ref(const std::string& text, const std::string& default_netns = {});

struct MonitorConfig {
  std::vector<InterfaceRef> interfaces;
  std::chrono::milliseconds interval{1000};
  static constexpr std::chrono::milliseconds kMinInterval{50};

  // Guard pins (as reflex-guard --pin-root) and its rule cap (the rules map's "max_entries").
  std::string pin_root = guard::kDefaultPinRoot;
  std::size_t max_rules = guard::kDefaultMaxRules;

  // Probes beyond the per-interface ones; all on by default.
  bool guard = true, drop_reasons = true, tcp_rtt = true, map_pressure = true;

  std::size_t top_talkers = 16;  // per interface, by pps
  std::size_t top_networks = 16; // per interface: /24s and /64s by their hosts' summed pps
  std::size_t top_rules = 10;         // per interface, by pps
  std::size_t max_drop_samples = 64;  // sampled guard drops kept per tick (all are counted)
  // Measure the guard's run time per packet on one tick in every N (0: never,
  // the default). Each window switches BPF_ENABLE_STATS on and off, and each
  // switch patches kernel text: 10-30 ms during which, on the 2-vCPU guest
  // measured, no other thread of the process ran (docs/monitor.md "Run time").
  unsigned run_time_every = 0;

  // Retry of a failed probe: initial delay, doubling up to max.
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};

  // TCP retransmits per interface (bpf/tcp_retrans.bpf.c), like the probes above.
  bool tcp_retrans = true;
};

Status validate(const MonitorConfig& c);

}  // namespace reflex::monitor
