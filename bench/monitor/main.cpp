// monitor_bench: the Monitor's benchmarks (issue 3), with their targets:
//   ringbuf  ring-buffer events consumed per second by the asio consumer, a
//            BPF producer on the other CPU: >= 10 M 16-byte events/s, none
//            lost below that rate
//   dump     a 1M-entry hash map read with batch lookups: < 150 ms
//   tick     one Monitor tick over 4 interfaces with 100k rules each: CPU
//            per tick, and the loop's share of a CPU at a 1 s tick: < 1%
//   retrans  the TCP retransmit probe: BPF run time per event beside tcp_rtt's
//            on the same tracepoint, and its share of a Monitor tick
//   stats    what BPF run-time stats cost per packet (guard and a bare
//            XDP_DROP, off vs on) and how long switching them blocks
// `--quick` runs small sizes (the test suite runs it so the code stays alive).

#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench/monitor/map_dump_bench.h"
#include "bench/monitor/retrans_bench.h"
#include "bench/monitor/run_time_stats_bench.h"
#include "bench/monitor/ringbuf_bench.h"
#include "bench/monitor/tick_bench.h"
#include "common/log.h"

int main(int argc, char** argv) {
  using namespace reflex::bench;
  CLI::App app{"monitor_bench: the Monitor's benchmarks"};
  bool quick = false;
  std::vector<std::string> which;
  app.add_flag("--quick", quick, "small sizes, a few seconds in all");
  app.add_option("which", which, "ringbuf, dump, tick, retrans, stats (default: all)");
  TickBenchOptions tick;
  app.add_option("--ifaces", tick.ifaces, "tick: interfaces")->capture_default_str();
  app.add_option("--rules", tick.rules, "tick: rules per interface")->capture_default_str();
  app.add_option("--talkers", tick.talkers, "tick: distinct sources per interface")->capture_default_str();
  app.add_option("--pps", tick.pps_per_iface, "tick: UDP packets/s into each interface meanwhile (0: idle)")
      ->capture_default_str();
  app.add_option("--sample-every", tick.sample_every,
                 "tick: the guards sample 1 drop in N as events (0: none)")
      ->capture_default_str();
  app.add_option("--ticks", tick.ticks, "tick: ticks measured back to back")->capture_default_str();
  app.add_option("--share-seconds", tick.share_seconds, "tick: seconds on the timer for the CPU share")
      ->capture_default_str();
  RetransBenchOptions retrans;
  app.add_option("--retrans-seconds", retrans.seconds, "retrans: seconds per measurement window")
      ->capture_default_str();
  app.add_option("--retrans-rounds", retrans.rounds, "retrans: windows per scenario (best kept)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  reflex::init_logging("warn");
  auto want = [&](const std::string& w) {
    return which.empty() || std::find(which.begin(), which.end(), w) != which.end();
  };
  int rc = 0;
  if (want("ringbuf")) {
    RingbufBenchOptions o;
    if (quick) {
      o.seconds = 0.3;
      o.paced_mps = {1};
      o.ring_mb = 8;
    }
    if (auto r = run_ringbuf_bench(o, stdout); !r) {
      std::fprintf(stderr, "ringbuf: %s\n", r.error().message().c_str());
      rc = 1;
    }
  }
  if (want("dump")) {
    MapDumpBenchOptions o;
    if (quick) {
      o.entries = 20000;
      o.rounds = 2;
      o.batches = {1024};
    }
    if (auto r = run_map_dump_bench(o, stdout); !r) {
      std::fprintf(stderr, "dump: %s\n", r.error().message().c_str());
      rc = 1;
    }
  }
  if (want("tick")) {
    TickBenchOptions o = tick;
    if (quick) {
      o.ifaces = 2;
      o.rules = 1000;
      o.talkers = 100;
      o.ticks = 3;
      o.gap_ms = 20;
      o.share_seconds = 0.3;
      o.interval_ms = 100;
      o.pps_per_iface = 1000;
    }
    if (auto r = run_tick_bench(o, stdout); !r) {
      std::fprintf(stderr, "tick: %s\n", r.error().message().c_str());
      rc = 1;
    }
  }
  if (want("retrans")) {
    RetransBenchOptions o = retrans;
    if (quick) {
      o.seconds = 0.3;
      o.rounds = 1;
      o.ticks = 3;
      o.gap_ms = 20;
    }
    if (auto r = run_retrans_bench(o, stdout); !r) {
      std::fprintf(stderr, "retrans: %s\n", r.error().message().c_str());
      rc = 1;
    }
  }
  if (want("stats")) {
    RunTimeStatsBenchOptions o;
    if (quick) {
      o.rounds = 1;
      o.repeat = 10000;
      o.switches = 1;
    }
    if (auto r = run_run_time_stats_bench(o, stdout); !r) {
      std::fprintf(stderr, "stats: %s\n", r.error().message().c_str());
      rc = 1;
    }
  }
  return rc;
}
