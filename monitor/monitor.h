#pragma once
// The Monitor stage: probes sampled on one asio loop into Observations.
//
// Everything runs on the io_context the Monitor is given, on whatever single
// thread runs it: ring buffers wake it through their epoll fds, counters are
// read on a steady_timer tick (default 1 s, at least 50 ms), and each tick's
// Observation goes to the sink. A probe that fails is reported as degraded,
// closed and reopened with exponential backoff; the loop never stops for it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "common/result.h"
#include "knowledge/observation.h"
#include "knowledge/time.h"
#include "monitor/monitor_config.h"
#include "monitor/probe.h"
#include "monitor/run_time_stats.h"

namespace reflex::monitor {

class Monitor {
 public:
  using Sink = std::function<void(const Observation&)>;

  // The real probes for config: per namespace interface counters, per
  // interface guard, then kernel drop reasons, TCP RTT, TCP retransmits and
  // map pressure.
  static Result<std::unique_ptr<Monitor>> create(boost::asio::io_context& io, const MonitorConfig& config,
                                                 Sink sink, const Clock* clock = nullptr);

  // Any probes, sampled in the given order (sim/, unit tests). clock
  // defaults to CLOCK_MONOTONIC.
  Monitor(boost::asio::io_context& io, MonitorConfig config, std::vector<ProbePtr> probes, Sink sink,
          const Clock* clock = nullptr);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Opens the probes and ticks at once, then every interval, on the loop.
  void start();
  // Cancels the timer and closes the probes. The sink is not called again.
  void stop();

  // One tick now, on the caller's thread (which must be the loop's, or the
  // loop must not be running): tests and benchmarks drive ticks with it.
  // The sink is called as for a timed tick.
  Observation tick();

  // Blocks until BPF run-time stats have finished switching (they switch on
  // their own thread, see run_time_stats.h): tests and benchmarks that drive
  // ticks use it so the next tick sees the window open.
  void settle_run_time_stats();
  // Test seam: the switch the run-time window uses (default: the kernel's).
  void use_run_time_stats(std::unique_ptr<RunTimeStats> stats) { stats_ = std::move(stats); }

  std::uint64_t ticks() const { return seq_; }
  const MonitorConfig& config() const { return config_; }

  // Where a tick's time goes, per probe (open and sample), since start.
  struct ProbeTime {
    std::string probe;
    std::uint64_t samples = 0;
    TimeNs wall_ns = 0;
  };
  std::vector<ProbeTime> probe_times() const;

 private:
  struct Slot {
    ProbePtr probe;
    bool open = false;
    int failures = 0;
    TimeNs retry_at = 0;
    std::string reason;
    std::uint64_t samples = 0;
    TimeNs wall_ns = 0;
  };
  void schedule();
  TimeNs backoff_ns(int failures) const;
  void update_run_time_window(TickContext& ctx);

  boost::asio::io_context& io_;
  MonitorConfig config_;
  std::vector<Slot> slots_;
  Sink sink_;
  const Clock* clock_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point next_;
  bool running_ = false;
  std::uint64_t seq_ = 0;
  TimeNs last_ns_ = 0;
  // The run-time window: asked for at a tick in run_time_every, opened
  // (begin) at the first tick that finds the stats on, closed (end) at the next.
  enum class Window { idle, opening, open };
  Window window_ = Window::idle;
  std::unique_ptr<RunTimeStats> stats_;  // made on the first window
};

// CLOCK_MONOTONIC.
class SteadyClock : public Clock {
 public:
  TimeNs now_ns() const override;
  static const SteadyClock& instance();
};

}  // namespace reflex::monitor
