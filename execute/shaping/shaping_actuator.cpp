#include "execute/shaping/shaping_actuator.h"

#include <chrono>

namespace reflex::execute::shaping {

Result<Shaper*> ShapingActuator::shaper(const std::string& iface) {
  if (auto it = shapers_.find(iface); it != shapers_.end()) return &it->second;
  auto ref = refs_.find(iface);
  if (ref == refs_.end())
    return make_error("shaping: interface " + iface + " is not one reflex guards",
                      "add it to the daemon's interfaces (--iface " + iface + ")");
  auto s = Shaper::open(ref->second.name, ref->second.netns, opts_);
  if (!s) return s.error();
  return &shapers_.emplace(iface, std::move(*s)).first->second;
}

Result<ActualInterface> ShapingActuator::read(const std::string& iface, TimeNs) {
  auto s = shaper(iface);
  if (!s) return s.error();
  auto shapes = (*s)->read();
  if (!shapes) return shapes.error();
  ActualInterface a;
  a.shapes = as_desired(*shapes);
  return a;
}

Result<ConvergeReport> ShapingActuator::converge(const std::string& iface, Facet f, const DesiredInterface& want,
                                                 const DesiredInterface&, TimeNs) {
  if (f != Facet::shapes) return make_error("shaping: cannot converge the " + std::string(to_string(f)) + " facet");
  auto s = shaper(iface);
  if (!s) return s.error();
  const auto t0 = std::chrono::steady_clock::now();
  if (auto st = (*s)->converge(want.shapes); !st) return st.error();
  ConvergeReport r;
  r.changed = !(*s)->last_ops().empty();
  r.detail = std::to_string((*s)->last_ops().size()) + " tc change(s)";
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace reflex::execute::shaping
