// demo: the guard on a veth pair between two throwaway namespaces. Shows
// traffic passing, a block taking effect, the drops being counted, the block
// being lifted, and leaves nothing behind.
#include "cli.h"
#include "guard/events.h"
#include "sim/netns.h"
#include "sim/traffic.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace reflex::guard::cli {
namespace {

using namespace std::chrono_literals;

// Runs this same binary as a separate process, as an operator would.
Status self(const std::vector<std::string>& args) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return errno_error("find own executable", errno);
  exe[n] = '\0';
  std::vector<std::string> argv{exe};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string shown = "reflex-guard";
  for (std::size_t i = 1; i < argv.size(); ++i) shown += " " + argv[i];
  std::printf("  $ %s\n", shown.c_str());
  auto out = sim::run_command(argv);
  if (!out) return out.error();
  std::printf("%s", out->c_str());
  return ok();
}

// Waits until the guard has judged `total` packets in all: the datapath, not a
// timer, says when the traffic has been seen.
Result<VerdictCounters> wait_for_verdicts(const Guard& g, std::uint64_t total) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    auto v = g.verdicts();
    if (!v) return v.error();
    std::uint64_t seen = 0;
    for (std::uint32_t r = 0; r <= GUARD_R_PASS_MALFORMED; ++r) seen += (*v)[r].packets;
    if (seen >= total || std::chrono::steady_clock::now() > deadline) return v;
    std::this_thread::yield();
  }
}

}  // namespace

int cmd_demo(const Context& base) {
  Context ctx = base;
  if (auto s = Guard::check_bpffs(ctx.opts); !s) return fail(s.error());
  const std::string ns_a = sim::unique_name("rfxdemoa"), ns_b = sim::unique_name("rfxdemob");
  const std::string if_a = sim::unique_name("rfxa"), if_b = sim::unique_name("rfxb");
  const std::string addr_a = "10.203.0.1", addr_b = "10.203.0.2";
  constexpr int kBurst = 50;

  std::printf("reflex-guard demo: namespaces %s (sender) and %s (guarded receiver), veth %s <-> %s\n\n", ns_a.c_str(),
              ns_b.c_str(), if_a.c_str(), if_b.c_str());
  auto a = sim::NetNs::create(ns_a);
  if (!a) return fail(a.error());
  auto b = sim::NetNs::create(ns_b);
  if (!b) return fail(b.error());
  if (auto s = sim::make_veth(*a, *b, {if_a, if_b, addr_a + "/24", addr_b + "/24", {}}); !s) return fail(s.error());

  struct Unloader {  // the guard goes away with the demo, even when a step fails
    std::string iface;
    GuardOptions opts;
    ~Unloader() { (void)Guard::unload(iface, opts); }
  } unloader{pin_key(if_b, ns_b), ctx.opts};

  std::printf("1. load the guard on %s\n", if_b.c_str());
  if (auto s = self({"--netns", ns_b, "--pin-root", ctx.opts.pin_root, "load", if_b}); !s) return fail(s.error());
  auto g = Guard::open(pin_key(if_b, ns_b), ctx.opts);
  if (!g) return fail(g.error());

  auto rx = sim::UdpPeer::open(*b, addr_b, 9000);
  if (!rx) return fail(rx.error());
  auto tx = sim::UdpPeer::open(*a, addr_a, 0);
  if (!tx) return fail(tx.error());

  std::uint64_t judged = 0;
  std::uint32_t seq = 0;
  auto round = [&](const char* title) -> Result<std::size_t> {
    // Neighbour discovery (ARP) packets are judged too; count from the counters, not from us.
    auto before = g->verdicts();
    if (!before) return before.error();
    judged = 0;
    for (std::uint32_t r = 0; r <= GUARD_R_PASS_MALFORMED; ++r) judged += (*before)[r].packets;
    auto sent = tx->send_many(addr_b, 9000, seq, kBurst);
    if (!sent) return sent.error();
    seq += kBurst;
    auto after = wait_for_verdicts(*g, judged + *sent);
    if (!after) return after.error();
    std::size_t got = rx->receive(*sent, 300ms);
    std::printf("   %s: sent %zu UDP packets %s -> %s:9000, received %zu; guard: pass %llu, drop %llu\n", title,
                *sent, addr_a.c_str(), addr_b.c_str(), got,
                static_cast<unsigned long long>((*after)[GUARD_R_PASS_NO_MATCH].packets),
                static_cast<unsigned long long>((*after)[GUARD_R_DROP_RULE].packets));
    return got;
  };

  std::printf("\n2. traffic flows\n");
  auto r1 = round("before");
  if (!r1) return fail(r1.error());

  std::printf("\n3. block the sender's prefix\n");
  if (auto s = self({"--pin-root", ctx.opts.pin_root, "block", "10.203.0.0/30", "--iface", pin_key(if_b, ns_b), "--ttl", "10m"}); !s)
    return fail(s.error());
  auto r2 = round("blocked");
  if (!r2) return fail(r2.error());
  if (auto s = self({"--pin-root", ctx.opts.pin_root, "rules", "--iface", pin_key(if_b, ns_b)}); !s) return fail(s.error());

  std::printf("\n4. lift the block\n");
  if (auto s = self({"--pin-root", ctx.opts.pin_root, "unblock", "10.203.0.0/30", "--iface", pin_key(if_b, ns_b)}); !s)
    return fail(s.error());
  auto r3 = round("unblocked");
  if (!r3) return fail(r3.error());

  std::printf("\n5. status, then clean up (unload, delete namespaces)\n");
  if (auto s = self({"--pin-root", ctx.opts.pin_root, "status", "--iface", pin_key(if_b, ns_b)}); !s) return fail(s.error());
  bool good = *r1 == kBurst && *r2 == 0 && *r3 == kBurst;
  std::printf("\n%s\n", good ? "demo OK: traffic passed, was dropped while blocked, and passed again"
                             : "demo FAILED: the guard did not behave as expected");
  return good ? 0 : 1;
}

}  // namespace reflex::guard::cli
