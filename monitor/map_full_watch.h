#pragma once
// A probe's BPF program counts what it could not record because its keys
// map was full; the probe reports that as degraded while it keeps
// happening, not forever after.

#include <cstdint>
#include <string>

#include "guard/bpf_util.h"
#include "monitor/probe.h"

namespace reflex::monitor {

class MapFullWatch {
 public:
  // Reads the per-CPU counter `stat` of stats_fd; if it grew since the last
  // reading, adds "N <what> went uncounted: the <map> map (<max_keys> <keys>
  // keys) is full" to ctx for probe.
  void check(TickContext& ctx, const std::string& probe, int stats_fd, std::uint32_t stat,
             const std::string& what, const std::string& map, std::uint64_t max_keys,
             const std::string& keys) {
    auto full = guard::percpu_sum(stats_fd, stat, 1);
    if (!full) return;
    if ((*full)[0] > seen_)
      ctx.degrade(probe, std::to_string((*full)[0] - seen_) + " " + what + " went uncounted: the " + map +
                             " map (" + std::to_string(max_keys) + " " + keys + " keys) is full");
    seen_ = (*full)[0];
  }

  // The program was reloaded: its counter starts from zero.
  void reset() { seen_ = 0; }

 private:
  std::uint64_t seen_ = 0;
};

}  // namespace reflex::monitor
