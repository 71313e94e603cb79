#pragma once
// A simulated node's loop: the daemon's own daemon::Loop (the same Analyzer,
// Planner and Executor code) over the node's DatapathModel, behind an
// execute::Actuator, with a NullRecorder and a virtual clock. The node's
// FleetNode takes part through the Loop's hooks as it does in reflexd:
// peer_verdict symptoms into Plan, plans and outcomes back out.

#include "analyze/analyzer_config.h"
#include "execute/actuator.h"
#include "plan/policy.h"
#include "sim/fleet/node_loop.h"

#include <memory>
#include <string>

namespace reflex::sim::fleet {

// The guard's semantics over a DatapathModel: rules are swapped in whole;
// what is read back is what has not expired. Attach mode, program and shapes
// are kept as given (the model has one mode and no shaping).
class ModelActuator final : public execute::Actuator {
 public:
  explicit ModelActuator(DatapathModel& dp) : dp_(dp) {}
  std::string_view name() const override { return "model"; }
  unsigned facets() const override { return 0xf; }
  Result<execute::ActualInterface> read(const std::string& iface, TimeNs now) override;
  Result<execute::ConvergeReport> converge(const std::string& iface, execute::Facet f, const DesiredInterface& want,
                                           const DesiredInterface& before, TimeNs now) override;

 private:
  DatapathModel& dp_;
  AttachMode mode_ = AttachMode::native;
  std::string program_ = "default";
  std::vector<DesiredShape> shapes_;
};

struct RealLoopOptions {
  std::string iface;
  TimeNs tick_ns = kNsPerSec;
  std::shared_ptr<const plan::PolicySet> policies;
  analyze::AnalyzerConfig analyzer;
  unsigned reconcile_every = 10;
};

NodeLoopFactory real_loop_factory(RealLoopOptions opts);

}  // namespace reflex::sim::fleet
