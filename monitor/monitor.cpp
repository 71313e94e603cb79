#include "monitor/monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>

#include "monitor/drop_reason_probe.h"
#include "monitor/guard_probe.h"
#include "monitor/link_probe.h"
#include "monitor/map_pressure_probe.h"
#include "monitor/tcp_retrans_probe.h"
#include "monitor/tcp_rtt_probe.h"

namespace reflex::monitor {

TimeNs SteadyClock::now_ns() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<TimeNs>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

const SteadyClock& SteadyClock::instance() {
  static const SteadyClock c;
  return c;
}

Result<std::unique_ptr<Monitor>> Monitor::create(boost::asio::io_context& io, const MonitorConfig& config,
                                                 Sink sink, const Clock* clock) {
  if (auto s = validate(config); !s) return s.error();
  std::vector<ProbePtr> probes;
  // Interface counters first: they resolve names to (namespace, ifindex) for the rest.
  std::map<std::string, std::vector<InterfaceRef>> by_netns;
  for (const auto& i : config.interfaces) by_netns[i.netns].push_back(i);
  for (auto& [netns, refs] : by_netns) probes.push_back(std::make_unique<LinkProbe>(netns, refs));
  if (config.guard)
    for (const auto& i : config.interfaces) probes.push_back(std::make_unique<GuardProbe>(i, config));
  if (config.drop_reasons) probes.push_back(std::make_unique<DropReasonProbe>());
  if (config.tcp_rtt) probes.push_back(std::make_unique<TcpRttProbe>());
  if (config.tcp_retrans) probes.push_back(std::make_unique<TcpRetransProbe>());
  // Last: it reads the maps every other probe listed this tick.
  if (config.map_pressure) probes.push_back(std::make_unique<MapPressureProbe>());
  return std::make_unique<Monitor>(io, config, std::move(probes), std::move(sink), clock);
}

Monitor::Monitor(boost::asio::io_context& io, MonitorConfig config, std::vector<ProbePtr> probes, Sink sink,
                 const Clock* clock)
    : io_(io),
      config_(std::move(config)),
      sink_(std::move(sink)),
      clock_(clock ? clock : &SteadyClock::instance()),
      timer_(io) {
  for (auto& p : probes) slots_.push_back(Slot{std::move(p)});
}

Monitor::~Monitor() { stop(); }

void Monitor::start() {
  if (running_) return;
  running_ = true;
  next_ = std::chrono::steady_clock::now();
  // The first tick runs from the loop, like every other.
  timer_.expires_at(next_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    tick();
    schedule();
  });
}

void Monitor::schedule() {
  // Fixed cadence: the next tick is due one interval after the previous was
  // due, not after it finished; a late loop skips ahead rather than bursting.
  auto now = std::chrono::steady_clock::now();
  next_ += config_.interval;
  if (next_ <= now) next_ = now + config_.interval;
  timer_.expires_at(next_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    tick();
    schedule();
  });
}

void Monitor::stop() {
  running_ = false;
  timer_.cancel();
  for (auto& s : slots_) {
    if (s.open) s.probe->close();
    s.open = false;
  }
  if (stats_) stats_->want(false);
  window_ = Window::idle;
}

void Monitor::settle_run_time_stats() {
  if (stats_) stats_->settle();
}

std::vector<Monitor::ProbeTime> Monitor::probe_times() const {
  std::vector<ProbeTime> out;
  for (const auto& s : slots_) out.push_back({s.probe->name(), s.samples, s.wall_ns});
  return out;
}

TimeNs Monitor::backoff_ns(int failures) const {
  double d = static_cast<double>(config_.backoff_initial.count()) * std::pow(2.0, std::max(0, failures - 1));
  d = std::min(d, static_cast<double>(config_.backoff_max.count()));
  return static_cast<TimeNs>(d) * kNsPerMs;
}

