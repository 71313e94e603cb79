#pragma once
// A simulated node's guard: the XDP guard's semantics (docs/guard.md) over
// flows instead of packets, one tick at a time. Rules match by source
// prefix and optional L4 narrowing; an allow rule always wins, otherwise the
// longest prefix, then the narrowest filter, decides. drop drops, shadow
// passes and counts, rate_limit passes `pps` per second per source address
// (the guard's per-source token bucket, at tick granularity). A rule past
// its expiry stops matching by itself, as in the kernel. Counters are
// cumulative like the kernel's.

#include "knowledge/desired_state.h"
#include "knowledge/observation.h"

#include <cstdint>
#include <string>
#include <vector>

namespace reflex::sim::fleet {

// Traffic from one source address during one tick.
struct Flow {
  Prefix source;  // a host
  std::uint8_t proto = 17;
  std::uint16_t dport = 0;
  double packets = 0;  // this tick
  int attack = -1;  // index of the attack it belongs to; -1: benign
  int slot = -1;    // benign: the source's index at its node
};

struct FlowVerdict {
  double passed = 0, dropped = 0, rate_limited = 0, shadowed = 0;
  double lost() const { return dropped + rate_limited; }
};

struct ModelRule {
  DesiredRule rule;
  std::uint32_t uid = 0;
  std::string text;           // as the Monitor reports it (guard::format_rule, no ttl)
  double packets = 0;         // cumulative matches
  double tick_packets = 0;    // matches this tick
};

class DatapathModel {
 public:
  // Replaces the rule set (an atomic swap); counters of surviving keys carry over.
  void install(std::vector<DesiredRule> rules);
  const std::vector<ModelRule>& rules() const { return rules_; }
  std::vector<DesiredRule> live_rules(TimeNs now) const;  // as read back: expired ones gone

  // Starts a tick of `dt` seconds at `now` (rules expired by now no longer match).
  void begin_tick(TimeNs now, double dt);
  FlowVerdict judge(const Flow& f);

  const XdpVerdictCounts& counts() const { return counts_; }
  double tick_dropped() const { return tick_.dropped + tick_.rate_limited; }
  const FlowVerdict& tick() const { return tick_; }

 private:
  const ModelRule* match(const Flow& f) const;

  std::vector<ModelRule> rules_;  // sorted: allow first, then longest prefix, narrowest filter
  // What match() reads of rules_, beside it and in its order: every flow
  // walks it, and a whole DesiredRule per step was lines of strings it never reads.
  struct MatchKey {
    Prefix prefix;
    L4Match l4;
    TimeNs expires_ns = 0;
  };
  std::vector<MatchKey> keys_;
  XdpVerdictCounts counts_;
  FlowVerdict tick_;
  TimeNs now_ = 0;
  double dt_ = 1;
};

}  // namespace reflex::sim::fleet
