#pragma once
// Kernel packet drops per interface and drop reason, from the skb:kfree_skb
// tracepoint (bpf/drop_reasons.bpf.c aggregates them in the kernel).

#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "monitor/counter.h"
#include "monitor/kernel_names.h"
#include "monitor/map_dump.h"
#include "monitor/map_full_watch.h"
#include "monitor/probe.h"

struct drop_reasons;

namespace reflex::monitor {

class DropReasonProbe : public Probe {
 public:
  DropReasonProbe();
  ~DropReasonProbe() override;

  std::string name() const override { return "drop_reasons"; }
  Status open(boost::asio::io_context& io) override;
  Status sample(TickContext& ctx, Observation& obs) override;
  void close() override;

 private:
  struct SkelDeleter {
    void operator()(drop_reasons* s) const;
  };
  std::unique_ptr<drop_reasons, SkelDeleter> skel_;
  std::optional<DropReasonNames> names_;
  std::uint32_t drops_id_ = 0;
  MapDumper dump_;
  // (interface key, reason) -> packets, monotonic across reopens.
  std::map<std::pair<std::string, std::uint32_t>, Counter> counters_;
  MapFullWatch map_full_;
};

}  // namespace reflex::monitor
