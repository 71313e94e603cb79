#pragma once
// One guard instance: the xdp_guard programs and maps for one interface,
// pinned under <pin_root>/<key>/ (key: the interface's name, or NAME@NETNS
// for one in another network namespace) so they keep enforcing after the
// process exits and any later process can adopt them. Every mutation
// (attach, rule changes, program swaps, unload) takes an exclusive flock on
// the pin directory for as long as it runs, so a long-lived process (the
// daemon) and reflex-guard can change the same guard in turn.

#include "bpf/xdp_guard_kern_user.h"
#include "common/result.h"
#include "guard/attach.h"
#include "guard/bpf_util.h"
#include "guard/compiler.h"
#include "guard/rule.h"
#include "knowledge/attach_mode.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace reflex::guard {

inline constexpr const char* kDefaultPinRoot = "/sys/fs/bpf/reflex";
inline constexpr std::uint32_t kDefaultSampleEvery = 100;
// The attach link's pin in an interface's pin directory (replaced, by
// rename, whenever the guard is re-attached).
inline constexpr const char* kLinkPinName = "link";

struct GuardOptions {
  std::string pin_root = kDefaultPinRoot;
  std::size_t max_rules = kDefaultMaxRules;
  // The interface's network namespace (/run/netns/NAME, or a path); "" = the
  // caller's. Attaching happens inside it (ifindex is per namespace), and the
  // pin directory is named for both, so equal names in two namespaces are
  // two guards.
  std::string netns;
};

// The pin directory's name for an interface: "eth0", or "veth1@ns2" for one
// in namespace ns2 (characters bpffs refuses in names are escaped).
std::string pin_key(const std::string& iface, const std::string& netns);
// The inverse: "veth1@ns2" -> {"veth1", "ns2"}, "eth0" -> {"eth0", ""}.
std::pair<std::string, std::string> split_pin_key(const std::string& key);

// Guard program variants: the same program built with some per-packet work
// compiled out (const volatile settings, pruned by the verifier), swapped in
// while traffic flows (Guard::swap_program). "" is the default.
//   default  everything: verdicts, per-rule counters, top talkers, sampled events
//   lean     no top-talker accounting and no sampled events (cheaper under floods)
inline constexpr const char* kProgramDefault = "default";
inline constexpr const char* kProgramLean = "lean";
// Tests only, and not in program_variants(): a variant the verifier refuses,
// to exercise a swap that fails in the kernel (the running program stays).
inline constexpr const char* kProgramTestUnverifiable = "test-unverifiable";
// The variant's flags (GUARD_VF_*), or nullopt for an unknown name.
std::optional<std::uint32_t> program_variant_flags(const std::string& name);
std::string program_variant_name(std::uint32_t flags);
std::vector<std::string> program_variants();

// A batch of rule changes that go in as one step (see Guard::apply).
struct RuleChanges {
  std::vector<GuardRule> upsert;  // added, or replacing the rule with the same key
  std::vector<RuleKey> remove;    // removed if present
  bool empty() const { return upsert.empty() && remove.empty(); }
};

struct InstallReport {
  std::uint64_t version = 0;
  std::size_t rules = 0;            // rules in force after the swap
  std::size_t expired_dropped = 0;  // expired rules garbage-collected
  double compile_ms = 0, install_ms = 0;
  // Slot writes that went to the kernel before the flip: each waits there
  // for a grace period, side by side with the others and the flip's own wait.
  std::size_t slot_writes = 0;
  bool retire_deferred = false;  // the old generation was left in its slots (see release_retired())
};

struct UpdateReport {
  bool in_place = false;  // changed the live tables; false: a whole-set swap
  std::uint64_t version = 0;
  std::size_t changed = 0;  // rules added, replaced or removed
  double ms = 0;
  std::size_t rules = 0;    // rules in force afterwards
};

struct SwapReport {
  std::string from, to;  // program variants
  std::uint32_t old_prog_id = 0, new_prog_id = 0;
  bool link_updated = false;  // false: not attached now; the new program is pinned for the next attach
  double ms = 0;
};

struct RuleStat {
  GuardRule rule;
  std::uint64_t packets = 0, bytes = 0;
};

struct Talker {
  Prefix source;
  std::uint64_t packets = 0, bytes = 0, dropped = 0;
};

using VerdictCounters = std::array<guard_counter, GUARD_R_MAX>;

