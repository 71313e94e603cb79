#pragma once
// FleetMember: reflexd's part in the fleet (a `fleet:` section in its
// config). It owns the NATS link and the FleetNode, hooks the node into the
// loop (peer verdicts in as symptoms, plans and outcomes out as verdicts),
// and reports the link in /v1/status and /metrics. Everything runs on the
// loop's thread: the link posts what it receives to the loop's executor,
// and never makes the loop wait (a lost server is a degraded state,
// reconnected in the background). Without a `fleet:` section reflexd makes
// none and stays as autonomous as before.

#include "common/result.h"
#include "daemon/loop.h"
#include "fleet/fleet_config.h"
#include "fleet/fleet_node.h"
#include "fleet/nats_link.h"
#include "plan/policy_store.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <memory>

namespace reflex::daemon {

class FleetMember {
 public:
  // Checks the credentials and starts connecting; returns at once. Errors
  // are configuration errors (a loose secret file, no server), with the fix.
  static Result<std::unique_ptr<FleetMember>> start(const fleet::FleetConfig& cfg, boost::asio::any_io_executor loop_ex,
                                                    Loop& loop, const Clock& clock, const plan::PolicyStore& policies,
                                                    Recorder& recorder);
  ~FleetMember();
  FleetMember(const FleetMember&) = delete;
  FleetMember& operator=(const FleetMember&) = delete;

  const fleet::FleetNode& node() const { return *node_; }
  const fleet::VerdictTransport* link() const { return link_.get(); }
  boost::json::value status() const;  // the `fleet` section of /v1/status
  // Unhooks the node from the loop and closes the link (flushing briefly).
  void stop();

 private:
  FleetMember(std::string id, Loop& loop, const Clock& clock, const plan::PolicyStore& policies, Recorder& recorder);
  void on_message(const fleet::Inbound& m);
  void on_state(const fleet::LinkStatus& s);

  std::string id_;
  Loop& loop_;
  const Clock& clock_;
  const plan::PolicyStore& policies_;
  Recorder& recorder_;
  std::unique_ptr<fleet::NatsLink> link_;
  std::unique_ptr<fleet::FleetNode> node_;  // made once the link exists
  fleet::LinkState last_state_ = fleet::LinkState::disabled;
};

}  // namespace reflex::daemon
