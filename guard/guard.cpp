#include "guard/guard.h"

#include "common/log.h"
#include "common/netns.h"
#include "guard/slot_writes.h"
#include "xdp_guard.skel.h"

#include <fcntl.h>
#include <linux/membarrier.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <tuple>
#include <unordered_map>

namespace reflex::guard {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMapNames[Guard::kMapCount] = {
    "ctl",       "verdicts", "outer_rules", "outer_rcnt", "outer_h4", "outer_v4t",
    "outer_h6",  "outer_v6f", "rl_state",   "talkers",    "events",
};
constexpr const char* kPinXdpProg = "prog_xdp";
constexpr const char* kPinTcProg = "prog_tc";
constexpr const char* kPinLink = kLinkPinName;

Result<Fd> dup_fd(int fd, const std::string& what) {
  if (fd < 0) return make_error("no fd for " + what);
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return errno_error("dup " + what, errno);
  return Fd(d);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

Status remove_pin_dir(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return make_error("remove pins in " + dir + ": " + ec.message(), "remove them by hand: rm -r " + dir);
  return ok();
}

// Waits until no packet can still be using the generation just retired.
// XDP and tc programs run inside RCU read-side sections, and
// MEMBARRIER_CMD_GLOBAL is implemented with synchronize_rcu().
void wait_for_readers() {
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0) return;
  // nohz_full kernels refuse CMD_GLOBAL; a packet's pass through the program
  // takes microseconds, so a generous pause stands in for the grace period.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// What a load mode asks for: auto climbs the ladder from native.
AttachMode wanted_of(LoadMode m) {
  switch (m) {
    case LoadMode::auto_:
    case LoadMode::native: return AttachMode::native;
    case LoadMode::generic: return AttachMode::generic;
    case LoadMode::tc: return AttachMode::tc;
  }
  return AttachMode::none;
}

// Removes a pin directory unless disarmed: a half-made load leaves nothing.
struct PinRollback {
  std::string dir;
  bool armed = true;
  ~PinRollback() {
    if (armed && !dir.empty()) (void)remove_pin_dir(dir);
  }
};

template <class T>
Result<std::pair<Fd, MapMemory>> build_array(const char* name, const T* data, std::size_t n,
                                             std::size_t capacity = 0) {
  capacity = std::max(capacity, n);
  auto fd = create_map(BPF_MAP_TYPE_ARRAY, name, sizeof(std::uint32_t), sizeof(T), static_cast<std::uint32_t>(capacity),
                       BPF_F_INNER_MAP | BPF_F_MMAPABLE);
  if (!fd) return fd.error();
  auto mem = MapMemory::map(fd->get(), capacity * sizeof(T), true, name);
  if (!mem) return mem.error();
  if (data) std::memcpy(mem->as<T>(), data, n * sizeof(T));
  return std::make_pair(std::move(*fd), std::move(*mem));
}

// The variant a loaded guard program was built as, from its .rodata map.
Result<std::string> read_program_variant(int prog_fd) {
  std::uint32_t ids[16] = {};
  bpf_prog_info info{};
  info.nr_map_ids = 16;
  info.map_ids = reinterpret_cast<std::uint64_t>(ids);
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0) return errno_error("read the guard program's info", errno);
  using Rodata = std::remove_pointer_t<decltype(xdp_guard::rodata)>;
  constexpr std::size_t off = offsetof(Rodata, guard_variant);
  for (std::uint32_t i = 0; i < std::min<std::uint32_t>(info.nr_map_ids, 16); ++i) {
    int fd = bpf_map_get_fd_by_id(ids[i]);
    if (fd < 0) continue;
    Fd map(fd);
    auto mi = map_info(fd);
    if (!mi || mi->name.size() < 7 || mi->name.compare(mi->name.size() - 7, 7, ".rodata") != 0) continue;
    if (mi->value_size < off + sizeof(std::uint32_t)) continue;
    std::vector<std::uint8_t> val(mi->value_size);
    std::uint32_t zero = 0;
    if (bpf_map_lookup_elem(fd, &zero, val.data()) < 0) return errno_error("read the guard program's settings", errno);
    std::uint32_t flags;
    std::memcpy(&flags, val.data() + off, sizeof(flags));
    return program_variant_name(flags);
  }
  // A guard program from before variants existed is the full program.
  return std::string(kProgramDefault);
}

}  // namespace

std::string pin_key(const std::string& iface, const std::string& netns) {
  if (netns.empty()) return iface;
  // bpffs refuses '.' in names, and '/' would make a path: escape both (and the escape).
  std::string k = iface + "@";
  for (char c : netns) {
    if (c == '.') k += "%2e";
    else if (c == '/') k += "%2f";
    else if (c == '%') k += "%25";
    else k += c;
  }
  return k;
}

std::pair<std::string, std::string> split_pin_key(const std::string& key) {
  auto at = key.find('@');
  if (at == std::string::npos) return {key, ""};
  std::string ns;
  for (std::size_t i = at + 1; i < key.size(); ++i) {
    if (key[i] == '%' && i + 2 < key.size()) {
      std::string hex = key.substr(i + 1, 2);
      ns += hex == "2e" ? '.' : hex == "2f" ? '/' : '%';
      i += 2;
    } else {
      ns += key[i];
    }
  }
  return {key.substr(0, at), ns};
}

