#include "bench/monitor/ringbuf_bench.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>

#include "bench/monitor/bench_util.h"
#include "bpf/ringbuf_bench_kern_user.h"
#include "guard/test_run.h"
#include "monitor/ring_reader.h"
#include "ringbuf_bench.skel.h"

namespace reflex::bench {
namespace {

struct SkelDeleter {
  void operator()(ringbuf_bench* s) const { ringbuf_bench__destroy(s); }
};
using Skel = std::unique_ptr<ringbuf_bench, SkelDeleter>;

Result<Skel> load_producer(const RingbufBenchOptions& o, bool wake_per_batch) {
  Skel skel(ringbuf_bench__open());
  if (!skel) return errno_error("open ringbuf_bench", errno);
  skel->rodata->batch = o.batch;
  skel->rodata->wake_per_batch = wake_per_batch ? 1 : 0;
  bpf_map__set_max_entries(skel->maps.rb, o.ring_mb << 20);
  if (int err = ringbuf_bench__load(skel.get()); err) return errno_error("load ringbuf_bench", err);
  return skel;
}

// What the consumer saw: records in order, and how many sequence numbers it missed.
struct SeqCheck {
  std::uint64_t next = 0, gaps = 0, consumed = 0;
  void operator()(const void* d, std::size_t) {
    rb_bench_event e;
    std::memcpy(&e, d, sizeof(e));
    if (e.seq != next) gaps += e.seq - next;
    next = e.seq + 1;
    ++consumed;
  }
};

Result<RingbufRow> run_one(const RingbufBenchOptions& o, double target_mps, bool wake_per_batch) {
  auto loaded = load_producer(o, wake_per_batch);
  if (!loaded) return loaded.error();
  Skel& skel = *loaded;
  const int prog = bpf_program__fd(skel->progs.ringbuf_bench_produce);

  // The consumer: this thread, running the loop, as the Monitor does.
  if (!pin_to_cpu(o.consumer_cpu))
    return make_error("cannot pin the consumer to CPU " + std::to_string(o.consumer_cpu));
  boost::asio::io_context io;
  SeqCheck seen;
  auto reader = monitor::RingReader::open(io, bpf_map__fd(skel->maps.rb), std::ref(seen));
  if (!reader) return reader.error();
  (*reader)->start();

  std::atomic<bool> producing{true};
  double produce_s = 0;
  std::string producer_error;
  std::uint8_t pkt[64] = {};
  const auto t0 = std::chrono::steady_clock::now();
  std::thread producer([&] {
    if (!pin_to_cpu(o.producer_cpu)) {
      producer_error = "cannot pin the producer to CPU " + std::to_string(o.producer_cpu);
      producing = false;
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::duration<double>(o.seconds);
    std::uint64_t emitted = 0;
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      if (now >= end) break;
      if (target_mps > 0) {
        // Paced: the next batch is due when the previous ones' share of the rate has passed.
        auto due = start + std::chrono::duration<double>(static_cast<double>(emitted) / (target_mps * 1e6));
        if (now < due) continue;  // the producer owns its CPU: spin
      }
      auto r = guard::test_run(prog, pkt, 1);
      if (!r) {
        producer_error = r.error().message();
        break;
      }
      emitted += o.batch;
    }
    produce_s = seconds_since(start);
    producing = false;
  });

  const auto cpu0 = thread_cpu_ns();
  // Run the loop until the producer is done and every event it managed to
  // put in the ring has been read.
  for (;;) {
    io.run_for(std::chrono::milliseconds(5));
    if (!producing.load() && seen.consumed >= skel->bss->produced) break;
    if (!producing.load() && seconds_since(t0) > o.seconds + 30) break;  // never: a bug if it happens
  }
  const double wall = seconds_since(t0);
  const double cpu = static_cast<double>(thread_cpu_ns() - cpu0) / 1e9;
  producer.join();
  if (!producer_error.empty()) return make_error("producer: " + producer_error);

  RingbufRow row;
  row.mode = target_mps > 0 ? "paced" : "flat out";
  row.wakeup = wake_per_batch ? "per batch" : "adaptive";
  row.target_mps = target_mps;
  row.produced = skel->bss->produced;
  row.lost = skel->bss->lost;
  row.consumed = seen.consumed;
  row.gaps = seen.gaps;
  row.produced_mps = static_cast<double>(row.produced + row.lost) / produce_s / 1e6;
  row.consumed_mps = static_cast<double>(seen.consumed) / wall / 1e6;
  row.consumer_cpu = cpu / wall;
  row.wakeups = (*reader)->wakeups();
  return row;
}

// The consumer alone: a full ring (produced before the reader starts) read
// through the loop, with no producer competing for the cache lines.
Result<RingbufRow> run_backlog(const RingbufBenchOptions& o) {
  auto loaded = load_producer(o, false);
  if (!loaded) return loaded.error();
  Skel& skel = *loaded;
  // 24 bytes a record (8 of header): fill nine tenths of the ring.
  const std::uint64_t want = (std::uint64_t{o.ring_mb} << 20) / 24 * 9 / 10;
  std::uint8_t pkt[64] = {};
  auto p0 = std::chrono::steady_clock::now();
  while (skel->bss->produced + o.batch <= want) {
    auto r = guard::test_run(bpf_program__fd(skel->progs.ringbuf_bench_produce), pkt, 1);
    if (!r) return r.error();
  }
  double produce_s = seconds_since(p0);
  if (!pin_to_cpu(o.consumer_cpu))
    return make_error("cannot pin the consumer to CPU " + std::to_string(o.consumer_cpu));
  boost::asio::io_context io;
  SeqCheck seen;
  auto reader = monitor::RingReader::open(io, bpf_map__fd(skel->maps.rb), std::ref(seen));
  if (!reader) return reader.error();
  const std::uint64_t produced = skel->bss->produced;
  auto t0 = std::chrono::steady_clock::now();
  auto c0 = thread_cpu_ns();
  (*reader)->start();
  while (seen.consumed < produced && seconds_since(t0) < 30) io.run_one();
  double wall = seconds_since(t0);
  RingbufRow row;
  row.mode = "backlog";
  row.wakeup = "-";
  row.produced = produced;
  row.lost = skel->bss->lost;
  row.consumed = seen.consumed;
  row.gaps = seen.gaps;
  row.produced_mps = static_cast<double>(produced) / produce_s / 1e6;
  row.consumed_mps = static_cast<double>(seen.consumed) / wall / 1e6;
  row.consumer_cpu = static_cast<double>(thread_cpu_ns() - c0) / 1e9 / wall;
  row.wakeups = (*reader)->wakeups();
  return row;
}

}  // namespace

Result<std::vector<RingbufRow>> run_ringbuf_bench(const RingbufBenchOptions& opts, std::FILE* out) {
  RingbufBenchOptions o = opts;
  // On a one-CPU machine both ends share it (the figures then mean little, but the code still runs).
  const int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  o.consumer_cpu = std::min(o.consumer_cpu, ncpu - 1);
  o.producer_cpu = std::min(o.producer_cpu, ncpu - 1);
  std::vector<RingbufRow> rows;
  std::fprintf(out,
               "ring buffer: 16-byte events, producer BPF_PROG_TEST_RUN on CPU %d (%u per run), "
               "asio consumer on CPU %d, %u MiB ring, %.1f s per run\n",
               o.producer_cpu, o.batch, o.consumer_cpu, o.ring_mb, o.seconds);
  std::fprintf(out, "  %-9s %-10s %9s %12s %12s %12s %10s %8s %9s %9s\n", "mode", "wakeup", "target",
               "offered M/s", "consumed M/s", "consumed", "lost", "gaps", "cons CPU", "wakeups");
  struct Run {
    double target;  // 0: flat out; < 0: backlog
    bool per_batch;
  };
  std::vector<Run> runs;
  if (o.flat_out) runs.push_back({0, false});
  if (o.flat_out) runs.push_back({0, true});
  for (double t : o.paced_mps) runs.push_back({t, false});
  for (double t : o.paced_mps) runs.push_back({t, true});
  runs.push_back({-1, false});
  for (const auto& run : runs) {
    auto r = run.target < 0 ? run_backlog(o) : run_one(o, run.target, run.per_batch);
    if (!r) return r.error();
    std::fprintf(out, "  %-9s %-10s %9s %12.2f %12.2f %12llu %10llu %8llu %8.0f%% %9llu\n", r->mode.c_str(),
                 r->wakeup.c_str(),
                 run.target > 0 ? (std::to_string(static_cast<int>(run.target)) + " M/s").c_str() : "-",
                 r->produced_mps, r->consumed_mps, static_cast<unsigned long long>(r->consumed),
                 static_cast<unsigned long long>(r->lost), static_cast<unsigned long long>(r->gaps),
                 r->consumer_cpu * 100, static_cast<unsigned long long>(r->wakeups));
    std::fflush(out);
    rows.push_back(*r);
  }
  return rows;
}

}  // namespace reflex::bench
