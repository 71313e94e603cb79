#pragma once
// Dumping a 1M-entry BPF hash map with batch lookups (monitor::MapDumper),
// at several batch sizes: the cost of reading a big map whole every tick.

#include <cstdint>
#include <cstdio>
#include <vector>

#include "common/result.h"

namespace reflex::bench {

struct MapDumpBenchOptions {
  std::size_t entries = 1'000'000;
  std::vector<std::uint32_t> batches = {1024, 8192, 65536};
  int rounds = 5;
  bool percpu = true;  // also a per-CPU hash shaped like the guard's talkers
};

struct MapDumpRow {
  const char* shape;
  std::size_t entries = 0;
  std::uint32_t batch = 0;
  double best_ms = 0, median_ms = 0;  // wall
  double cpu_median_ms = 0;           // the dumping thread's CPU (user + kernel)
};

Result<std::vector<MapDumpRow>> run_map_dump_bench(const MapDumpBenchOptions& o, std::FILE* out);

}  // namespace reflex::bench