void Monitor::update_run_time_window(TickContext& ctx) {
  // The window spans one whole tick: the probes read the programs' run time
  // at its begin and end. Switching the stats takes tens of ms, so it is
  // asked for here and happens on RunTimeStats' thread: this tick never
  // waits for it, the window opens on the first tick that finds it done.
  // The stats are global; turning ours off leaves others' on.
  if (window_ == Window::open) {
    ctx.run_time = RunTimeWindow::end;
    stats_->want(false);
    window_ = Window::idle;
    return;
  }
  if (stats_) {
    if (int err = stats_->take_error()) {
      ctx.degrade("run_time", std::string("cannot enable BPF run-time stats: ") + std::strerror(err) +
                                  " (needs CAP_SYS_ADMIN; or set run_time_every to 0)");
      window_ = Window::idle;
    }
  }
  if (window_ == Window::opening) {
    if (stats_->state() == RunTimeStats::State::on) {
      ctx.run_time = RunTimeWindow::begin;
      window_ = Window::open;
    }
    return;
  }
  if (config_.run_time_every == 0 || ctx.seq % config_.run_time_every != 0) return;
  if (!stats_) stats_ = std::make_unique<RunTimeStats>();
  if (stats_->state() != RunTimeStats::State::off) return;  // the last window's off switch still runs
  stats_->want(true);
  window_ = Window::opening;
}

Observation Monitor::tick() {
  Observation obs;
  TickContext ctx;
  ctx.now_ns = clock_->now_ns();
  ctx.seq = seq_;
  ctx.dt_s = seq_ > 0 && ctx.now_ns > last_ns_ ? static_cast<double>(ctx.now_ns - last_ns_) / 1e9 : 0.0;
  obs.ts_ns = ctx.now_ns;
  obs.seq = seq_;
  obs.interval_ns = seq_ > 0 ? ctx.now_ns - last_ns_ : 0;
  // Every configured interface appears, whatever its probes manage to read.
  for (const auto& i : config_.interfaces) {
    auto& io = obs.interfaces[i.key];
    io.name = i.name;
    io.netns = i.netns;
  }
  update_run_time_window(ctx);

  for (auto& s : slots_) {
    struct Timed {  // charges the probe's slot on every way out of this iteration
      Slot& s;
      std::chrono::steady_clock::time_point t0;
      ~Timed() {
        s.wall_ns +=
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
                .count();
      }
    } timed{s, std::chrono::steady_clock::now()};
    if (!s.open) {
      if (ctx.now_ns < s.retry_at) {
        obs.degraded.push_back({s.probe->name(), s.reason});
        continue;
      }
      auto st = s.probe->open(io_);
      if (!st) {
        ++s.failures;
        s.retry_at = ctx.now_ns + backoff_ns(s.failures);
        s.reason = st.error().message();
        if (s.failures == 1)
          spdlog::warn("monitor: probe {} degraded: {}", s.probe->name(), s.reason);
        else
          spdlog::debug("monitor: probe {} still failing ({}): {}", s.probe->name(), s.failures, s.reason);
        obs.degraded.push_back({s.probe->name(), s.reason});
        continue;
      }
      s.open = true;
    }
    auto st = s.probe->sample(ctx, obs);
    if (!st) {
      s.probe->close();
      s.open = false;
      ++s.failures;
      s.retry_at = ctx.now_ns + backoff_ns(s.failures);
      s.reason = st.error().message();
      spdlog::warn("monitor: probe {} degraded: {}", s.probe->name(), s.reason);
      obs.degraded.push_back({s.probe->name(), s.reason});
      continue;
    }
    ++s.samples;
    if (s.failures > 0) {
      spdlog::info("monitor: probe {} recovered after {} failure(s)", s.probe->name(), s.failures);
      s.failures = 0;
      s.reason.clear();
    }
  }
  for (auto& d : ctx.soft) obs.degraded.push_back(std::move(d));
  last_ns_ = ctx.now_ns;
  ++seq_;
  if (sink_) sink_(obs);
  return obs;
}

}  // namespace reflex::monitor
