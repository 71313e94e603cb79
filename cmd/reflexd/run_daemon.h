#pragma once
// Daemon: the objects `reflexd run` is made of, and the order they start and
// stop in. One io_context, run by one thread; everything else is
// asynchronous on it (DESIGN.md).
//
// Today it holds the policy store (inotify, SIGHUP, REST reload) and the REST
// API. Stages wired in later (Monitor's ring buffers, Analyze, the Planner,
// Execute) become members started in start() and stopped through on_stop(),
// add their routes to router(), their metrics to metrics(), and a section to
// GET /v1/status with add_status_section(); nothing here needs rewriting.

#include "api/metrics.h"
#include "api/router.h"
#include "api/server.h"
#include "common/result.h"
#include "plan/policy_store.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace reflex::cmd {

struct RunOptions {
  std::string policies = "/etc/reflex/policies";
  std::string listen = "127.0.0.1:9470";
  bool watch = true;                       // follow the folder with inotify
  std::chrono::milliseconds drain{5'000};  // graceful stop: time for in-flight requests
  std::chrono::milliseconds quiet{200};    // inotify: a burst of edits becomes one reload
};

class Daemon {
 public:
  explicit Daemon(RunOptions opts);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the policies (an invalid or missing set at start is an error: there
  // is no last good set to keep), binds the API, starts watching and handling
  // signals. Nothing is served before run().
  Status start();
  // Runs the loop until stop() (SIGINT/SIGTERM) has drained; returns the exit code.
  int run();
  // Graceful: stop accepting and watching, finish in-flight requests, end the
  // loop. A second call (a second signal) ends the loop at once.
  void stop(const std::string& why);

  boost::asio::io_context& io() { return io_; }
  plan::PolicyStore& policies() { return store_; }
  api::Router& router() { return router_; }
  api::MetricsRegistry& metrics() { return metrics_; }
  boost::asio::ip::tcp::endpoint listening() const;

  // Extension points for the stages to come.
  void add_status_section(std::string name, std::function<boost::json::value()> section);
  void on_stop(std::function<void()> hook) { stop_hooks_.push_back(std::move(hook)); }

 private:
  void arm_sighup();
  void arm_stop_signals();
  boost::json::object status_json() const;
  void add_daemon_metrics();

  RunOptions opts_;
  boost::asio::io_context io_;  // first: destroyed after everything that holds its I/O objects
  api::MetricsRegistry metrics_;
  api::Router router_;
  plan::PolicyStore store_;
  api::Server::Ptr server_;
  boost::asio::signal_set hup_;
  boost::asio::signal_set stop_signals_;
  std::vector<std::pair<std::string, std::function<boost::json::value()>>> status_sections_;
  std::vector<std::function<void()>> stop_hooks_;
  std::chrono::steady_clock::time_point started_;
  TimeNs started_wall_ns_ = 0;
  bool stopping_ = false;
};

}  // namespace reflex::cmd