class Guard {
 public:
  // Loads the programs, pins everything under <pin_root>/<iface>/ and attaches
  // by the ladder. If the interface is already guarded, re-attaches only when
  // the asked mode differs (never leaving it unguarded in between).
  // `iface` may be a pin key (NAME@NETNS) when opts.netns is empty.
  static Result<Guard> load(const std::string& iface, LoadMode mode, const GuardOptions& opts = {});
  // Adopts a guard pinned by an earlier process.
  static Result<Guard> open(const std::string& iface, const GuardOptions& opts = {});
  // Whether a guard is pinned for the interface.
  static bool is_pinned(const std::string& iface, const GuardOptions& opts = {});
  // Programs and maps with no interface and no pins: for BPF_PROG_TEST_RUN.
  static Result<Guard> create_detached();
  // Detaches reflex's link and removes the pins. Works when the interface is gone.
  static Status unload(const std::string& iface, const GuardOptions& opts = {});
  // Pin keys (see pin_key) of the interfaces with a pin directory under pin_root.
  static std::vector<std::string> guarded_interfaces(const GuardOptions& opts = {});
  // Checks bpffs is mounted where pin_root lives; the error says how to mount it.
  static Status check_bpffs(const GuardOptions& opts = {});

  Guard(Guard&&) noexcept = default;
  Guard& operator=(Guard&&) noexcept = default;
  ~Guard();

  // Holds the pin directory's flock while it lives. Every mutation takes it
  // for its own duration; a caller that reads the rules and writes a change
  // that depends on them holds one across both, and the mutations inside
  // nest (the lock is taken once per Guard). A Guard must not be moved while
  // a lock on it is held.
  class MutationLock {
   public:
    MutationLock(MutationLock&& o) noexcept : g_(std::exchange(o.g_, nullptr)) {}
    MutationLock& operator=(MutationLock&&) = delete;
    ~MutationLock();

   private:
    friend class Guard;
    explicit MutationLock(Guard* g) : g_(g) {}
    Guard* g_;
  };
  Result<MutationLock> lock_mutations();
  bool locked() const { return lock_depth_ > 0; }

  // Re-attach in another mode, make-before-break (a tc link bridges XDP mode
  // changes, since native and generic XDP cannot be active together).
  Result<Attached> reattach(LoadMode mode);
  // The ladder steps of the last attach this object made (load or reattach).
  const std::vector<AttachAttempt>& last_attach() const { return last_attach_; }

  // Replaces the running program with another variant (or this binary's
  // build of the same one) through bpf_link_update: the maps stay, so rules,
  // counters and rate-limiter state survive, and no packet goes unjudged.
  Result<SwapReport> swap_program(const std::string& variant);
  // The variant the attached program (or, detached, the pinned one) was built as.
  Result<std::string> program_variant() const;

  // Atomic replacement of the whole rule set (expired rules are dropped).
  Result<InstallReport> replace(std::span<const GuardRule> rules);
  // A compiled set can be installed on many guards (it is only read).
  Result<InstallReport> install(const CompiledRuleSet& compiled);
  // Frees the generation the last swap retired, if it is small enough to
  // have been left in its slots (a large one is freed by the swap itself).
  // The next swap, or this object's destruction, does it too; a loop calls
  // it once a change is in effect, off the change's critical path.
  Status release_retired();

  // One rule, added or replacing the rule with the same key. A host rule
  // (/32, /128) on an address with no rule yet goes straight into the live
  // tables: one entry written into a spare slot, then published by one store
  // into the exact-match hash. Anything else is a read-modify-swap.
  Result<UpdateReport> upsert(const GuardRule& rule);
  // Removes every rule `match` accepts, in place: each entry is switched off
  // with one store and the walk passes over it to the covering rules. The
  // next whole-set swap reclaims the slots.
  Result<UpdateReport> remove(const std::function<bool(const GuardRule&)>& match);
  // Many changes as one step: in place when every one of them can be (new
  // host rules on addresses with no rule, removals, expiry-only changes) and
  // they are few, else one whole-set swap of the current rules with the
  // changes made. On error nothing changed.
  Result<UpdateReport> apply(const RuleChanges& changes);
  std::size_t count_matching(const std::function<bool(const GuardRule&)>& match) const;
  std::size_t rule_count() const;  // rules in force, as of the last change

