#pragma once
// Observation roll-ups: what a minute (or an hour) of ticks looked like, per
// interface, small enough to keep for weeks. Built from the observations'
// JSON (knowledge/json/observation_json.h) as stored, so a roll-up can be
// computed after a restart from the raw rows on disk; hours merge minutes.
//
// Body (JSON):
//   {"resolution_s":60,"start_wall_ns":N,"ticks":N,
//    "interfaces":{IF:{"ticks","present_ticks","up_ticks","mode",
//        "rates":{"rx_pps":{"avg","min","max"},"rx_bps",...,"drop_pps",...},
//        "counters":{"rx_packets":{"first","last"},...,"xdp.drop",...,"drops.REASON"},
//        "rtt_us":{"p50","p90","p99","samples","p99_max","log2_buckets":[32]}}},
//    "maps":{NAME:{"entries_max","fill_max"}},
//    "degraded":{PROBE:ticks}}
// Counters keep the first and last cumulative value seen: last - first is
// what the interval added. RTT percentiles come from the merged histograms.

#include <array>
#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "common/result.h"
#include "knowledge/time.h"

namespace reflex::store {

struct Stat {
  std::uint64_t n = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  void add(double x);
  void merge(const Stat& o);
  double avg() const { return n ? sum / static_cast<double>(n) : 0; }
};

struct CounterSpan {
  std::uint64_t first = 0, last = 0;
  bool seen = false;
  void add(std::uint64_t v);
  void merge_later(const CounterSpan& later);
};

struct IfaceRollup {
  std::uint64_t ticks = 0, present_ticks = 0, up_ticks = 0;
  std::string mode;  // at the last tick
  std::map<std::string, Stat> rates;
  std::map<std::string, CounterSpan> counters;
  std::array<std::uint64_t, 32> rtt_buckets{};
  std::uint64_t rtt_samples = 0;
  Stat rtt_p99;  // the per-tick p99s: their max is the worst tick
};

struct Rollup {
  std::int64_t resolution_s = 60;
  TimeNs start_wall_ns = 0;
  std::uint64_t ticks = 0;
  std::map<std::string, IfaceRollup> ifaces;
  std::map<std::string, Stat> map_fill, map_entries;
  std::map<std::string, std::uint64_t> degraded;  // probe -> ticks it was degraded

  // One observation, as observation_json writes it.
  void add_observation(const boost::json::value& obs);
  // A later roll-up of the same (or a finer) resolution.
  void merge_later(const Rollup& later);

  boost::json::value to_json() const;
  static Result<Rollup> from_json(const boost::json::value& v);
};

// The start of the bucket holding wall_ns, for a resolution in seconds.
TimeNs bucket_start(TimeNs wall_ns, std::int64_t resolution_s);

}  // namespace reflex::store
