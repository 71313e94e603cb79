// CPU per point of the full fused detector, one series at a time and many
// series interleaved (as the Analyzer runs them: one detector per series).

#include "analyze/series_detector.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

std::vector<double> synthetic(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = 50.0 + 10.0 * std::sin(2.0 * M_PI * static_cast<double>(i) / 288.0) + noise(rng) +
           (i % 5000 == 4000 ? 30.0 : 0.0);
  return v;
}

void BM_SeriesDetectorPerPoint(benchmark::State& state) {
  const auto values = synthetic(1 << 16, 1);
  reflex::analyze::SeriesDetector d;
  std::size_t i = 0;
  double t = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.update(t, values[i]));
    t += 300.0;
    if (++i == values.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SeriesDetectorPerPoint);

void BM_ManySeriesInterleaved(benchmark::State& state) {
  const auto series = static_cast<std::size_t>(state.range(0));
  const auto values = synthetic(1 << 14, 2);
  std::vector<reflex::analyze::SeriesDetector> ds(series);
  std::size_t i = 0;
  double t = 0;
  for (auto _ : state) {
    for (std::size_t s = 0; s < series; ++s) benchmark::DoNotOptimize(ds[s].update(t, values[(i + s * 97) % values.size()]));
    t += 300.0;
    if (++i == values.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(series));
}
BENCHMARK(BM_ManySeriesInterleaved)->Arg(16)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
