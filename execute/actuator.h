#pragma once
// Actuators: the only code in Execute that touches the kernel. Each owns some
// facets of an interface's datapath (guard rules, attach mode, program,
// shapes), reads them back and converges them to a DesiredInterface. The
// daemon uses the real ones (guard_actuator.h, and the shaping controller's),
// the fleet simulator a datapath model, and unit tests fakes (under tests/).

#include "common/result.h"
#include "knowledge/desired_state.h"
#include "knowledge/time.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::execute {

// The parts of an interface's datapath an actuator may own.
enum class Facet : std::uint8_t { rules = 1, attach = 2, program = 4, shapes = 8 };
constexpr unsigned facet_bit(Facet f) { return static_cast<unsigned>(f); }
std::string_view to_string(Facet f);

// What the kernel holds for an interface, as read back. Only the facets the
// reading actuator owns are filled in.
struct ActualInterface {
  bool present = true;   // the interface exists (in its namespace)
  bool guarded = false;  // a guard is loaded for it
  bool attached = false;  // the guard's link is live on the interface
  AttachMode mode = AttachMode::none;
  std::string program;            // the variant running ("default", "lean", ...)
  std::vector<DesiredRule> rules;  // every live rule, sorted by key; expiry on the loop clock, no action ids
  std::vector<DesiredShape> shapes;
  std::string note;  // one line on anything odd (e.g. "link detached from outside")
};

// What one converge did, for the Outcome's detail and the bench.
struct ConvergeReport {
  bool changed = false;
  std::string detail;  // "3 rules in place", "native -> generic (tc bridged)", "default -> lean"
  double ms = 0;
};

// Errors carry the operator's fix (Error::hint) and, where the kernel said
// why, the errno (Error::code): map full (E2BIG/ENOSPC), attach refused
// (EOPNOTSUPP/EBUSY/EEXIST), verifier rejection (EACCES/EINVAL), interface
// gone (ENODEV/ENXIO). Every converge is all or nothing for its facet: on
// error the kernel holds what it held before the call.
class Actuator {
 public:
  virtual ~Actuator() = default;
  virtual std::string_view name() const = 0;
  virtual unsigned facets() const = 0;  // facet_bit()s
  bool owns(Facet f) const { return (facets() & facet_bit(f)) != 0; }

  // Reads back what the kernel holds for iface now.
  virtual Result<ActualInterface> read(const std::string& iface, TimeNs now) = 0;

  // Makes facet f of iface match `want`. `before` is the desired state the
  // kernel was last converged to: a rule in the kernel whose key is neither
  // in `want` nor in `before` is somebody else's (an operator's reflex-guard
  // rule) and stays; a key in `before` but not in `want` is removed.
  virtual Result<ConvergeReport> converge(const std::string& iface, Facet f, const DesiredInterface& want,
                                          const DesiredInterface& before, TimeNs now) = 0;

  // Drops what the actuator remembers of iface, so its next converge reads
  // the kernel back instead of trusting its record (reconcile calls it).
  virtual void forget(const std::string& iface) { (void)iface; }
};

using ActuatorPtr = std::unique_ptr<Actuator>;

}  // namespace reflex::execute
