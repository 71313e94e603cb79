#pragma once
// TC shaping of one interface, level-based: converge() takes the whole list of
// shapes the interface should have and makes the kernel match it, doing
// nothing when it already does, and rebuilding what somebody removed.
//
// The datapath: an htb tree in reflex's own handle range (shape_tree.h), fed
// for per-prefix shapes by a BPF classifier on tcx egress (classifier.h).
// Rates change in place (htb_change_class keeps a class's queue), so a rate
// change loses no queued packet. A prefix shape limits what this node sends
// towards that destination prefix through the interface (see docs/execute.md).
//
// reflex only touches qdiscs and classes with its major (RF = 0x5246) and its
// own pinned BPF objects. If the interface's root qdisc is somebody else's,
// converge() refuses with the fix and changes nothing.

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "execute/shaping/shape_tree.h"
#include "knowledge/desired_state.h"

namespace reflex::execute::shaping {

struct ShaperOptions {
  // BPF pins go under <pin_root>/shaping/<iface>[@<netns>]/ (tests: test_pin_root()).
  std::string pin_root = "/sys/fs/bpf/reflex";
};

class Shaper {
 public:
  // iface in netns ("" = the caller's namespace). Fails if the namespace or
  // the interface does not exist; touches nothing.
  static Result<Shaper> open(const std::string& iface, const std::string& netns, ShaperOptions opts = {});
  Shaper(Shaper&&) noexcept;
  Shaper& operator=(Shaper&&) noexcept;
  ~Shaper();  // leaves the shaping in place: it belongs to the desired state, not to this object

  // The shapes the kernel implements now, with their class counters.
  Result<std::vector<ActualShape>> read() const;
  // The raw tree (root qdisc, reflex's classes, trie, link), for tests and tools.
  Result<TreeState> state() const;

  // Makes the interface's shaping exactly `want` (validated first; nothing
  // changes if it is invalid). If a kernel step fails, what was applied is
  // rolled back to the shapes read before, and the error names the step.
  Status converge(std::span<const DesiredShape> want);
  // Removes everything reflex made on the interface (qdisc, classes, link, pins).
  Status clear();

  // "veth0" or "veth0@ns1": how messages name the interface.
  const std::string& where() const;
  // Operations the last converge() applied (empty when it was a no-op).
  const std::vector<TreeOp>& last_ops() const;

 private:
  struct Impl;
  explicit Shaper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reflex::execute::shaping
