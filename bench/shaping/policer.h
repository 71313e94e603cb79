#pragma once
// The candidate measured against htb: bpf/tc_shaper.bpf.c's token-bucket
// policer on tcx egress, its rate a map value. Only the benchmark loads it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/fd.h"
#include "common/prefix.h"
#include "common/result.h"
#include "sim/netns.h"

struct tc_shaper;

namespace reflex::bench::shaping {

class Policer {
 public:
  // Loads the policer and attaches it at tcx egress of iface in ns (not pinned: it goes with this object).
  static Result<std::unique_ptr<Policer>> attach(const sim::NetNs& ns, const std::string& iface);
  ~Policer();
  Policer(const Policer&) = delete;
  Policer& operator=(const Policer&) = delete;

  // The whole interface (no prefix) or one destination prefix, at rate_bps with burst_bytes.
  Status set(const std::optional<Prefix>& prefix, std::uint64_t rate_bps, std::uint64_t burst_bytes);
  std::uint64_t dropped() const;

 private:
  Policer() = default;
  tc_shaper* skel_ = nullptr;
  Fd link_;
};

}  // namespace reflex::bench::shaping