std::optional<std::uint32_t> program_variant_flags(const std::string& name) {
  if (name.empty() || name == kProgramDefault) return 0u;
  if (name == kProgramLean) return static_cast<std::uint32_t>(GUARD_VF_NO_TALKERS | GUARD_VF_NO_EVENTS);
  if (name == kProgramTestUnverifiable) return static_cast<std::uint32_t>(GUARD_VF_TEST_UNVERIFIABLE);
  return std::nullopt;
}

std::string program_variant_name(std::uint32_t flags) {
  for (const auto& n : program_variants())
    if (program_variant_flags(n) == flags) return n;
  if (program_variant_flags(kProgramTestUnverifiable) == flags) return kProgramTestUnverifiable;
  return "flags:" + std::to_string(flags);
}

std::vector<std::string> program_variants() { return {kProgramDefault, kProgramLean}; }

namespace {

// The guard's name and namespace from what the caller gave: a pin key in
// `iface`, or a bare name with the namespace in the options.
std::pair<std::string, std::string> resolve_iface(const std::string& iface, const GuardOptions& opts) {
  if (iface.find('@') != std::string::npos || opts.netns.empty()) return split_pin_key(iface);
  return {iface, opts.netns};
}

std::string dir_of(const GuardOptions& opts, const std::string& name, const std::string& netns) {
  return opts.pin_root + "/" + pin_key(name, netns);
}

}  // namespace

const char* Guard::map_name(MapId id) { return kMapNames[id]; }

Guard::~Guard() { (void)release_retired(); }

Status Guard::release_retired() {
  if (!retired_ || !maps_[kOuterRules].valid()) return ok();
  auto lock = lock_mutations();
  if (!lock) return lock.error();
  const Retired old = *std::exchange(retired_, std::nullopt);
  // Another writer (another process) may have swapped since: then these
  // slots hold its tables, or the live ones, and are not ours to clear.
  if ((__atomic_load_n(&ctl().gen, __ATOMIC_ACQUIRE) & 1) != old.live_gen) return ok();
  std::vector<SlotWrite> clear;
  for (std::size_t i = 0; i < kOuterCount; ++i) {
    if (!old.ids[i]) continue;
    int outer = maps_[kOuterFirst + i].get();
    std::uint32_t id = 0, slot = old.slot;
    if (bpf_map_lookup_elem(outer, &slot, &id) == 0 && id == old.ids[i]) clear.push_back({outer, slot, -1});
  }
  return clear_slots(clear);
}

std::string Guard::pin_dir() const { return pin_root_ + "/" + key(); }

Status Guard::check_bpffs(const GuardOptions& opts) {
  fs::path root(opts.pin_root);
  fs::path mount = root.parent_path();
  if (is_bpffs(mount.string()) || is_bpffs(root.string())) return ok();
  // `ip netns exec` gives the command a mount namespace with a fresh /sys and
  // no bpffs; mounting one there would pin into a throwaway instance.
  std::error_code ec;
  if (fs::read_symlink("/proc/self/ns/mnt", ec) != fs::read_symlink("/proc/1/ns/mnt", ec))
    return make_error("bpffs is not mounted at " + mount.string() + " in this mount namespace",
                      "`ip netns exec` hides it: run `reflex-guard --netns NAME ...` instead");
  return make_error("bpffs is not mounted at " + mount.string(), "mount it: mount -t bpf bpf " + mount.string());
}

std::vector<std::string> Guard::guarded_interfaces(const GuardOptions& opts) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(opts.pin_root, ec))
    if (e.is_directory() && exists((e.path() / kMapNames[kCtl]).string())) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

