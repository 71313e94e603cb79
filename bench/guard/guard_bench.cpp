#include "bench/guard/guard_bench.h"

#include "bench/guard/rule_gen.h"
#include "guard/guard.h"
#include "guard/test_run.h"
#include "sim/netns.h"
#include "sim/packet.h"
#include "xdp_baseline.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <linux/membarrier.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unistd.h>
#include <memory>

namespace reflex::bench {
namespace {

using guard::Guard;

constexpr const char* kMissV4 = "198.18.0.1";
constexpr const char* kHitV4 = "198.19.0.1";
constexpr const char* kMissV6 = "2001:db8::1";
constexpr const char* kHitV6 = "2001:db9:1::1";  // another /32 than the miss: most sources share no /32 with a rule

std::vector<std::uint8_t> udp_packet(const std::string& src) {
  sim::PacketBuilder b;
  if (src.find(':') != std::string::npos)
    b.ipv6(src, "2001:db8:ffff::1");
  else
    b.ipv4(src, "10.0.0.1");
  return b.udp(40000, 53).payload(22).build();
}

struct Timer {
  std::uint32_t repeat;
  int rounds;
  // Best of rounds: the least disturbed run is the closest to the program's cost.
  Result<double> ns_per_packet(int prog_fd, const std::vector<std::uint8_t>& pkt, std::uint32_t want_retval) const {
    double best = 1e18;
    for (int i = 0; i < rounds; ++i) {
      auto r = guard::test_run(prog_fd, pkt, repeat);
      if (!r) return r.error();
      if (r->retval != want_retval)
        return make_error("benchmark packet got verdict " + std::to_string(r->retval) + ", expected " +
                          std::to_string(want_retval));
      best = std::min(best, static_cast<double>(r->duration_ns));
    }
    return best;
  }
};

struct XdpFilterOnVeth {
  std::unique_ptr<sim::NetNs> ns;
  std::string iface;
  // libxdp makes /sys/fs/bpf/xdp for its dispatcher pins; leave no empty one behind.
  bool had_libxdp_dir = std::filesystem::exists("/sys/fs/bpf/xdp");
  ~XdpFilterOnVeth() {
    if (ns && !iface.empty())
      (void)sim::run_command({"nsenter", "--net=/run/netns/" + ns->name(), "xdp-filter", "unload", iface});
    if (!had_libxdp_dir) ::rmdir("/sys/fs/bpf/xdp");
  }
};

// xdp-filter as it runs: loaded by xdp-filter itself (through libxdp's
// dispatcher) on a veth in a throwaway namespace, with a handful of addresses.
struct XdpFilterProgram {
  XdpFilterOnVeth env;
  Fd prog;
  std::string name;
};

Result<std::unique_ptr<XdpFilterProgram>> load_xdp_filter() {
  auto x = std::make_unique<XdpFilterProgram>();
  auto ns = sim::NetNs::create(sim::unique_name("rfxbxf"));
  if (!ns) return ns.error();
  x->env.ns = std::make_unique<sim::NetNs>(std::move(*ns));
  std::string a = sim::unique_name("rfxbxa"), b = sim::unique_name("rfxbxb");
  if (auto s = sim::make_veth(*x->env.ns, *x->env.ns, {a, b, "10.250.0.1/24", "10.250.0.2/24", {}}); !s)
    return s.error();
  std::string nsarg = "--net=/run/netns/" + x->env.ns->name();
  if (auto r = sim::run_command({"nsenter", nsarg, "xdp-filter", "load", b, "--mode", "native"}); !r)
    return make_error("xdp-filter load: " + r.error().what, "install xdp-tools (scripts/install-deps.sh)");
  x->env.iface = b;
  for (const char* addr : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "203.0.113.7", "203.0.113.9"})
    if (auto r = sim::run_command({"nsenter", nsarg, "xdp-filter", "ip", addr, "--mode", "src"}); !r) return r.error();
  std::uint32_t id = 0;
  int err = 0;
  auto st = x->env.ns->run([&] {
    unsigned ifindex = if_nametoindex(b.c_str());
    if (!ifindex || bpf_xdp_query_id(static_cast<int>(ifindex), XDP_FLAGS_DRV_MODE, &id) < 0) err = errno ? errno : ENOENT;
  });
  if (!st) return st.error();
  if (err || !id) return errno_error("find xdp-filter's program on " + b, err ? err : ENOENT);
  x->prog = Fd(bpf_prog_get_fd_by_id(id));
  if (!x->prog.valid()) return errno_error("open xdp-filter's program", errno);
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  bpf_obj_get_info_by_fd(x->prog.get(), &info, &len);
  x->name = std::string("xdp-filter (") + info.name + ", 5 src addrs)";
  return x;
}

// The machine's noise comes and goes: every guard figure is measured in
// rounds interleaved with the references, and each keeps its best.
struct Best {
  double ns = 1e18;
  void add(double v) { ns = std::min(ns, v); }
};

struct Spread {
  std::vector<double> v;
  double at(double q) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  }
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_ms_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

// main's slot protocol before the grace-period change, replayed on the
// guard's own outer maps (it is detached: no packet reads them): the live
// generation's tables written into the standby slots one after another,
// one grace period, the standby slots cleared one after another. The
// standby slots are empty before and after. Returns how many of its
// syscalls wait for a grace period.
Result<std::size_t> serial_slot_protocol(const Guard& g) {
  const std::uint32_t live = __atomic_load_n(&g.ctl().gen, __ATOMIC_ACQUIRE) & 1, standby = live ^ 1;
  std::size_t waits = 0;
  std::vector<Fd> inner;
  for (int i = 0; i < Guard::kOuterCount; ++i) {
    auto fd = guard::inner_map(g.map_fd(static_cast<Guard::MapId>(Guard::kOuterFirst + i)), live);
    if (!fd) return fd.error();
    inner.push_back(std::move(*fd));
  }
  for (int i = 0; i < Guard::kOuterCount; ++i) {
    if (auto s = guard::set_inner_map(g.map_fd(static_cast<Guard::MapId>(Guard::kOuterFirst + i)), standby, inner[i]); !s)
      return s.error();
    waits += inner[i].valid();  // an update waits; clearing an empty slot does not
  }
  syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
  ++waits;
  for (int i = 0; i < Guard::kOuterCount; ++i) {
    if (auto s = guard::set_inner_map(g.map_fd(static_cast<Guard::MapId>(Guard::kOuterFirst + i)), standby, Fd()); !s)
      return s.error();
    waits += inner[i].valid();
  }
  return waits;
}

}  // namespace

