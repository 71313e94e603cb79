#include "bench/monitor/map_dump_bench.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

#include "bench/monitor/bench_util.h"
#include "guard/bpf_util.h"
#include "monitor/map_dump.h"

namespace reflex::bench {
namespace {

struct Shape {
  const char* name;
  bpf_map_type type;
  std::uint32_t key_size, value_size;
};

// Fills with bpf_map_update_batch: a million single updates would take the setup seconds.
Status fill(int fd, const Shape& s, std::size_t n) {
  const int ncpu = s.type == BPF_MAP_TYPE_PERCPU_HASH ? guard::possible_cpus() : 1;
  const std::size_t vstride = (s.value_size + 7) / 8 * 8;
  constexpr std::size_t kChunk = 65536;
  std::vector<std::uint8_t> keys(kChunk * s.key_size), vals(kChunk * vstride * ncpu, 0x11);
  for (std::size_t first = 0; first < n; first += kChunk) {
    std::uint32_t m = static_cast<std::uint32_t>(std::min(kChunk, n - first));
    for (std::uint32_t i = 0; i < m; ++i) {
      std::uint64_t k = first + i;
      std::memset(&keys[i * s.key_size], 0, s.key_size);
      std::memcpy(&keys[i * s.key_size], &k, std::min<std::size_t>(8, s.key_size));
    }
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    std::uint32_t count = m;
    if (bpf_map_update_batch(fd, keys.data(), vals.data(), &count, &opts) < 0 || count != m)
      return errno_error("fill benchmark map", errno);
  }
  return ok();
}

}  // namespace

Result<std::vector<MapDumpRow>> run_map_dump_bench(const MapDumpBenchOptions& o, std::FILE* out) {
  std::vector<Shape> shapes{{"hash k8 v16", BPF_MAP_TYPE_HASH, 8, 16}};
  // The guard's talkers: a 20-byte address key, three u64 counters per CPU.
  if (o.percpu) shapes.push_back({"percpu k20 v24", BPF_MAP_TYPE_PERCPU_HASH, 20, 24});
  std::vector<MapDumpRow> rows;
  std::fprintf(out, "batch dump of a %zu-entry hash map (%d rounds; %d possible CPUs)\n", o.entries, o.rounds,
               guard::possible_cpus());
  std::fprintf(out, "  %-16s %8s %10s %10s %10s %12s\n", "map", "batch", "best ms", "median ms", "CPU ms",
               "entries/s");
  for (const auto& s : shapes) {
    auto fd = guard::create_map(s.type, "rfx_dump_bench", s.key_size, s.value_size,
                                static_cast<std::uint32_t>(o.entries), 0);
    if (!fd) return fd.error();
    if (auto st = fill(fd->get(), s, o.entries); !st) return st.error();
    for (std::uint32_t batch : o.batches) {
      monitor::MapDumper d(s.key_size, s.value_size, s.type == BPF_MAP_TYPE_PERCPU_HASH, batch);
      std::vector<double> ms, cpu_ms;
      std::uint64_t checksum = 0;
      for (int r = 0; r < o.rounds; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        auto c0 = thread_cpu_ns();
        auto n = d.dump(fd->get(), [&](const std::uint8_t* k, const std::uint8_t*) { checksum += k[0]; });
        ms.push_back(seconds_since(t0) * 1e3);
        cpu_ms.push_back(static_cast<double>(thread_cpu_ns() - c0) / 1e6);
        if (!n) return n.error();
        if (*n != o.entries)
          return make_error("dump saw " + std::to_string(*n) + " of " + std::to_string(o.entries) +
                            " entries");
      }
      MapDumpRow row{
          s.name, o.entries, batch, percentile(ms, 0), percentile(ms, 0.5), percentile(cpu_ms, 0.5)};
      std::fprintf(out, "  %-16s %8u %10.1f %10.1f %10.1f %12.0f\n", s.name, batch, row.best_ms,
                   row.median_ms, row.cpu_median_ms, static_cast<double>(o.entries) / (row.median_ms / 1e3));
      std::fflush(out);
      rows.push_back(row);
      (void)checksum;
    }
  }
  return rows;
}

}  // namespace reflex::bench
