#pragma once
// The real actuator for the XDP guard: rules (one atomic step per change:
// in place or one swap, whichever guard::Guard::apply finds cheaper), the
// attach mode (make-before-break through the ladder) and the program variant
// (bpf_link_update, maps kept), on interfaces in any network namespace.
//
// It holds one guard::Guard per interface for as long as it lives, but takes
// the guard's lock only while it changes something, so an operator's
// reflex-guard can change rules in between; it notices such changes (the
// rule set's version moved) and reads the rules back before it diffs.

#include "execute/actuator.h"
#include "execute/conversions.h"
#include "guard/guard.h"
#include "monitor/monitor_config.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reflex::execute {

// What bringing a guard up on an interface did.
struct EnsureReport {
  std::string iface;
  bool adopted = false;  // a guard was pinned already: its rules, counters and mode kept
  AttachMode mode = AttachMode::none;
  std::vector<guard::AttachAttempt> steps;  // each rung tried, with why it was refused
  std::size_t rules = 0;
  std::string program;
  std::string describe() const;  // "eth0: loaded in generic mode (native: refused (...); generic: ok)"
};

struct GuardActuatorOptions {
  std::string pin_root = guard::kDefaultPinRoot;
  std::size_t max_rules = guard::kDefaultMaxRules;
  // The loop's clock, read beside CLOCK_BOOTTIME when expiries are converted
  // (nullptr: the `now` each call is given is taken as the current time).
  const Clock* loop_clock = nullptr;
};

class GuardActuator final : public Actuator {
 public:
  explicit GuardActuator(GuardActuatorOptions opts = {});
  ~GuardActuator() override;

  // Loads the guard on the interface in the wanted mode (auto: the ladder
  // native -> generic -> tc), or adopts the one pinned for it, re-attaching
  // only if it is in another mode. Inside the interface's namespace.
  Result<EnsureReport> ensure_guard(const monitor::InterfaceRef& iface, guard::LoadMode mode);
  // Serves the interface without loading anything (its guard is adopted on first use).
  void add_interface(const monitor::InterfaceRef& iface);

  std::string_view name() const override { return "guard"; }
  unsigned facets() const override {
    return facet_bit(Facet::rules) | facet_bit(Facet::attach) | facet_bit(Facet::program);
  }
  Result<ActualInterface> read(const std::string& iface, TimeNs now) override;
  Result<ConvergeReport> converge(const std::string& iface, Facet f, const DesiredInterface& want,
                                  const DesiredInterface& before, TimeNs now) override;
  void forget(const std::string& iface) override;

  // The guard serving an interface (adopted if need be), for tests and benchmarks.
  Result<guard::Guard*> guard_of(const std::string& iface);

 private:
  struct Slot;
  Result<Slot*> slot(const std::string& iface);
  Result<guard::Guard*> open(Slot& s);
  Result<ConvergeReport> converge_rules(Slot& s, const DesiredInterface& want, const DesiredInterface& before,
                                        TimeNs now);
  Result<ConvergeReport> converge_attach(Slot& s, const DesiredInterface& want);
  Result<ConvergeReport> converge_program(Slot& s, const DesiredInterface& want);
  guard::GuardOptions options(const Slot& s) const;
  ClockMap clock_map(TimeNs now) const;

  GuardActuatorOptions opts_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

// The load mode that asks for exactly this attach mode (none: auto).
guard::LoadMode load_mode_for(AttachMode m);

}  // namespace reflex::execute