Result<SmallSwapReport> run_small_swap_bench(int rounds, std::FILE* out) {
  SmallSwapReport rep;
  rep.rounds = rounds;
  auto g = Guard::create_detached();
  if (!g) return g.error();
  auto base = make_rules(RuleShape::v4_exact, 100, *Prefix::parse("198.18.0.0/15"), 7);
  auto plus = base;
  guard::GuardRule flood;
  flood.prefix = *Prefix::parse("198.18.0.7");
  flood.action = guard::RuleAction::drop;
  plus.push_back(flood);
  if (auto r = g->replace(base); !r) return r.error();
  if (auto s = g->release_retired(); !s) return s.error();
  Spread swap, serial, gp;
  double cpu = 0;
  for (int i = 0; i < 2 * rounds; ++i) {
    const double c0 = cpu_ms_now();
    auto t0 = std::chrono::steady_clock::now();
    auto r = g->replace(i % 2 ? base : plus);
    if (!r) return r.error();
    swap.v.push_back(ms_since(t0));
    cpu += cpu_ms_now() - c0;
    rep.slot_writes = r->slot_writes;
    // The anchors, interleaved: the standby slots must be empty for the replay.
    if (auto s = g->release_retired(); !s) return s.error();
    t0 = std::chrono::steady_clock::now();
    auto w = serial_slot_protocol(*g);
    if (!w) return w.error();
    serial.v.push_back(ms_since(t0));
    rep.serial_waits = *w;
    t0 = std::chrono::steady_clock::now();
    syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
    gp.v.push_back(ms_since(t0));
  }
  rep.cpu_ms = cpu / (2 * rounds);
  rep.best_ms = swap.at(0), rep.median_ms = swap.at(0.5), rep.p90_ms = swap.at(0.9);
  rep.serial_best_ms = serial.at(0), rep.serial_median_ms = serial.at(0.5), rep.serial_p90_ms = serial.at(0.9);
  rep.gp_best_ms = gp.at(0), rep.gp_median_ms = gp.at(0.5), rep.gp_p90_ms = gp.at(0.9);
  double load[3] = {};
  (void)getloadavg(load, 3);
  std::fprintf(out, "\nsmall change (1 rule on top of 100, in and out, %d swaps, load %.1f)  best / median / p90 ms\n",
               2 * rounds, load[0]);
  std::fprintf(out, "  %-58s %7.2f %7.2f %7.2f  (cpu %.2f ms; %zu slot writes side by side + 1 wait)\n",
               "Guard::replace", rep.best_ms, rep.median_ms, rep.p90_ms, rep.cpu_ms, rep.slot_writes);
  std::fprintf(out, "  %-58s %7.2f %7.2f %7.2f  (%zu grace periods in a row)\n",
               "anchor: the slot writes one by one, wait, retire one by one", rep.serial_best_ms,
               rep.serial_median_ms, rep.serial_p90_ms, rep.serial_waits);
  std::fprintf(out, "  %-58s %7.2f %7.2f %7.2f\n", "anchor: one grace period (membarrier)", rep.gp_best_ms,
               rep.gp_median_ms, rep.gp_p90_ms);
  return rep;
}