Result<Guard> Guard::load_programs(std::uint32_t variant_flags, const Guard* reuse) {
  struct SkelDeleter {
    void operator()(xdp_guard* s) const { xdp_guard__destroy(s); }
  };
  std::unique_ptr<xdp_guard, SkelDeleter> skel(xdp_guard__open());
  if (!skel) return errno_error("open xdp_guard BPF object", errno);
  bpf_map* maps[kMapCount] = {skel->maps.ctl,        skel->maps.verdicts,  skel->maps.outer_rules,
                              skel->maps.outer_rcnt, skel->maps.outer_h4,  skel->maps.outer_v4t,
                              skel->maps.outer_h6,   skel->maps.outer_v6f, skel->maps.rl_state,
                              skel->maps.talkers,    skel->maps.events};
  skel->rodata->guard_variant = variant_flags;
  // Each program gets its own buffer for the verifier's log, so a refusal
  // names the program and why. libbpf asks the kernel for a log only after a
  // failed load; the kernel keeps the log's tail, where the verdict is.
  constexpr std::size_t kVerifierLogBytes = 1 << 20;
  std::unique_ptr<char[]> xdp_log(new char[kVerifierLogBytes]), tc_log(new char[kVerifierLogBytes]);
  xdp_log[0] = tc_log[0] = '\0';
  (void)bpf_program__set_log_buf(skel->progs.xdp_guard, xdp_log.get(), kVerifierLogBytes);
  (void)bpf_program__set_log_buf(skel->progs.tc_guard, tc_log.get(), kVerifierLogBytes);
  if (reuse) {
    // The new programs use the running guard's maps: rules, counters and
    // rate-limiter state are the same objects before and after.
    for (int i = 0; i < kMapCount; ++i)
      if (int err = bpf_map__reuse_fd(maps[i], reuse->maps_[i].get()); err)
        return errno_error(std::string("reuse the guard's map ") + kMapNames[i], err);
  } else if (int err = bpf_map__set_max_entries(skel->maps.talkers, GUARD_TALKER_SLOTS * possible_cpus()); err) {
    // One talker table per CPU in one array (see bpf/xdp_guard_kern_user.h).
    return errno_error("size the talker table", err);
  }
  if (int err = xdp_guard__load(skel.get()); err) {
    for (auto [prog, log] : {std::pair{"xdp_guard", xdp_log.get()}, std::pair{"tc_guard", tc_log.get()}}) {
      if (!log[0]) continue;
      spdlog::debug("the verifier's log of {} ({}):\n{}", prog, program_variant_name(variant_flags), log);
      // The verifier's reason, not strerror's "Permission denied".
      return make_error(std::string("load xdp_guard into the kernel: the verifier refused ") + prog + " (program '" +
                            program_variant_name(variant_flags) + "'): " + verifier_verdict(log),
                        reuse ? "the guard keeps running its current program; this kernel refuses that program: "
                                "swap to another (" + std::string(kProgramDefault) + ", " + kProgramLean +
                                "), `reflex-guard -v debug ...` shows the whole verifier log"
                              : "this kernel refuses the guard program: `reflex-guard -v debug ...` shows the whole "
                                "verifier log; use a reflex build made for this kernel",
                        err < 0 ? -err : err);
    }
    return errno_error("load xdp_guard into the kernel", err,
                       reuse ? "the pinned maps may come from an incompatible reflex build: unload and load again"
                             : "run as root with CAP_BPF; `reflex-guard -v debug ...` shows the verifier log");
  }
  Guard g;
  for (int i = 0; i < kMapCount; ++i) {
    auto fd = dup_fd(bpf_map__fd(maps[i]), kMapNames[i]);
    if (!fd) return fd.error();
    g.maps_[i] = std::move(*fd);
  }
  auto xdp = dup_fd(bpf_program__fd(skel->progs.xdp_guard), "xdp program");
  if (!xdp) return xdp.error();
  auto tc = dup_fd(bpf_program__fd(skel->progs.tc_guard), "tc program");
  if (!tc) return tc.error();
  g.xdp_prog_ = std::move(*xdp);
  g.tc_prog_ = std::move(*tc);
  if (auto s = g.map_ctl(); !s) return s.error();
  if (!reuse) {
    auto* c = g.ctl_mem_.as<guard_ctl>();
    c->sample_n = kDefaultSampleEvery;
    c->flags = GUARD_CF_TALKERS;
  }
  return g;
}

Result<Guard> Guard::create_detached() { return load_programs(); }

Status Guard::map_ctl() {
  auto mem = MapMemory::map(maps_[kCtl].get(), sizeof(guard_ctl), true, "control block");
  if (!mem) return mem.error();
  ctl_mem_ = std::move(*mem);
  return ok();
}

Guard::MutationLock::~MutationLock() {
  if (g_) g_->unlock();
}

