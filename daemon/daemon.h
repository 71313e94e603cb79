#pragma once
// Daemon: the objects `reflexd run` is made of, and the order they start and
// stop in. One io_context, run by one thread: the Monitor's timer drives the
// loop (Monitor -> Analyze -> Plan -> Execute over Knowledge), the REST API
// and the policy watcher share it, and nothing on it blocks for long.
//
// Start: config -> policies (an invalid set at start is an error: there is no
// last good one) -> token -> Knowledge (a damaged file is moved aside and
// recorded) -> the guard on every interface (adopting what is pinned) ->
// Execute resumes the desired state Knowledge held -> the fleet link (with a
// `fleet:` section) -> the API -> the Monitor.
// Stop (SIGTERM/SIGINT): the API drains, the loop commits what it holds,
// the store closes; the datapath stays pinned and keeps protecting, by
// design, and the next start adopts it.

#include "api/auth.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/server.h"
#include "daemon/config.h"
#include "daemon/fleet_member.h"
#include "daemon/loop.h"
#include "execute/guard_actuator.h"
#include "knowledge/store/sqlite_store.h"
#include "monitor/monitor.h"
#include "plan/policy_store.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace reflex::daemon {

class Daemon {
 public:
  explicit Daemon(DaemonConfig cfg);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Brings everything up in order; the first failure is returned with its fix
  // and leaves the datapath as it was. Nothing is served before run().
  Status start();
  // Runs the io_context until stop() has drained; returns the exit code.
  int run();
  // Graceful; a second call (a second signal) ends at once.
  void stop(const std::string& why);

  boost::asio::io_context& io() { return io_; }
  plan::PolicyStore& policies() { return policies_; }
  api::Router& router() { return router_; }
  api::MetricsRegistry& metrics() { return metrics_; }
  Loop* loop() { return loop_.get(); }
  const DaemonConfig& config() const { return cfg_; }
  std::optional<boost::asio::ip::tcp::endpoint> listening() const;
  std::string describe_listeners() const;

  // Extension points (the fleet link, later stages).
  void add_status_section(std::string name, std::function<boost::json::value()> section);
  void on_stop(std::function<void()> hook) { stop_hooks_.push_back(std::move(hook)); }
  void on_tick(std::function<void(const Loop&)> hook) { tick_hooks_.push_back(std::move(hook)); }

 private:
  Status start_policies();
  Status start_store();
  Status start_datapath();
  void resume();
  Status start_fleet();
  Status start_api();
  Status start_monitor();
  void on_observation(const Observation& obs);
  void retry_guards();
  void record(RecordKind kind, std::string subject, std::string summary, boost::json::value body = {});
  void arm_sighup();
  void arm_stop_signals();
  boost::json::object status_json() const;
  void add_daemon_metrics();

  DaemonConfig cfg_;
  boost::asio::io_context io_;  // first: destroyed after everything that holds its I/O objects
  api::MetricsRegistry metrics_;
  api::Router router_;
  plan::PolicyStore policies_;
  std::unique_ptr<store::SqliteStore> store_;
  NullRecorder null_recorder_;
  Recorder* recorder_ = &null_recorder_;
  std::shared_ptr<const api::TokenAuth> auth_;
  std::vector<monitor::InterfaceRef> refs_;
  execute::GuardActuator* guards_ = nullptr;  // owned by the executor
  std::vector<bool> guarded_;                // per refs_: the guard is up
  std::vector<std::string> guard_errors_;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<FleetMember> fleet_;  // after loop_: unhooks itself from it when destroyed
  std::unique_ptr<monitor::Monitor> monitor_;
  api::Server::Ptr server_;
  boost::asio::signal_set hup_;
  boost::asio::signal_set stop_signals_;
  std::vector<std::pair<std::string, std::function<boost::json::value()>>> status_sections_;
  std::vector<std::function<void()>> stop_hooks_;
  std::vector<std::function<void(const Loop&)>> tick_hooks_;
  std::chrono::steady_clock::time_point started_;
  TimeNs started_wall_ns_ = 0;
  bool stopping_ = false;
};

}  // namespace reflex::daemon