  Result<std::vector<GuardRule>> rules() const;
  Result<std::vector<RuleStat>> rule_stats() const;
  Result<VerdictCounters> verdicts() const;
  // Every source in the talker table (one batch read), and the n busiest.
  Result<std::vector<Talker>> talkers() const;
  Result<std::vector<Talker>> top_talkers(std::size_t n) const;

  Status set_sample_every(std::uint32_t n);  // 0 = no events
  Status set_talkers(bool on);

  const guard_ctl& ctl() const { return *ctl_mem_.as<guard_ctl>(); }
  const guard_gen_meta& active_meta() const;
  AttachMode mode() const;  // as recorded at the last attach
  // The mode asked for at the last attach (auto asks for native, the ladder's
  // top); none if the guard was pinned by a reflex that did not record it.
  AttachMode wanted_mode() const;
  const std::string& iface() const { return iface_; }   // the name in its namespace
  const std::string& netns() const { return netns_; }   // "" = the caller's
  std::string key() const { return pin_key(iface_, netns_); }  // how messages and pins name it
  std::string pin_dir() const;
  Result<LinkState> link() const;  // the attach link's state, if attached

  int xdp_prog_fd() const { return xdp_prog_.get(); }
  int tc_prog_fd() const { return tc_prog_.get(); }
  // Every map the guard owns, by the name it is pinned under.
  enum MapId { kCtl, kVerdicts, kOuterRules, kOuterRcnt, kOuterH4, kOuterV4t, kOuterH6, kOuterV6f, kRlState,
               kTalkers, kEvents, kMapCount };
  static constexpr int kOuterFirst = kOuterRules, kOuterCount = kOuterV6f - kOuterRules + 1;
  static const char* map_name(MapId id);
  int map_fd(MapId id) const { return maps_[id].get(); }
  int events_fd() const { return map_fd(kEvents); }


 private:
  Guard() = default;
  // The programs of a variant; with `reuse`, bound to its maps instead of new ones.
  static Result<Guard> load_programs(std::uint32_t variant_flags = 0, const Guard* reuse = nullptr);
  static Result<Guard> attach_new(const std::string& iface, unsigned ifindex, LoadMode mode, const GuardOptions& opts);
  Result<Attached> attach_in_netns(LoadMode want, int ifindex);
  Result<Fd> attach_one_in_netns(AttachMode mode, int ifindex);
  // Inner maps the compiler already wrote a table into (see replace()).
  struct Prebuilt {
    std::optional<std::pair<Fd, MapMemory>> rules, v4t;
  };
  Result<InstallReport> install_tables(const CompiledRuleSet& compiled, Prebuilt* pre);
  Status pin_program(const Fd& prog, const char* name);
  Status map_ctl();
  Status pin_all(const std::string& dir) const;
  Status open_all(const std::string& dir);
  Status pin_link(const Fd& link);
  // The active generation's rules array, mapped read-only: read in place,
  // not copied (100k rules are 6.4 MB of entries).
  struct ActiveEntries {
    MapMemory mem;
    std::size_t n = 0;
    std::span<const guard_rule> span() const { return {mem.as<const guard_rule>(), n}; }
    std::size_t size() const { return n; }
    bool empty() const { return n == 0; }
    const guard_rule& operator[](std::size_t i) const { return mem.as<const guard_rule>()[i]; }
  };
  Result<ActiveEntries> active_entries() const;
  Result<bool> try_add_in_place(const GuardRule& rule);
  Result<std::optional<UpdateReport>> apply_in_place(const RuleChanges& changes);
  void unlock();

  std::string iface_;
  std::string netns_;
  std::string pin_root_;
  std::size_t max_rules_ = kDefaultMaxRules;
  bool pinned_ = false;
  Fd lock_fd_;
  int lock_depth_ = 0;
  std::vector<AttachAttempt> last_attach_;
  Fd xdp_prog_, tc_prog_, link_;
  std::array<Fd, kMapCount> maps_;
  MapMemory ctl_mem_;
  // The generation the last swap retired while its tables still sit in
  // their slots: which slot, the generation then live, each table's map id.
  struct Retired {
    std::uint32_t live_gen = 0, slot = 0;
    std::array<std::uint32_t, kOuterCount> ids{};
  };
  std::optional<Retired> retired_;
  // Retired generations at least this large are freed by the swap itself.
  static constexpr std::size_t kRetireNowBytes = std::size_t{16} << 20;
};

}  // namespace reflex::guard
