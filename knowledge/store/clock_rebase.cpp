#include "knowledge/store/clock_rebase.h"

#include <algorithm>
#include <limits>

namespace reflex::store {
namespace {

constexpr TimeNs kMax = std::numeric_limits<TimeNs>::max();
constexpr TimeNs kMin = std::numeric_limits<TimeNs>::min();

TimeNs saturating_add(TimeNs a, TimeNs b) {
  TimeNs r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMax - 1 : kMin + 1;
  return r;
}

void shift(TimeNs& t, TimeNs off) { t = rebase_time(t, off); }
void shift(std::optional<TimeNs>& t, TimeNs off) {
  if (t) *t = rebase_time(*t, off);
}

}  // namespace

TimeNs rebase_offset(const ClockPair& saved, const ClockPair& now) {
  return saturating_add(saturating_add(now.loop_ns, -saved.loop_ns),
                        -saturating_add(now.wall_ns, -saved.wall_ns));
}

TimeNs rebase_time(TimeNs t, TimeNs offset) {
  if (t == 0 || t == kMax || t == kMin || offset == 0) return t;
  TimeNs r = saturating_add(t, offset);
  return r == 0 ? 1 : r;  // a real time never turns into "unset"
}

DesiredState rebase(DesiredState d, const ClockPair& saved, const ClockPair& now) {
  const TimeNs off = rebase_offset(saved, now);
  auto expired = [&](TimeNs e) { return e != 0 && e <= now.loop_ns; };
  for (auto& [name, iface] : d.ifaces) {
    for (auto& r : iface.rules) shift(r.expires_ns, off);
    for (auto& s : iface.shapes) shift(s.expires_ns, off);
    std::erase_if(iface.rules, [&](const DesiredRule& r) { return expired(r.expires_ns); });
    std::erase_if(iface.shapes, [&](const DesiredShape& s) { return expired(s.expires_ns); });
  }
  return d;
}

PlannerState rebase(PlannerState s, const ClockPair& saved, const ClockPair& now) {
  const TimeNs off = rebase_offset(saved, now);
  if (off == 0) return s;
  for (auto& [k, t] : s.tracks) {
    shift(t.pending_since, off);
    shift(t.level_since, off);
    shift(t.clear_since, off);
    shift(t.last_action_ns, off);
    shift(t.renew_at_ns, off);
  }
  for (auto& [k, o] : s.owners) shift(o.expires_ns, off);
  for (auto& [k, b] : s.backoff) {
    shift(b.last_failure_ns, off);
    shift(b.retry_after_ns, off);
  }
  for (auto& [k, e] : s.emitted) shift(e.planned_ns, off);
  for (auto& t : s.recent_actions) shift(t, off);
  for (auto& [k, t] : s.overrides_done) shift(t, off);
  return s;
}

}  // namespace reflex::store
