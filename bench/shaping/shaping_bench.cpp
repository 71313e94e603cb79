// shaping_bench: TC shaping's figures, each beside its anchor in the same run.
//   accuracy  receiver-side rate / shaped rate at 1, 10, 100 Mbit/s, UDP offered at
//             1.3x and one bulk TCP flow: htb (interface, prefix) vs the BPF policer
//   cpu       sender CPU per packet through each datapath, rates far above the load
//   loss      datagrams lost across 100 rate changes under a standing queue:
//             reflex (converge) vs `tc class change` / `tc class replace` on the same
//             htb tree, vs delete+add (the naive rebuild), vs the policer
//   effect    time from a shape change handed over to in effect at the receiver,
//             and the call's own time: reflex vs `tc class change`, interleaved
//   noop      converge() with nothing to change (the reconciler's every few ticks)
// `--quick` runs small sizes so the code stays alive in the test suite.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "bench/shaping/policer.h"
#include "bench/shaping/shaping_lab.h"
#include "common/log.h"
#include "execute/shaping/shaper.h"
#include "sim/tcp_load.h"

using namespace std::chrono_literals;
using namespace reflex;
using namespace reflex::execute::shaping;
using namespace reflex::bench::shaping;

namespace {

struct Options {
  bool quick = false;
  int rounds = 3;
  // Under the test suite's prefix, so the ctest cleanup fixture removes it if this dies.
  std::string pin_root = "/sys/fs/bpf/reflex-test-" + std::to_string(getpid());
  std::uint64_t policer_min_burst = 128 * 1024;  // above a 64 KB GSO packet, or TCP stalls
};

enum class Path { none, htb_iface, htb_prefix, policer_iface, policer_prefix };
const char* name(Path p) {
  switch (p) {
    case Path::none:
      return "no shaping";
    case Path::htb_iface:
      return "htb, interface";
    case Path::htb_prefix:
      return "htb+classifier, prefix";
    case Path::policer_iface:
      return "BPF policer, interface";
    case Path::policer_prefix:
      return "BPF policer, prefix";
  }
  return "?";
}
bool is_prefix(Path p) { return p == Path::htb_prefix || p == Path::policer_prefix; }

// One lab with one datapath on it.
struct Rig {
  std::unique_ptr<Lab> lab;
  std::optional<Shaper> shaper;
  std::unique_ptr<Policer> policer;
  Path path = Path::none;
  const Options* opt = nullptr;

