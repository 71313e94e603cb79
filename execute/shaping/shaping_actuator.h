#pragma once
// The real actuator for TC shaping: the htb tree and its egress classifier
// (shaper.h), one Shaper per interface, opened on first use inside the
// interface's namespace. It owns only the shapes facet; the guard actuator
// owns the rest.

#include "execute/actuator.h"
#include "execute/shaping/shaper.h"
#include "monitor/monitor_config.h"

#include <map>
#include <optional>
#include <string>

namespace reflex::execute::shaping {

class ShapingActuator final : public Actuator {
 public:
  explicit ShapingActuator(ShaperOptions opts = {}) : opts_(std::move(opts)) {}

  // The interface by its key ("veth1@ns2"), and where it lives.
  void add_interface(const monitor::InterfaceRef& iface) { refs_[iface.key] = iface; }

  std::string_view name() const override { return "shaping"; }
  unsigned facets() const override { return facet_bit(Facet::shapes); }
  Result<ActualInterface> read(const std::string& iface, TimeNs now) override;
  Result<ConvergeReport> converge(const std::string& iface, Facet f, const DesiredInterface& want,
                                  const DesiredInterface& before, TimeNs now) override;
  void forget(const std::string& iface) override { shapers_.erase(iface); }

 private:
  Result<Shaper*> shaper(const std::string& iface);

  ShaperOptions opts_;
  std::map<std::string, monitor::InterfaceRef> refs_;
  std::map<std::string, Shaper> shapers_;
};

}  // namespace reflex::execute::shaping
