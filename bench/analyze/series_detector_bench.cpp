// CPU per point of the full fused detector, one series at a time and many
// series interleaved (as the Analyzer runs them: one detector per series),
// beside an anchor measured in the same run (one EW mean/variance update, the
// cheapest baseline a detector can keep), and one Analyzer tick.

#include "analyze/analyzer.h"
#include "analyze/ewm.h"
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

// Anchor: one exponentially weighted mean and variance per point.
void BM_EwmAnchorPerPoint(benchmark::State& state) {
  const auto values = synthetic(1 << 16, 1);
  reflex::analyze::Ewm e(0.001);
  std::size_t i = 0;
  for (auto _ : state) {
    e.update(values[i]);
    benchmark::DoNotOptimize(e.mean());
    if (++i == values.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EwmAnchorPerPoint);

// One Analyzer tick: two interfaces with RTT and retransmits, 16 talkers
// each, two maps (the loop's per-tick cost of Analyze).
void BM_AnalyzerTick(benchmark::State& state) {
  using namespace reflex;
  analyze::Analyzer a;
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> u(0.8, 1.2);
  Observation o;
  std::uint64_t pass = 0, segs = 0;
  TimeNs ts = 0;
  for (auto _ : state) {
    o.ts_ns = ts += 100 * kNsPerMs;
    pass += 2000;
    segs += 1000;
    o.talkers.clear();
    for (const char* name : {"eth0", "eth1"}) {
      InterfaceObservation& io = o.interfaces[name];
      io.xdp.pass = pass;
      io.rx_packets = pass;
      io.drops["SKB_DROP_REASON_NOMEM"] = pass / 1000;
      const double p99 = 1000 * u(rng);
      io.rtt = RttSummary{p99 / 2, p99 * 0.8, p99, 100, {}};
      io.retrans = RetransSummary{segs / 500, 20 * u(rng), 10000};
      for (int k = 0; k < 16; ++k) {
        TalkerObservation t;
        t.iface = name;
        t.source = Prefix::v4(0x0a000001u + static_cast<std::uint32_t>(k), 32);
        t.pps = 100 * (k + 1) * u(rng);
        o.talkers.push_back(t);
      }
    }
    o.maps["rules_v4"] = MapObservation{500, 1000, 0};
    o.maps["talkers"] = MapObservation{700, 1000, 0};
    benchmark::DoNotOptimize(a.analyze(o));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AnalyzerTick);

}  // namespace

BENCHMARK_MAIN();
