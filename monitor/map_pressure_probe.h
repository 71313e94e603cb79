#pragma once
// Fill of every map reflex owns that can fill up: entries in use against
// max_entries, and how fast that grows. Hash maps are counted exactly and
// cheaply by a bpf_map iterator (bpf/map_count.bpf.c: one read(2) for all
// maps, whatever their size); maps whose fill the owner knows (rules in
// force against the rule cap) come with it. Runs after the other probes,
// which list their maps in TickContext::maps.

#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "monitor/probe.h"

struct map_count;
struct bpf_link;

namespace reflex::monitor {

class MapCounter {
 public:
  static Result<std::unique_ptr<MapCounter>> open();
  ~MapCounter();
  // Entries in use by map id, for every map in the system.
  Result<std::unordered_map<std::uint32_t, std::int64_t>> counts();

 private:
  MapCounter() = default;
  map_count* skel_ = nullptr;
  bpf_link* link_ = nullptr;
  std::vector<std::uint8_t> buf_;
};

class MapPressureProbe : public Probe {
 public:
  std::string name() const override { return "map_pressure"; }
  Status open(boost::asio::io_context& io) override;
  Status sample(TickContext& ctx, Observation& obs) override;
  void close() override;

 private:
  std::unique_ptr<MapCounter> counter_;
  struct Prev {
    std::uint64_t entries = 0;
    TimeNs at = 0;
  };
  std::map<std::string, Prev> prev_;
};

}  // namespace reflex::monitor