  static Result<std::unique_ptr<Rig>> make(Path p, const Options& o) {
    auto r = std::make_unique<Rig>();
    r->path = p;
    r->opt = &o;
    auto lab = Lab::create();
    if (!lab) return lab.error();
    r->lab = std::move(*lab);
    if (p == Path::htb_iface || p == Path::htb_prefix) {
      auto s = Shaper::open(r->lab->a_if, r->lab->a.name(), {o.pin_root});
      if (!s) return s.error();
      r->shaper.emplace(std::move(*s));
    } else if (p != Path::none) {
      auto pol = Policer::attach(r->lab->a, r->lab->a_if);
      if (!pol) return pol.error();
      r->policer = std::move(*pol);
    }
    return r;
  }
  ~Rig() {
    if (shaper) (void)shaper->clear();
  }
  std::string dst() const { return is_prefix(path) ? lab->prefix_addr : lab->b_addr; }
  Status set_rate(std::uint64_t bps) {
    std::optional<Prefix> pfx;
    if (is_prefix(path)) pfx = *Prefix::parse(lab->prefix);
    if (shaper) {
      DesiredShape s;
      s.prefix = pfx;
      s.rate_bps = bps;
      return shaper->converge(std::vector<DesiredShape>{s});
    }
    if (policer)
      return policer->set(pfx, bps, std::max<std::uint64_t>(default_burst(bps), opt->policer_min_burst));
    return ok();
  }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double maxof(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1'000'000'000ll + ts.tv_nsec;
}

// ---- accuracy ---------------------------------------------------------------

Status run_accuracy(const Options& o) {
  std::vector<std::uint64_t> rates = o.quick ? std::vector<std::uint64_t>{10'000'000}
                                             : std::vector<std::uint64_t>{1'000'000, 10'000'000, 100'000'000};
  auto warm = o.quick ? 200ms : 400ms;
  auto window = o.quick ? 300ms : 2000ms;
  std::printf("\n== accuracy: receiver rate / shaped rate (median of %d; UDP at L2, TCP goodput) ==\n",
              o.quick ? 1 : o.rounds);
  std::printf("%-26s %10s %10s %10s\n", "datapath", "rate", "UDP 1.3x", "TCP");
  std::vector<Path> paths{Path::htb_iface, Path::htb_prefix, Path::policer_iface, Path::policer_prefix};
  if (o.quick) paths = {Path::htb_prefix, Path::policer_prefix};
  for (auto rate : rates)
    for (Path p : paths) {
      std::vector<double> udp, tcp;
      for (int r = 0; r < (o.quick ? 1 : o.rounds); ++r) {
        auto rig = Rig::make(p, o);
        if (!rig) return rig.error();
        if (auto s = (*rig)->set_rate(rate); !s) return s;
        auto f = UdpFlow::start(*(*rig)->lab, (*rig)->dst(), rate * 13 / 10);
        if (!f) return f.error();
        udp.push_back(measure_rate_bps(**f, warm, window) / static_cast<double>(rate));
        (*f)->stop(0ms);
        f->reset();
        auto& lab = *(*rig)->lab;
        auto load = sim::TcpLoad::start(lab.a, lab.a_addr, lab.b, (*rig)->dst(), 5401);
        if (!load) return load.error();
        tcp.push_back(measure_goodput_bps([&] { return (*load)->bytes_received(); }, warm, window) /
                      static_cast<double>(rate));
      }
      std::printf("%-26s %7.0f Mb %10.3f %10.3f\n", name(p), static_cast<double>(rate) / 1e6, median(udp),
                  median(tcp));
    }
  return ok();
}

// ---- cpu --------------------------------------------------------------------

Result<double> blast_ns_per_packet(Rig& rig, std::size_t n) {
  auto& lab = *rig.lab;
  auto rx = sim::socket_in(lab.b, AF_INET, SOCK_DGRAM, 0);
  if (!rx) return rx.error();
  Fd rxfd(*rx);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(5301);
  inet_pton(AF_INET, rig.dst().c_str(), &to.sin_addr);
  if (::bind(rxfd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return errno_error("bind", errno);
  auto tx = sim::socket_in(lab.a, AF_INET, SOCK_DGRAM, 0);
  if (!tx) return tx.error();
  Fd txfd(*tx);
  if (::connect(txfd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    return errno_error("connect", errno);
  char buf[64] = {};
  for (int i = 0; i < 1000; ++i) (void)::send(txfd.get(), buf, sizeof buf, 0);  // ARP, caches
  std::int64_t c0 = thread_cpu_ns();
  for (std::size_t i = 0; i < n; ++i) (void)::send(txfd.get(), buf, sizeof buf, 0);
  return static_cast<double>(thread_cpu_ns() - c0) / static_cast<double>(n);
}

Status run_cpu(const Options& o) {
  const std::size_t n = o.quick ? 5'000 : 300'000;
  const int rounds = o.quick ? 1 : std::max(o.rounds, 5);
  std::printf(
      "\n== cpu: sender CPU per 64-byte UDP datagram, shaped at 10 Gbit/s (no queue), best of %d ==\n",
      rounds);
  std::vector<Path> paths{Path::none, Path::htb_iface, Path::htb_prefix, Path::policer_iface,
                          Path::policer_prefix};
  std::map<Path, double> best;
  for (int r = 0; r < rounds; ++r)
    for (Path p : paths) {  // interleaved, so a noisy moment hits every path alike
      auto rig = Rig::make(p, o);
      if (!rig) return rig.error();
      if (auto s = (*rig)->set_rate(10'000'000'000ull); !s) return s;
      auto ns = blast_ns_per_packet(**rig, n);
      if (!ns) return ns.error();
      if (!best.count(p) || *ns < best[p]) best[p] = *ns;
    }
  for (Path p : paths)
    std::printf("%-26s %8.0f ns/packet  (%+6.0f ns, x%.2f of no shaping)\n", name(p), best[p],
                best[p] - best[Path::none], best[p] / best[Path::none]);
  return ok();
}

// ---- loss -------------------------------------------------------------------

enum class Changer { reflex, tc_change, tc_replace, delete_add, policer };
const char* name(Changer c) {
  switch (c) {
    case Changer::reflex:
      return "reflex converge()";
    case Changer::tc_change:
      return "tc class change";
    case Changer::tc_replace:
      return "tc class replace";
    case Changer::delete_add:
      return "tc class del + add";
    case Changer::policer:
      return "BPF policer map update";
  }
  return "?";
}

std::vector<std::string> tc_class_args(const std::string& verb, const Lab& lab, std::uint32_t classid,
                                       std::uint64_t rate) {
  HtbClass c = leaf_class(classid, kParentClass, rate, rate, 0);
  return {"class",
          verb,
          "dev",
          lab.a_if,
          "parent",
          handle_str(kParentClass),
          "classid",
          handle_str(classid),
          "htb",
          "rate",
          std::to_string(rate) + "bit",
          "ceil",
          std::to_string(rate) + "bit",
          "burst",
          std::to_string(c.burst_bytes) + "b",
          "cburst",
          std::to_string(c.cburst_bytes) + "b",
          "quantum",
          std::to_string(c.quantum)};
}

// Sets the prefix's rate through one of the changers (the rig is htb_prefix, or policer_prefix for the
// policer).
Status change_rate(Rig& rig, Changer c, std::uint32_t classid, std::uint64_t rate) {
  switch (c) {
    case Changer::reflex:
    case Changer::policer:
      return rig.set_rate(rate);
    case Changer::tc_change:
      return tc(rig.lab->a, tc_class_args("change", *rig.lab, classid, rate));
    case Changer::tc_replace:
      return tc(rig.lab->a, tc_class_args("replace", *rig.lab, classid, rate));
    case Changer::delete_add:
      if (auto s = tc(rig.lab->a, {"class", "del", "dev", rig.lab->a_if, "classid", handle_str(classid)}); !s)
        return s;
      return tc(rig.lab->a, tc_class_args("add", *rig.lab, classid, rate));
  }
  return ok();
}

struct LossResult {
  std::uint64_t sent = 0, lost = 0, max_backlog = 0;
};

Result<LossResult> loss_window(Rig& rig, Changer c, int changes, std::chrono::milliseconds phase) {
  const std::uint64_t lo = 4'000'000, hi = 16'000'000, offered = 8'000'000;
  if (auto s = rig.set_rate(hi); !s) return s.error();
  std::uint32_t classid = 0;
  if (rig.shaper) {
    auto shapes = rig.shaper->read();
    if (!shapes || shapes->empty()) return make_error("no prefix class to change");
    classid = shapes->front().classid;
  }
  auto f = UdpFlow::start(*rig.lab, rig.dst(), offered);
  if (!f) return f.error();
  LossResult out;
  for (int i = 0; i < changes; ++i) {
    std::this_thread::sleep_for(phase);  // one phase of the rate schedule
    if (rig.shaper) {
      auto st = rig.shaper->state();
      if (st)
        for (const auto& cl : st->classes)
          if (cl.classid == classid) out.max_backlog = std::max(out.max_backlog, cl.backlog_packets);
    }
    if (auto s = change_rate(rig, c, classid, i % 2 ? hi : lo); !s) return s.error();
  }
  if (auto s = change_rate(rig, c, classid, hi); !s) return s.error();
  (*f)->stop();
  out.sent = (*f)->sent();
  out.lost = (*f)->lost();
  return out;
}

Status run_loss(const Options& o) {
  const int changes = o.quick ? 4 : 100;
  const int rounds = o.quick ? 1 : o.rounds;
  const auto phase = 40ms;
  std::printf(
      "\n== loss: %d rate changes (4 <-> 16 Mbit/s every %lld ms) under 8 Mbit/s of UDP, %d rounds ==\n",
      changes, static_cast<long long>(phase.count()), rounds);
  std::printf("%-24s %10s %10s %10s %14s\n", "changer", "sent", "lost", "lost/round", "max backlog");
  std::vector<Changer> changers{Changer::reflex, Changer::tc_change, Changer::tc_replace, Changer::delete_add,
                                Changer::policer};
  std::map<Changer, LossResult> total;
  std::map<Changer, std::vector<double>> per_round;
  for (int r = 0; r < rounds; ++r)
    for (Changer c : changers) {
      auto rig = Rig::make(c == Changer::policer ? Path::policer_prefix : Path::htb_prefix, o);
      if (!rig) return rig.error();
      auto res = loss_window(**rig, c, changes, phase);
      if (!res) return res.error();
      total[c].sent += res->sent;
      total[c].lost += res->lost;
      total[c].max_backlog = std::max(total[c].max_backlog, res->max_backlog);
      per_round[c].push_back(static_cast<double>(res->lost));
    }
  for (Changer c : changers) {
    auto& pr = per_round[c];
    std::printf(
        "%-24s %10llu %10llu %5.0f..%-4.0f %14llu\n", name(c), static_cast<unsigned long long>(total[c].sent),
        static_cast<unsigned long long>(total[c].lost), *std::min_element(pr.begin(), pr.end()),
        *std::max_element(pr.begin(), pr.end()), static_cast<unsigned long long>(total[c].max_backlog));
  }
  return ok();
}

// ---- effect -----------------------------------------------------------------

// When the receiver's arrivals switch to the new pace after t0 (ns after t0;
// -1 if never): for a rise, the first of 5 arrivals spaced under 2x the new
// gap; for a fall, the last arrival before the first gap over half the new gap.
double effect_after(const std::vector<std::int64_t>& a, std::int64_t t0, double new_gap_ns, bool rise) {
  for (std::size_t i = 0; i + 5 < a.size(); ++i) {
    if (rise) {
      bool ok = true;
      for (std::size_t k = 0; k < 5 && ok; ++k)
        ok = static_cast<double>(a[i + k + 1] - a[i + k]) < 2 * new_gap_ns;
      if (ok) return static_cast<double>(a[i] - t0);
    } else if (static_cast<double>(a[i + 1] - a[i]) > new_gap_ns / 2) {
      return static_cast<double>(a[i] - t0);
    }
  }
  return -1;
}

Status run_effect(const Options& o) {
  const int changes = o.quick ? 2 : 40;
  const std::uint64_t lo = 2'000'000, hi = 40'000'000, offered = 50'000'000;
  std::printf(
      "\n== effect: rate change handed over -> in effect at the receiver (%d changes each, 2 <-> 40 Mbit/s "
      "under 50 Mbit/s of UDP; reflex and tc interleaved on one class) ==\n",
      changes);
  auto rig = Rig::make(Path::htb_prefix, o);
  if (!rig) return rig.error();
  Rig& g = **rig;
  if (auto s = g.set_rate(hi); !s) return s;
  auto shapes = g.shaper->read();
  if (!shapes || shapes->empty()) return make_error("no prefix class");
  std::uint32_t classid = shapes->front().classid;
  auto f = UdpFlow::start(*g.lab, g.dst(), offered, 1200, true);
  if (!f) return f.error();
  struct Sample {
    std::int64_t t0, call_ns, until;  // until: the next change (arrivals after it belong to that one)
    bool rise, reflex;
  };
  std::vector<Sample> samples;
  std::uint64_t rate = hi;
  for (int i = 0; i < 2 * changes; ++i) {
    std::this_thread::sleep_for(o.quick ? 60ms : 150ms);  // let the pace settle before the next change
    rate = rate == hi ? lo : hi;
    bool reflex = (i / 2) % 2 == 0;  // rise and fall by each changer in turn
    std::int64_t t0 = now_ns();
    Status s = reflex ? g.set_rate(rate) : tc(g.lab->a, tc_class_args("change", *g.lab, classid, rate));
    if (!s) return s;
    if (!samples.empty()) samples.back().until = t0;
    samples.push_back({t0, now_ns() - t0, 0, rate == hi, reflex});
  }
  std::this_thread::sleep_for(150ms);
  samples.back().until = now_ns();
  auto arrivals = (*f)->arrivals_since(0);
  (*f)->stop(0ms);
  const double bits = (1200 + kUdpOverhead) * 8.0;
  std::map<std::pair<bool, bool>, std::vector<double>> eff, call;
  for (const auto& s : samples) {
    std::vector<std::int64_t> after;
    for (auto t : arrivals)
      if (t >= s.t0 && t < s.until) after.push_back(t);
    double gap = bits / static_cast<double>(s.rise ? hi : lo) * 1e9;
    double e = effect_after(after, s.t0, gap, s.rise);
    if (e >= 0) eff[{s.reflex, s.rise}].push_back(e / 1e6);
    call[{s.reflex, s.rise}].push_back(static_cast<double>(s.call_ns) / 1e6);
  }
  std::printf("%-20s %-5s %12s %12s %14s %14s %6s\n", "changer", "step", "call med ms", "call max ms",
              "effect med ms", "effect max ms", "seen");
  for (bool reflex : {true, false})
    for (bool rise : {true, false}) {
      auto& e = eff[{reflex, rise}];
      auto& c = call[{reflex, rise}];
      std::printf("%-20s %-5s %12.3f %12.3f %14.2f %14.2f %3zu/%zu\n",
                  reflex ? "reflex converge()" : "tc class change", rise ? "rise" : "fall", median(c),
                  maxof(c), median(e), maxof(e), e.size(), c.size());
    }
  return ok();
}

// ---- noop -------------------------------------------------------------------

Status run_noop(const Options& o) {
  std::printf("\n== noop: converge() with nothing to change, and with one rate change (median of %d) ==\n",
              o.quick ? 20 : 200);
  std::printf("%-34s %14s %14s\n", "shapes", "no-op us", "one change us");
  for (int prefixes : o.quick ? std::vector<int>{10} : std::vector<int>{0, 10, 100}) {
    auto rig = Rig::make(Path::htb_iface, o);
    if (!rig) return rig.error();
    std::vector<DesiredShape> want(1);
    want[0].rate_bps = 100'000'000;
    for (int i = 0; i < prefixes; ++i) {
      DesiredShape s;
      s.prefix = Prefix::v4((10u << 24) | (200u << 16) | (static_cast<unsigned>(i) << 8), 24);
      s.rate_bps = 1'000'000 + 1000ull * i;
      want.push_back(s);
    }
    if (auto s = (*rig)->shaper->converge(want); !s) return s;
    std::vector<double> noop, change;
    for (int i = 0; i < (o.quick ? 20 : 200); ++i) {
      std::int64_t t0 = now_ns();
      if (auto s = (*rig)->shaper->converge(want); !s) return s;
      noop.push_back(static_cast<double>(now_ns() - t0) / 1e3);
      if (!(*rig)->shaper->last_ops().empty()) return make_error("a repeated converge was not a no-op");
      want[0].rate_bps = i % 2 ? 100'000'000 : 90'000'000;
      t0 = now_ns();
      if (auto s = (*rig)->shaper->converge(want); !s) return s;
      change.push_back(static_cast<double>(now_ns() - t0) / 1e3);
    }
    std::printf("interface + %-22d %14.0f %14.0f\n", prefixes, median(noop), median(change));
  }
  return ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shaping_bench: TC shaping's figures, each beside its anchor"};
  Options o;
  std::vector<std::string> which;
  app.add_flag("--quick", o.quick, "small sizes, a few seconds in all");
  app.add_option("--rounds", o.rounds, "repetitions (best-of or median over them)")->capture_default_str();
  app.add_option("--pin-root", o.pin_root, "where the classifier's pins go")->capture_default_str();
  app.add_option("which", which, "accuracy, cpu, loss, effect, noop (default: all)");
  CLI11_PARSE(app, argc, argv);
  init_logging("warn");
  auto want = [&](const std::string& w) {
    return which.empty() || std::find(which.begin(), which.end(), w) != which.end();
  };
  std::vector<std::pair<std::string, Status (*)(const Options&)>> parts{{"accuracy", run_accuracy},
                                                                        {"cpu", run_cpu},
                                                                        {"loss", run_loss},
                                                                        {"effect", run_effect},
                                                                        {"noop", run_noop}};
  int rc = 0;
  for (auto& [n, fn] : parts)
    if (want(n))
      if (auto s = fn(o); !s) {
        std::fprintf(stderr, "%s: %s\n", n.c_str(), s.error().message().c_str());
        rc = 1;
      }
  std::error_code ec;
  std::filesystem::remove_all(o.pin_root, ec);
  return rc;
}
