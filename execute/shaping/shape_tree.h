#pragma once
// The htb tree reflex builds for an interface's shapes, as plain values, and
// the pure diff from a desired shape list to the netlink and map operations
// that converge the kernel to it. No kernel here: tests run it as a table.
//
// The tree (handles in reflex's own major, kMajor, so read-back can tell
// reflex's qdiscs and classes from anybody else's):
//
//   root qdisc   htb  RF:    default RF:2
//   RF:1         the interface's rate (kUnlimitedBps when only prefixes are shaped)
//   ├─ RF:2      default leaf: everything not in a shaped prefix; exists only
//   │            while the whole interface is shaped (else htb sends unmatched
//   │            traffic through its direct queue, unshaped)
//   └─ RF:10..   one leaf per shaped destination prefix, rate = ceil
//
// Prefix leaves always hang under RF:1, whether or not the interface itself
// is shaped, so adding or removing the interface's shape is a class change
// (no queue is rebuilt) and never re-parents a prefix.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/prefix.h"
#include "common/result.h"
#include "knowledge/desired_state.h"

namespace reflex::execute::shaping {

constexpr std::uint32_t kMajor = 0x5246;  // "RF"
constexpr std::uint32_t tc_handle(std::uint32_t major, std::uint32_t minor) { return (major << 16) | minor; }
constexpr std::uint32_t kRootHandle = tc_handle(kMajor, 0);
constexpr std::uint32_t kParentMinor = 1, kDefaultMinor = 2, kFirstPrefixMinor = 0x10;
constexpr std::uint32_t kParentClass = tc_handle(kMajor, kParentMinor);
constexpr std::uint32_t kDefaultClass = tc_handle(kMajor, kDefaultMinor);
constexpr std::uint32_t kMaxPrefixShapes = 1024;  // TC_SHAPER_MAX_PREFIXES
// RF:1's rate when only prefixes are shaped: above any sum of prefix rates, and
// below 2^32 bytes/s so every htb field stays exact in its 32-bit form.
constexpr std::uint64_t kUnlimitedBps = 32'000'000'000ull;
constexpr std::uint64_t kMinRateBps = 8'000;  // 1 kB/s: below this htb's arithmetic gets coarse
constexpr std::uint64_t kMaxBurstBytes = 64ull << 20;
constexpr std::uint32_t kMtu = 1514;

inline bool is_ours(std::uint32_t handle) { return (handle >> 16) == kMajor; }
std::string handle_str(std::uint32_t handle);  // "5246:10"

// One htb class as reflex wants it, or as read back from the kernel.
struct HtbClass {
  std::uint32_t classid = 0, parent = 0;
  std::uint64_t rate_bps = 0, ceil_bps = 0;  // bits per second
  std::uint32_t burst_bytes = 0, cburst_bytes = 0;
  std::uint32_t quantum = 0;
  // Kernel statistics (read-back only; ignored by the diff).
  std::uint64_t bytes = 0, packets = 0, drops = 0, backlog_bytes = 0, backlog_packets = 0;

  // Same settings, allowing for the tick rounding of burst read-back.
  bool same_settings(const HtbClass& o) const;
};

enum class RootKind {
  kernel_default,  // handle 0: the qdisc the kernel made (noqueue, pfifo_fast, mq); reflex may replace it
  ours,            // htb with handle RF:
  foreign,         // an operator's (or another tool's) qdisc: reflex never touches it
};

// What the kernel has for one interface, as far as shaping goes.
struct TreeState {
  RootKind root = RootKind::kernel_default;
  std::string root_kind;                     // "htb", "noqueue", ...
  std::uint32_t root_handle = 0;             // major:minor
  std::uint32_t root_defcls = 0;             // htb default minor, when ours
  std::vector<HtbClass> classes;             // reflex's classes only, sorted by classid
  std::map<Prefix, std::uint32_t> prefixes;  // the classifier's trie: prefix -> classid
  bool classifier_attached = false;
};

struct TreeOp {
  enum class Kind {
    add_root,           // htb RF: default RF:2 at the root
    add_class,          // cls
    change_class,       // cls (in place: htb keeps the class's queue)
    put_prefix,         // prefix -> classid in the trie
    attach_classifier,  // tcx egress link (after the classes and prefixes it points at)
    delete_prefix,      // prefix
    delete_class,       // classid
    detach_classifier,
    delete_root,  // removes every class with it; the kernel restores its default qdisc
  };
  Kind kind;
  HtbClass cls{};
  Prefix prefix{};
  std::string describe() const;  // "change class 5246:10 rate 10000000"
};

// The settings reflex gives a class for a rate and a requested burst (0: default).
std::uint32_t default_burst(std::uint64_t rate_bps);
HtbClass leaf_class(std::uint32_t classid, std::uint32_t parent, std::uint64_t rate_bps,
                    std::uint64_t ceil_bps, std::uint64_t burst_bytes);

// Checks a desired list: positive rates, bursts in range, one entry per
// prefix, at most kMaxPrefixShapes prefixes. The error names iface and the entry.
Status validate(std::span<const DesiredShape> want, const std::string& iface);

// The classes reflex wants for `want`, reusing the minors `have` already gave
// to prefixes (so a rate change never moves a prefix to a new class).
struct DesiredTree {
  std::vector<HtbClass> classes;             // sorted by classid
  std::map<Prefix, std::uint32_t> prefixes;  // prefix -> classid
};
DesiredTree desired_tree(std::span<const DesiredShape> want, const TreeState& have);

// Operations that take `have` to `want`, in a safe order; empty when nothing
// differs. `have.root` must not be foreign (the caller refuses that first).
std::vector<TreeOp> plan_converge(std::span<const DesiredShape> want, const TreeState& have);

// The shapes a tree implements (what read() reports), sorted as DesiredInterface::shapes.
struct ActualShape {
  std::optional<Prefix> prefix;  // nullopt: the whole interface
  std::uint64_t rate_bps = 0, burst_bytes = 0;
  std::uint32_t classid = 0;
  // The class's kernel counters: what it sent, dropped, and holds queued now.
  std::uint64_t bytes = 0, packets = 0, drops = 0, backlog_bytes = 0, backlog_packets = 0;
};
std::vector<ActualShape> shapes_of(const TreeState& have);
// As a desired list (for rollback to what was there).
std::vector<DesiredShape> as_desired(std::span<const ActualShape> shapes);

}  // namespace reflex::execute::shaping
