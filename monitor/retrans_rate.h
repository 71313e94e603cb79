#pragma once
// One interface's TCP retransmits, from the kernel's cumulative counts
// (bpf/tcp_retrans.bpf.c) to the Observation's RetransSummary: totals kept
// monotonic across probe reopens and interfaces recreated (monitor/counter.h),
// rates over the last tick. Pure: unit tests feed it readings.

#include <algorithm>
#include <cstdint>
#include <optional>

#include "knowledge/observation.h"
#include "knowledge/time.h"
#include "monitor/counter.h"

namespace reflex::monitor {

class RetransRate {
 public:
  // Readings of the kernel's cumulative counters for this interface (0 when
  // it has no entry yet) at now_ns. Rates are over the time since this
  // interface's previous reading (0 on the first), so a tick it missed (the
  // interface was gone) does not inflate them.
  RetransSummary update(std::uint64_t retrans_segs, std::uint64_t data_segs, TimeNs now_ns) {
    const std::uint64_t retrans = retrans_.update(retrans_segs);
    const std::uint64_t sent = sent_.update(data_segs);
    RetransSummary s;
    s.retransmits = retrans_.total();
    if (last_ns_ && now_ns > *last_ns_) {
      const double dt_s = static_cast<double>(now_ns - *last_ns_) / 1e9;
      s.per_s = static_cast<double>(retrans) / dt_s;
      s.segments_per_s = static_cast<double>(sent) / dt_s;
    }
    last_ns_ = now_ns;
    return s;
  }

  // The kernel's map was recreated (the probe reopened): the next readings are all new.
  void rebase() {
    retrans_.rebase();
    sent_.rebase();
  }

 private:
  Counter retrans_, sent_;
  std::optional<TimeNs> last_ns_;  // of the previous reading
};

// The retransmitted share of the data segments sent over the last tick, in
// [0, 1]; nullopt when the tick sent none that were counted (no traffic, or a
// source that does not count them). Retransmits are among the segments sent,
// but a SYN retransmit carries no data and a route change can split the two
// between interfaces, hence the clamp.
inline std::optional<double> retrans_share(const RetransSummary& s) {
  if (!(s.segments_per_s > 0)) return std::nullopt;
  return std::clamp(s.per_s / s.segments_per_s, 0.0, 1.0);
}

}  // namespace reflex::monitor