Result<GuardBenchReport> run_guard_bench(const GuardBenchOptions& opts, std::FILE* out) {
  GuardBenchReport rep;
  const Timer t{opts.quick ? 20'000u : 1'000'000u, 1};
  const int rounds = opts.quick ? 1 : 5;
  std::vector<std::size_t> sizes = opts.sizes;
  if (sizes.empty()) sizes = opts.quick ? std::vector<std::size_t>{1, 1000} : std::vector<std::size_t>{1, 1000, 100000, 1000000};
  auto miss4 = udp_packet(kMissV4), hit4 = udp_packet(kHitV4), miss6 = udp_packet(kMissV6), hit6 = udp_packet(kHitV6);

  struct D {
    void operator()(xdp_baseline* s) const { xdp_baseline__destroy(s); }
  };
  std::unique_ptr<xdp_baseline, D> base(xdp_baseline__open_and_load());
  if (!base) return errno_error("load xdp_baseline", errno);
  const int base_fd = bpf_program__fd(base->progs.xdp_drop_all);
  std::unique_ptr<XdpFilterProgram> xf;
  if (opts.xdp_filter) {
    auto x = load_xdp_filter();
    if (!x) return x.error();
    xf = std::move(*x);
  }
  Best base_best, xf_best;

  auto g = Guard::create_detached();
  if (!g) return g.error();
  struct Shape {
    RuleShape shape;
    const char* name;
    const char* hit_rule;
    const std::vector<std::uint8_t>* miss;
    const std::vector<std::uint8_t>* hit;
    Prefix avoid;
  };
  const Shape shapes[] = {
      {RuleShape::v4_exact, "guard ipv4 exact (/32)", "198.19.0.1", &miss4, &hit4, *Prefix::parse("198.18.0.0/15")},
      {RuleShape::v4_prefix, "guard ipv4 prefixes (/8-/31)", "198.19.0.0/24", &miss4, &hit4, *Prefix::parse("198.18.0.0/15")},
      {RuleShape::v6_exact, "guard ipv6 exact (/128)", "2001:db9:1::1", &miss6, &hit6, *Prefix::parse("2001:db8::/31")},
      {RuleShape::v6_prefix, "guard ipv6 prefixes (/32-/64)", "2001:db9:1::/48", &miss6, &hit6, *Prefix::parse("2001:db8::/31")},
  };
  std::fprintf(out, "%-44s %9s %12s %12s %14s\n", "program", "rules", "ns/pkt miss", "ns/pkt hit", "xdp-filter now");
  auto print = [&](const BenchRow& r, double xf_now) {
    std::fprintf(out, "%-44s %9zu %12.0f %12s %14s\n", r.program.c_str(), r.rules, r.miss_ns,
                 r.hit_ns < 0 ? "-" : std::to_string(static_cast<long>(r.hit_ns + 0.5)).c_str(),
                 xf_now > 0 ? std::to_string(static_cast<long>(xf_now + 0.5)).c_str() : "-");
    std::fflush(out);
    rep.rows.push_back(r);
  };
  auto measure = [&](const Shape& sh, std::size_t n, const char* label) -> Status {
    Best miss, hit, xf_here;
    for (int r = 0; r < rounds; ++r) {
      auto b = t.ns_per_packet(base_fd, miss4, XDP_DROP);
      if (!b) return b.error();
      base_best.add(*b);
      if (xf) {
        auto x = t.ns_per_packet(xf->prog.get(), *sh.miss == miss6 ? miss6 : miss4, XDP_PASS);
        if (!x) return x.error();
        xf_best.add(*x);
        xf_here.add(*x);
      }
      auto m = t.ns_per_packet(g->xdp_prog_fd(), *sh.miss, XDP_PASS);
      if (!m) return m.error();
      miss.add(*m);
      auto h = t.ns_per_packet(g->xdp_prog_fd(), *sh.hit, XDP_DROP);
      if (!h) return h.error();
      hit.add(*h);
    }
    print({label, n, miss.ns, hit.ns}, xf ? xf_here.ns : -1);
    return ok();
  };
  for (const auto& sh : shapes) {
    for (std::size_t n : sizes) {
      auto rules = make_rules(sh.shape, n > 0 ? n - 1 : 0, sh.avoid, 42 + n);
      guard::GuardRule hit;
      hit.prefix = *Prefix::parse(sh.hit_rule);
      hit.action = guard::RuleAction::drop;
      rules.push_back(hit);
      auto inst = g->replace(rules);
      if (!inst) return inst.error();
      rep.swaps.push_back({sh.name, n, inst->compile_ms, inst->install_ms});
      if (auto s = measure(sh, n, sh.name); !s) return s.error();
      // What per-source accounting costs, at the largest size of the first shape.
      if (&sh == &shapes[0] && n == sizes.back()) {
        (void)g->set_talkers(false);
        if (auto s = measure(sh, n, "  same, top-talker accounting off"); !s) return s.error();
        (void)g->set_talkers(true);
      }
    }
  }
  std::fprintf(out, "%-44s %9s %12.0f %12s\n", "XDP_DROP (bare program: the harness floor)", "-", base_best.ns, "-");
  rep.rows.push_back({"XDP_DROP (bare program)", 0, base_best.ns, -1});
  if (xf) {
    std::fprintf(out, "%-44s %9d %12.0f %12s\n", xf->name.c_str(), 5, xf_best.ns, "-");
    rep.rows.push_back({xf->name, 5, xf_best.ns, -1});
  }
  std::fprintf(out, "\n%-44s %9s %12s %12s %12s\n", "rule-set swap", "rules", "compile ms", "install ms", "total ms");
  for (const auto& s : rep.swaps)
    std::fprintf(out, "%-44s %9zu %12.1f %12.1f %12.1f\n", s.shape.c_str(), s.rules, s.compile_ms, s.install_ms,
                 s.compile_ms + s.install_ms);
  auto small = run_small_swap_bench(opts.quick ? 5 : 40, out);
  if (!small) return small.error();
  rep.small_swap = *small;
  return rep;
}

}  // namespace reflex::bench
