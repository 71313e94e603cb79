#pragma once
// A source of observations. The Monitor owns a list of probes and, every
// tick, asks each to add what it sees to one Observation. Real probes read
// the kernel (guard maps, netlink, tracepoint aggregates); sim/ and unit
// tests implement the same interface to feed the same Observation types
// without one.
//
// A probe that fails (map gone, program detached, permission lost) returns
// an error; the Monitor reports it as degraded with that reason, closes it,
// and reopens it later with exponential backoff. Trouble that does not stop
// the probe from reading (an interface missing, a guard detached by someone
// else) is reported with TickContext::degrade() instead.

#include <boost/asio/io_context.hpp>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "knowledge/observation.h"
#include "knowledge/time.h"

namespace reflex::monitor {

// Where an interface is, as BPF programs see it.
struct IfaceId {
  std::uint32_t netns_ino = 0;  // nsfs inode of its namespace (net->ns.inum)
  std::uint32_t ifindex = 0;
  auto operator<=>(const IfaceId&) const = default;
};

// A map reflex owns that can fill up, for the map pressure probe.
struct OwnedMap {
  std::string name;          // "veth0/talkers", "drop_reasons"
  std::uint32_t map_id = 0;  // the kernel's map id: entries are counted (hash maps)
  std::uint64_t max_entries = 0;
  std::optional<std::uint64_t> entries;  // set when the owner knows the fill itself (e.g. rules in force)
};

// BPF_ENABLE_STATS window: the Monitor turns run-time accounting on for one
// tick now and then (it costs every BPF program ~40 ns per run while on,
// measured by monitor_bench stats).
enum class RunTimeWindow { none, begin, end };

struct TickContext {
  TimeNs now_ns = 0;
  double dt_s = 0;  // since the previous tick; 0 on the first
  std::uint64_t seq = 0;
  RunTimeWindow run_time = RunTimeWindow::none;
  // Interfaces found this tick, by the operator's name for them (filled by the link probes, which run first).
  std::map<std::string, IfaceId> ifaces;
  std::vector<OwnedMap> maps;       // filled by the probes, read by the map pressure probe (last)
  std::vector<DegradedProbe> soft;  // see degrade()

  // The probe keeps working but something it watches is wrong.
  void degrade(std::string probe, std::string reason) {
    soft.push_back({std::move(probe), std::move(reason)});
  }

  // The operator's name of the interface at id, or nullptr.
  const std::string* iface_at(IfaceId id) const {
    for (const auto& [key, at] : ifaces)
      if (at == id) return &key;
    return nullptr;
  }
};

class Probe {
 public:
  virtual ~Probe() = default;
  // Stable, shown in Observation::degraded: "guard:eth0", "drop_reasons".
  virtual std::string name() const = 0;
  // Acquires what the probe reads (loads programs, opens maps, subscribes
  // ring buffers on io). Called again after close() when retrying.
  virtual Status open(boost::asio::io_context& io) = 0;
  // Adds this tick's values to obs.
  virtual Status sample(TickContext& ctx, Observation& obs) = 0;
  // Releases everything open() acquired. State that keeps counters
  // monotonic across a reopen stays.
  virtual void close() = 0;
};

using ProbePtr = std::unique_ptr<Probe>;

}  // namespace reflex::monitor