Result<Guard::MutationLock> Guard::lock_mutations() {
  if (!pinned_) return MutationLock(nullptr);  // a detached guard has no other writer
  if (lock_depth_ == 0) {
    int fd = ::open(pin_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error("open " + pin_dir(), errno, "is the guard still loaded? see `reflex-guard status`");
    Fd lock(fd);
    while (flock(fd, LOCK_EX) < 0)
      if (errno != EINTR) return errno_error("lock " + pin_dir(), errno);
    lock_fd_ = std::move(lock);
  }
  ++lock_depth_;
  return MutationLock(this);
}

void Guard::unlock() {
  if (lock_depth_ > 0 && --lock_depth_ == 0) lock_fd_ = Fd();  // closing the file releases the flock
}

Status Guard::pin_all(const std::string& dir) const {
  for (int i = 0; i < kMapCount; ++i)
    if (auto s = pin(maps_[i].get(), dir + "/" + kMapNames[i]); !s) return s;
  if (auto s = pin(xdp_prog_.get(), dir + "/" + kPinXdpProg); !s) return s;
  return pin(tc_prog_.get(), dir + "/" + kPinTcProg);
}

Status Guard::open_all(const std::string& dir) {
  for (int i = 0; i < kMapCount; ++i) {
    auto fd = open_pinned(dir + "/" + kMapNames[i]);
    if (!fd) return fd.error();
    maps_[i] = std::move(*fd);
  }
  auto info = map_info(maps_[kCtl].get());
  if (!info) return info.error();
  if (info->value_size != sizeof(guard_ctl))
    return make_error("the guard pinned at " + dir + " was made by an incompatible reflex version",
                      "unload it (reflex-guard unload " + iface_ + ") and load it again");
  auto xdp = open_pinned(dir + "/" + kPinXdpProg);
  if (!xdp) return xdp.error();
  auto tc = open_pinned(dir + "/" + kPinTcProg);
  if (!tc) return tc.error();
  xdp_prog_ = std::move(*xdp);
  tc_prog_ = std::move(*tc);
  if (exists(dir + "/" + kPinLink)) {
    auto link = open_pinned(dir + "/" + kPinLink);
    if (!link) return link.error();
    link_ = std::move(*link);
  }
  return map_ctl();
}

Status Guard::pin_link(const Fd& link) {
  // Pin beside the old link, then rename over it: the pin always names a live link.
  std::string tmp = pin_dir() + "/" + kPinLink + "_new";  // bpffs refuses dots in names
  ::unlink(tmp.c_str());
  if (auto s = pin(link.get(), tmp); !s) return s;
  if (::rename(tmp.c_str(), (pin_dir() + "/" + kPinLink).c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error("pin link in " + pin_dir(), err);
  }
  return ok();
}

bool Guard::is_pinned(const std::string& iface, const GuardOptions& opts) {
  auto [name, netns] = resolve_iface(iface, opts);
  return exists(dir_of(opts, name, netns) + "/" + kMapNames[kCtl]);
}

Result<Guard> Guard::open(const std::string& iface, const GuardOptions& opts) {
  if (auto s = check_bpffs(opts); !s) return s.error();
  Guard g;
  std::tie(g.iface_, g.netns_) = resolve_iface(iface, opts);
  g.pin_root_ = opts.pin_root;
  g.max_rules_ = opts.max_rules;
  g.pinned_ = true;
  if (!exists(g.pin_dir() + "/" + kMapNames[kCtl]))
    return make_error("no reflex guard on " + g.key(),
                      "load one first: reflex-guard " + (g.netns_.empty() ? "" : "--netns " + g.netns_ + " ") +
                          "load " + g.iface_);
  if (auto s = g.open_all(g.pin_dir()); !s) return s.error();
  return g;
}

// Attaching resolves the ifindex in the calling thread's namespace, so it
// happens inside the interface's; everything else (maps, pins) is the same
// from anywhere.
Result<Fd> Guard::attach_one_in_netns(AttachMode mode, int ifindex) {
  std::optional<Result<Fd>> r;
  if (auto s = run_in_netns(netns_, [&] { r = attach_mode(mode, xdp_prog_.get(), tc_prog_.get(), ifindex, key()); });
      !s)
    return s.error();
  return std::move(*r);
}

Result<Attached> Guard::attach_in_netns(LoadMode want, int ifindex) {
  std::optional<Result<Attached>> r;
  if (auto s = run_in_netns(netns_, [&] { r = attach_ladder(want, xdp_prog_.get(), tc_prog_.get(), ifindex, key()); });
      !s)
    return s.error();
  return std::move(*r);
}

Result<Guard> Guard::attach_new(const std::string& iface, unsigned ifindex, LoadMode mode, const GuardOptions& opts) {
  auto loaded = load_programs();
  if (!loaded) return loaded.error();
  Guard g = std::move(*loaded);
  std::tie(g.iface_, g.netns_) = resolve_iface(iface, opts);
  g.pin_root_ = opts.pin_root;
  g.max_rules_ = opts.max_rules;
  g.pinned_ = true;
  std::error_code ec;
  fs::create_directories(g.pin_dir(), ec);
  if (ec) return make_error("create " + g.pin_dir() + ": " + ec.message(), "is bpffs mounted and writable?");
  PinRollback rollback{g.pin_dir()};
  {
    // Released before g is returned (moved): a lock must not travel with a moved Guard.
    auto lock = g.lock_mutations();
    if (!lock) return lock.error();
    if (auto s = g.pin_all(g.pin_dir()); !s) return s.error();

    auto attached = g.attach_in_netns(mode, static_cast<int>(ifindex));
    if (!attached) return attached.error();
    if (auto s = g.pin_link(attached->link); !s) {
      (void)detach_link(attached->link.get());
      return s.error();
    }
    auto* c = g.ctl_mem_.as<guard_ctl>();
    c->ifindex = ifindex;
    __atomic_store_n(&c->wanted_mode, static_cast<std::uint32_t>(wanted_of(mode)), __ATOMIC_RELEASE);
    __atomic_store_n(&c->mode, static_cast<std::uint32_t>(attached->mode), __ATOMIC_RELEASE);
    g.link_ = std::move(attached->link);
    g.last_attach_ = attached->attempts;
  }
  rollback.armed = false;
  if (g.last_attach_.size() > 1)
    spdlog::warn("guard on {} attached in {} mode after stepping down: {}", g.key(), to_string(g.mode()),
                 describe(g.last_attach_));
  return g;
}

Result<Guard> Guard::load(const std::string& iface, LoadMode mode, const GuardOptions& opts) {
  if (auto s = check_bpffs(opts); !s) return s.error();
  auto [name, netns] = resolve_iface(iface, opts);
  unsigned ifindex = 0;
  if (auto s = run_in_netns(netns, [&, n = name] { ifindex = if_nametoindex(n.c_str()); }); !s) return s.error();
  if (!ifindex)
    return make_error("interface " + pin_key(name, netns) + " not found",
                      netns.empty() ? "check `ip link`; for an interface in a network namespace add --netns NAME"
                                    : "check `ip -n " + netns + " link`");
  if (!exists(dir_of(opts, name, netns) + "/" + kMapNames[kCtl])) return attach_new(iface, ifindex, mode, opts);

  // Already guarded: keep the rules, re-attach only if needed.
  auto g = open(iface, opts);
  if (!g) return g.error();
  auto state = g->link();
  bool live = state && state->attached && state->ifindex == ifindex;
  bool same_mode = mode == LoadMode::auto_ || to_string(mode) == to_string(g->mode());
  if (live && same_mode) return g;
  __atomic_store_n(&g->ctl_mem_.as<guard_ctl>()->ifindex, ifindex, __ATOMIC_RELEASE);
  auto r = g->reattach(mode);
  if (!r) return r.error();
  return g;
}

Result<LinkState> Guard::link() const {
  if (!link_.valid()) return LinkState{};
  return link_state(link_.get());
}

Result<Attached> Guard::reattach(LoadMode want) {
  if (!pinned_) return make_error("a detached guard cannot be attached");
  auto lock = lock_mutations();
  if (!lock) return lock.error();
  int ifindex = static_cast<int>(ctl().ifindex);
  auto* c = ctl_mem_.as<guard_ctl>();
  AttachMode cur = mode();
  auto state = link();
  bool live = state && state->attached;
  bool xdp_to_xdp = live && (cur == AttachMode::native || cur == AttachMode::generic) &&
                    (want == LoadMode::native || want == LoadMode::generic || want == LoadMode::auto_);

  // Native and generic XDP cannot be active at once, so an XDP-to-XDP move
  // breaks the old link before making the new one; a tc link guards the gap.
  Fd bridge;
  if (xdp_to_xdp) {
    auto b = attach_one_in_netns(AttachMode::tc, ifindex);
    if (!b) return make_error("cannot bridge the mode change with tc: " + b.error().message(),
                              "the guard stays in " + std::string(to_string(cur)) + " mode");
    bridge = std::move(*b);
    if (auto s = detach_link(link_.get()); !s) return s.error();
  }
  __atomic_store_n(&c->wanted_mode, static_cast<std::uint32_t>(wanted_of(want)), __ATOMIC_RELEASE);
  auto attached = attach_in_netns(want, ifindex);
  if (!attached) {
    if (xdp_to_xdp) {
      // Stay guarded: the bridge becomes the attachment.
      if (auto s = pin_link(bridge); !s) return s.error();
      link_ = std::move(bridge);
      __atomic_store_n(&c->mode, static_cast<std::uint32_t>(AttachMode::tc), __ATOMIC_RELEASE);
    }
    return attached.error();
  }
  if (auto s = pin_link(attached->link); !s) {
    (void)detach_link(attached->link.get());
    return s.error();
  }
  if (live && !xdp_to_xdp) (void)detach_link(link_.get());
  if (bridge.valid()) (void)detach_link(bridge.get());
  link_ = Fd(dup(attached->link.get()));
  __atomic_store_n(&c->mode, static_cast<std::uint32_t>(attached->mode), __ATOMIC_RELEASE);
  last_attach_ = attached->attempts;
  return attached;
}

AttachMode Guard::mode() const {
  return static_cast<AttachMode>(__atomic_load_n(&ctl_mem_.as<guard_ctl>()->mode, __ATOMIC_ACQUIRE));
}

AttachMode Guard::wanted_mode() const {
  auto m = __atomic_load_n(&ctl_mem_.as<guard_ctl>()->wanted_mode, __ATOMIC_ACQUIRE);
  return m <= static_cast<std::uint32_t>(AttachMode::tc) ? static_cast<AttachMode>(m) : AttachMode::none;
}

Status Guard::pin_program(const Fd& prog, const char* name) {
  // As pin_link: beside the old pin, then renamed over it.
  std::string tmp = pin_dir() + "/" + name + "_new";
  ::unlink(tmp.c_str());
  if (auto s = pin(prog.get(), tmp); !s) return s;
  if (::rename(tmp.c_str(), (pin_dir() + "/" + name).c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_error("pin program in " + pin_dir(), err);
  }
  return ok();
}

Result<SwapReport> Guard::swap_program(const std::string& variant) {
  auto t0 = std::chrono::steady_clock::now();
  auto flags = program_variant_flags(variant);
  if (!flags)
    return make_error("unknown guard program '" + variant + "'",
                      "use one of: default, lean (see docs/guard.md)");
  if (!pinned_) return make_error("a detached guard has no link to swap a program on");
  auto lock = lock_mutations();
  if (!lock) return lock.error();
  SwapReport rep;
  auto from = program_variant();
  rep.from = from ? *from : "unknown";
  rep.to = program_variant_name(*flags);
  auto fresh = load_programs(*flags, this);
  if (!fresh) return fresh.error();
  auto state = link();
  bool live = state && state->attached;
  AttachMode m = mode();
  int new_fd = m == AttachMode::tc ? fresh->tc_prog_.get() : fresh->xdp_prog_.get();
  int old_fd = m == AttachMode::tc ? tc_prog_.get() : xdp_prog_.get();
  if (live) {
    rep.old_prog_id = state->prog_id;
    // One pointer swap in the kernel: packets see the old program or the new.
    LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE, .old_prog_fd = static_cast<__u32>(old_fd));
    if (bpf_link_update(link_.get(), new_fd, &uo) < 0) {
      int err = errno;
      return errno_error("replace the guard's program on " + key(), err,
                         err == EPERM ? "the running program is not the pinned one; reload the guard"
                                      : "the guard keeps running its current program");
    }
    rep.link_updated = true;
    if (auto st = link(); st) rep.new_prog_id = st->prog_id;
  }
  // The pins name the programs the next attach (or adopting process) uses.
  Status pinned = pin_program(fresh->xdp_prog_, kPinXdpProg);
  if (pinned) pinned = pin_program(fresh->tc_prog_, kPinTcProg);
  if (!pinned) {
    if (live) {
      LIBBPF_OPTS(bpf_link_update_opts, back, .flags = BPF_F_REPLACE, .old_prog_fd = static_cast<__u32>(new_fd));
      (void)bpf_link_update(link_.get(), old_fd, &back);
    }
    (void)pin_program(xdp_prog_, kPinXdpProg);
    (void)pin_program(tc_prog_, kPinTcProg);
    return pinned.error();
  }
  xdp_prog_ = std::move(fresh->xdp_prog_);
  tc_prog_ = std::move(fresh->tc_prog_);
  rep.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

Result<std::string> Guard::program_variant() const {
  // Read back from the program itself: its .rodata map holds the variant it
  // was loaded as, whoever loaded it.
  int prog = mode() == AttachMode::tc ? tc_prog_.get() : xdp_prog_.get();
  if (auto st = link(); st && st->attached) {
    int fd = bpf_prog_get_fd_by_id(st->prog_id);
    if (fd >= 0) {
      Fd running(fd);
      auto v = read_program_variant(running.get());
      if (v) return v;
    }
  }
  return read_program_variant(prog);
}

Status Guard::unload(const std::string& iface, const GuardOptions& opts) {
  if (auto s = check_bpffs(opts); !s) return s;
  auto [name, netns] = resolve_iface(iface, opts);
  std::string dir = dir_of(opts, name, netns);
  if (!exists(dir)) return make_error(pin_key(name, netns) + " is not guarded by reflex", "see `reflex-guard status`");
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) flock(dfd, LOCK_EX);
  Fd lock_holder(dfd);
  for (const char* link_name : {kPinLink, "link_new"}) {
    std::string p = dir + "/" + link_name;
    if (!exists(p)) continue;
    auto link = open_pinned(p);
    if (link) {
      if (auto s = detach_link(link->get()); !s) return s;
    }
  }
  if (auto s = remove_pin_dir(dir); !s) return s;
  ::rmdir(opts.pin_root.c_str());  // the last guard takes the (then empty) root with it
  return ok();
}

const guard_gen_meta& Guard::active_meta() const {
  const auto& c = ctl();
  return c.meta[__atomic_load_n(&c.gen, __ATOMIC_ACQUIRE) & 1];
}

namespace {
// Spare slots in the rules array let single host rules be added in place (see upsert()).
std::size_t rules_capacity(std::size_t n) { return n + std::max<std::size_t>(64, n / 8); }

// One array element per 256-entry block of the DIR-16-8-8 table (see table_entry() in the BPF program).
using V4Block = std::array<std::uint32_t, GUARD_V4_CHUNK>;
}  // namespace

Result<InstallReport> Guard::replace(std::span<const GuardRule> rules) {
  auto t0 = std::chrono::steady_clock::now();
  // The compiler writes the rules array and the DIR table straight into
  // fresh inner maps' memory: nothing is copied at install. They are
  // referenced by no outer map until install() swaps them in, so the
  // datapath never sees a half-written table.
  Prebuilt pre;
  CompileOptions co{0, max_rules_};
  co.memory = [&](TableKind kind, std::size_t bytes) -> void* {
    Result<std::pair<Fd, MapMemory>> m = make_error("");
    if (kind == TableKind::rules) m = build_array<guard_rule>("rules", nullptr, 0, rules_capacity(bytes / sizeof(guard_rule)));
    else m = build_array<V4Block>("v4t", nullptr, 0, bytes / sizeof(V4Block));
    if (!m) return nullptr;  // the heap, then install_tables() meets (and reports) the same failure
    auto& slot = kind == TableKind::rules ? pre.rules : pre.v4t;
    slot = std::move(*m);
    return slot->second.as<void>();
  };
  auto compiled = compile_rules(rules, boottime_ns(), co);
  if (!compiled) return compiled.error();
  double compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto r = install_tables(*compiled, &pre);
  if (r) r->compile_ms = compile_ms;
  return r;
}

Result<InstallReport> Guard::install(const CompiledRuleSet& rs) { return install_tables(rs, nullptr); }

Result<InstallReport> Guard::install_tables(const CompiledRuleSet& rs, Prebuilt* pre) {
  auto t0 = std::chrono::steady_clock::now();
  auto lock = lock_mutations();
  if (!lock) return lock.error();
  auto* c = ctl_mem_.as<guard_ctl>();
  std::uint32_t cur = __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) & 1;
  std::uint32_t nxt = cur ^ 1;
  const auto entries = rs.rule_entries();
  std::size_t n = entries.size();

  // Build the whole next generation off to the side (the tables the
  // compiler wrote into maps already are).
  std::size_t capacity = rules_capacity(n);
  Result<std::pair<Fd, MapMemory>> rules = make_error("");
  if (pre && pre->rules && entries.data() == pre->rules->second.as<guard_rule>()) rules = std::move(*pre->rules);
  else rules = build_array("rules", entries.data(), n, capacity);
  if (!rules) return rules.error();
  auto rcnt = build_array<guard_counter>("rcnt", nullptr, n, capacity);
  if (!rcnt) return rcnt.error();
  Fd h4, v4t, h6, v6f;
  if (!rs.h4.empty()) {
    auto t = build_array("h4", rs.h4.data(), rs.h4.size());
    if (!t) return t.error();
    h4 = std::move(t->first);
  }
  if (const auto v4 = rs.v4_entries(); !v4.empty()) {
    if (pre && pre->v4t && v4.data() == pre->v4t->second.as<std::uint32_t>()) {
      v4t = std::move(pre->v4t->first);
    } else {
      auto t = build_array("v4t", reinterpret_cast<const V4Block*>(v4.data()), v4.size() / GUARD_V4_CHUNK);
      if (!t) return t.error();
      v4t = std::move(t->first);
    }
  }
  if (!rs.h6.empty()) {
    auto t = build_array("h6", rs.h6.data(), rs.h6.size());
    if (!t) return t.error();
    h6 = std::move(t->first);
  }
  if (!rs.v6_filter.empty()) {
    using Block = std::array<std::uint64_t, GUARD_V6_FILTER_BLOCK_BITS / 64>;
    auto t = build_array("v6f", reinterpret_cast<const Block*>(rs.v6_filter.data()),
                         rs.v6_filter.size() * 64 / GUARD_V6_FILTER_BLOCK_BITS);
    if (!t) return t.error();
    v6f = std::move(t->first);
  }

  // Counters of rules that survive the swap carry over (by uid).
  struct Carry {
    std::uint32_t old_idx, new_idx;
    guard_counter seen;
  };
  std::vector<Carry> carry;
  auto old_rules = inner_map(maps_[kOuterRules].get(), cur);
  auto old_cnt = inner_map(maps_[kOuterRcnt].get(), cur);
  MapMemory old_cnt_mem;
  if (old_rules && old_cnt && old_rules->valid() && old_cnt->valid()) {
    auto info = map_info(old_rules->get());
    if (info) {
      auto orules = MapMemory::map(old_rules->get(), info->max_entries * sizeof(guard_rule), false, "old rules");
      auto ocnt = MapMemory::map(old_cnt->get(), info->max_entries * sizeof(guard_counter), false, "old counters");
      if (orules && ocnt) {
        std::unordered_map<std::uint32_t, std::uint32_t> hot;  // uid -> old index, rules that counted something
        for (std::uint32_t i = 1; i < info->max_entries; ++i)
          if (ocnt->as<guard_counter>()[i].packets && orules->as<guard_rule>()[i].action != GUARD_ACT_NONE)
            hot.emplace(orules->as<guard_rule>()[i].uid, i);
        if (!hot.empty()) {
          for (std::uint32_t i = 1; i < n; ++i)
            if (auto it = hot.find(entries[i].uid); it != hot.end()) {
              guard_counter seen = ocnt->as<guard_counter>()[it->second];
              rcnt->second.as<guard_counter>()[i] = seen;
              carry.push_back({it->second, i, seen});
            }
        }
        old_cnt_mem = std::move(*ocnt);
      }
    }
  }

  // The next generation's slots: written side by side, and the flip goes
  // ahead once every slot reads back its table, while the kernel's
  // per-write grace periods (see slot_writes.h) run beside the wait below.
  const std::array<std::pair<MapId, const Fd*>, kOuterCount> next = {
      {{kOuterRules, &rules->first}, {kOuterRcnt, &rcnt->first}, {kOuterH4, &h4}, {kOuterV4t, &v4t},
       {kOuterH6, &h6}, {kOuterV6f, &v6f}}};
  std::array<SlotWrite, kOuterCount> writes;
  for (std::size_t i = 0; i < next.size(); ++i)
    writes[i] = SlotWrite{maps_[next[i].first].get(), nxt, next[i].second->valid() ? next[i].second->get() : -1};
  SlotWriter next_slots;
  if (auto s = next_slots.start(writes); !s) return s.error();
  retired_.reset();  // the slots it held have just been overwritten
  guard_gen_meta meta = rs.meta;
  meta.version = c->meta[cur].version + 1;
  meta.installed_ns = boottime_ns();
  std::memcpy(&c->meta[nxt], &meta, sizeof(meta));
  // The flip: one aligned store, ordered after the meta and slot writes.
  __atomic_store_n(&c->gen, nxt, __ATOMIC_RELEASE);
  wait_for_readers();

  // Packets counted on the old generation between our copy and the flip.
  for (const auto& k : carry) {
    const guard_counter now = old_cnt_mem.as<guard_counter>()[k.old_idx];
    auto* dst = &rcnt->second.as<guard_counter>()[k.new_idx];
    __atomic_fetch_add(&dst->packets, now.packets - k.seen.packets, __ATOMIC_RELAXED);
    __atomic_fetch_add(&dst->bytes, now.bytes - k.seen.bytes, __ATOMIC_RELAXED);
  }
  const std::size_t slot_writes = next_slots.issued();
  (void)next_slots.finish();  // written and visible before the flip; only the kernel's waits were left
  // Retire the old generation so its memory is freed: a large one now, a
  // small one when the next swap overwrites its slots, release_retired() or
  // this object's end, whichever comes first (its deletes cost a grace
  // period each, which a small change should not wait for).
  Retired old{nxt, cur, {}};
  std::size_t old_bytes = 0;
  for (std::size_t i = 0; i < kOuterCount; ++i) {
    auto inner = inner_map(maps_[kOuterFirst + i].get(), cur);
    if (!inner || !inner->valid()) continue;
    auto info = map_info(inner->get());
    if (!info) continue;
    old.ids[i] = info->id;
    old_bytes += std::size_t{info->value_size} * info->max_entries;
  }
  if (std::any_of(old.ids.begin(), old.ids.end(), [](std::uint32_t id) { return id != 0; })) retired_ = old;
  const bool retire_now = old_bytes >= kRetireNowBytes;
  if (retire_now) (void)release_retired();

  InstallReport rep;
  rep.version = meta.version;
  rep.rules = n - 1;
  rep.expired_dropped = rs.expired_dropped;
  rep.slot_writes = slot_writes;
  rep.retire_deferred = retired_.has_value();
  rep.install_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

Result<Guard::ActiveEntries> Guard::active_entries() const {
  std::uint32_t gen = __atomic_load_n(&ctl().gen, __ATOMIC_ACQUIRE) & 1;
  auto inner = inner_map(maps_[kOuterRules].get(), gen);
  if (!inner) return inner.error();
  if (!inner->valid()) return ActiveEntries{};
  auto info = map_info(inner->get());
  if (!info) return info.error();
  auto mem = MapMemory::map(inner->get(), info->max_entries * sizeof(guard_rule), false, "rules");
  if (!mem) return mem.error();
  return ActiveEntries{std::move(*mem), info->max_entries};
}

Result<std::vector<GuardRule>> Guard::rules() const {
  auto entries = active_entries();
  if (!entries) return entries.error();
  return rules_from_entries(entries->span());
}

Result<std::vector<RuleStat>> Guard::rule_stats() const {
  std::uint32_t gen = __atomic_load_n(&ctl().gen, __ATOMIC_ACQUIRE) & 1;
  auto entries = active_entries();
  if (!entries) return entries.error();
  std::vector<RuleStat> out;
  if (entries->empty()) return out;
  auto cnt = inner_map(maps_[kOuterRcnt].get(), gen);
  if (!cnt) return cnt.error();
  MapMemory mem;
  if (cnt->valid()) {
    auto m = MapMemory::map(cnt->get(), entries->size() * sizeof(guard_counter), false, "rule counters");
    if (!m) return m.error();
    mem = std::move(*m);
  }
  for (std::size_t i = 1; i < entries->size(); ++i) {
    const guard_rule& e = (*entries)[i];
    if (e.action == GUARD_ACT_NONE) continue;
    RuleStat s{rule_from_entry(e)};
    if (mem.valid()) {
      s.packets = mem.as<guard_counter>()[i].packets;
      s.bytes = mem.as<guard_counter>()[i].bytes;
    }
    out.push_back(s);
  }
  return out;
}

Result<VerdictCounters> Guard::verdicts() const {
  VerdictCounters out{};
  for (std::uint32_t i = 0; i < GUARD_R_MAX; ++i) {
    auto sum = percpu_sum(maps_[kVerdicts].get(), i, 2);
    if (!sum) return sum.error();
    out[i] = guard_counter{(*sum)[0], (*sum)[1]};
  }
  return out;
}

Result<std::vector<Talker>> Guard::talkers() const {
  // One copy of every CPU's table; a source hashes to the same slot on every
  // CPU, so its counts are the sum of that slot wherever it owns it.
  int fd = maps_[kTalkers].get();
  auto info = map_info(fd);
  if (!info) return info.error();
  const std::size_t cpus = info->max_entries / GUARD_TALKER_SLOTS;
  auto mem = MapMemory::map(fd, std::size_t{info->max_entries} * sizeof(guard_talker), false, "talker table");
  if (!mem) return mem.error();
  const guard_talker* table = mem->as<guard_talker>();
  std::vector<Talker> out;
  std::vector<const guard_talker*> owners;
  for (std::uint32_t slot = 0; slot < GUARD_TALKER_SLOTS; ++slot) {
    owners.clear();
    for (std::size_t cpu = 0; cpu < cpus; ++cpu) {
      const guard_talker* v = &table[cpu * GUARD_TALKER_SLOTS + slot];
      if (v->family) owners.push_back(v);
    }
    for (std::size_t i = 0; i < owners.size(); ++i) {
      const guard_talker* v = owners[i];
      if (!v) continue;
      Talker t;
      t.source.family = v->family;
      t.source.len = v->family == 4 ? 32 : 128;
      std::memcpy(t.source.addr.data(), v->addr, v->family == 4 ? 4 : 16);
      for (std::size_t j = i; j < owners.size(); ++j) {
        const guard_talker* u = owners[j];
        if (!u || u->family != v->family || std::memcmp(u->addr, v->addr, sizeof(v->addr)) != 0) continue;
        t.packets += u->packets;
        t.bytes += u->bytes;
        t.dropped += u->dropped;
        owners[j] = nullptr;
      }
      out.push_back(t);
    }
  }
  return out;
}

Result<std::vector<Talker>> Guard::top_talkers(std::size_t n) const {
  auto all = talkers();
  if (!all) return all.error();
  std::sort(all->begin(), all->end(), [](const Talker& a, const Talker& b) {
    return a.packets != b.packets ? a.packets > b.packets : a.source < b.source;
  });
  if (all->size() > n) all->resize(n);
  return all;
}

Status Guard::set_sample_every(std::uint32_t n) {
  __atomic_store_n(&ctl_mem_.as<guard_ctl>()->sample_n, n, __ATOMIC_RELEASE);
  return ok();
}

Status Guard::set_talkers(bool on) {
  auto* c = ctl_mem_.as<guard_ctl>();
  if (on)
    __atomic_fetch_or(&c->flags, GUARD_CF_TALKERS, __ATOMIC_RELEASE);
  else
    __atomic_fetch_and(&c->flags, ~static_cast<std::uint32_t>(GUARD_CF_TALKERS), __ATOMIC_RELEASE);
  return ok();
}

}  // namespace reflex::guard
