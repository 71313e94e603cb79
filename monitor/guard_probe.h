#pragma once
// Everything the XDP guard on one interface shows: per-verdict and per-rule
// counters, top talkers, sampled drop events (its ring buffer, consumed on
// the loop), its run time per packet, its attach state, and the fill of its
// maps that can fill up.
//
// The guard is adopted from its pins (guard::Guard::open), so it may be
// loaded, swapped, re-attached or unloaded by other processes at any time:
// every tick checks the pins still name what was opened, and reopens when a
// reload or re-attach replaced them.

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "guard/guard.h"
#include "monitor/counter.h"
#include "monitor/map_dump.h"
#include "monitor/monitor_config.h"
#include "monitor/probe.h"
#include "monitor/ring_reader.h"
#include "monitor/talker_table.h"

namespace reflex::monitor {

class GuardProbe : public Probe {
 public:
  GuardProbe(InterfaceRef iface, const MonitorConfig& config);
  ~GuardProbe() override;

  std::string name() const override { return "guard:" + iface_.key; }
  Status open(boost::asio::io_context& io) override;
  Status sample(TickContext& ctx, Observation& obs) override;
  void close() override;

 private:
  struct PinIds {
    std::uint64_t ctl = 0, link = 0;  // bpffs inode numbers; 0 = no such pin
    bool operator==(const PinIds&) const = default;
  };
  // The active rule generation, mapped once per rule-set version.
  struct RuleGen {
    std::uint64_t version = 0;
    std::uint32_t n = 0;  // array entries, slot 0 unused
    guard::MapMemory rules, counters;
    std::vector<std::uint64_t> prev_packets;  // per slot, at the previous tick
  };

  PinIds pin_ids() const;
  Status read_verdicts(TickContext& ctx, InterfaceObservation& io);
  Status read_rules(TickContext& ctx, InterfaceObservation& io);
  Status read_talkers(TickContext& ctx, Observation& obs);
  Status walk_talkers(TickContext& ctx);
  void read_attach(TickContext& ctx, InterfaceObservation& io);
  void read_run_time(TickContext& ctx, InterfaceObservation& io);
  void on_event(const void* data, std::size_t size);

  InterfaceRef iface_;
  guard::GuardOptions opts_;
  std::size_t top_talkers_, top_networks_, top_rules_, max_samples_;
  boost::asio::io_context* io_ = nullptr;

  // Open state.
  std::optional<guard::Guard> guard_;
  PinIds pins_;
  std::unique_ptr<RingReader> events_;
  std::uint32_t rl_state_id_ = 0, rl_state_max_ = 0;
  std::optional<RuleGen> gen_;
  MapDumper verdict_dump_;

  // Kept across reopens, so counters stay monotonic when the guard is reloaded.
  std::uint32_t ctl_map_id_ = 0;
  std::array<Counter, GUARD_R_MAX> packets_, bytes_;
  std::uint64_t events_total_ = 0;
  std::vector<DropSample> pending_;
  TalkerTable talkers_;
  TimeNs last_talker_read_ns_ = 0;  // when the talker table was last read (0: never)
  std::uint64_t talkers_in_table_ = 0;
  std::uint64_t run_time_ns_ = 0, run_cnt_ = 0;  // at the window's begin
  // From this tick's verdict counters: packets judged, and packets that hit a
  // rule. Zero means the talkers or the rule counters cannot have moved,
  // and their reads are skipped.
  std::uint64_t judged_delta_ = 0, rule_hits_delta_ = 0;
  bool talkers_read_ = false;
};

}  // namespace reflex::monitor
