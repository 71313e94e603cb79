#pragma once
// Ring-buffer events consumed per second by the Monitor's asio consumer
// (monitor::RingReader), with a BPF producer on the other CPU: the XDP
// program in bpf/ringbuf_bench.bpf.c, run with BPF_PROG_TEST_RUN on a thread
// pinned there, emits `batch` 16-byte events per run. Flat out, it shows the
// most the pair sustains; paced at a target rate, that nothing is lost below
// it; and a backlog run (a full ring read with no producer running) shows
// the consumer's own ceiling.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/result.h"

namespace reflex::bench {

struct RingbufBenchOptions {
  double seconds = 3;                           // producing, per run
  std::vector<double> paced_mps = {5, 10, 12};  // target rates, million events/s
  bool flat_out = true;
  std::uint32_t batch = 4096;  // events per BPF_PROG_TEST_RUN
  std::uint32_t ring_mb = 64;  // ring buffer size
  int consumer_cpu = 0, producer_cpu = 1;
};

struct RingbufRow {
  std::string mode;         // "flat out", "paced", or "backlog" (a full ring read by the consumer alone)
  std::string wakeup;       // "adaptive" (per record, the kernel default) or "per batch"
  double target_mps = 0;    // 0 when flat out
  double produced_mps = 0;  // events the producer offered per second
  double consumed_mps = 0;  // events the consumer read per second, until it had read them all
  std::uint64_t produced = 0, consumed = 0, lost = 0, gaps = 0;
  double consumer_cpu = 0;  // share of one CPU the consumer thread used
  std::uint64_t wakeups = 0;
};

Result<std::vector<RingbufRow>> run_ringbuf_bench(const RingbufBenchOptions& o, std::FILE* out);

}  // namespace reflex::bench
