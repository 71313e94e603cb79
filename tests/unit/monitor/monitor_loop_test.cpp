// The Monitor's loop with probes made of functions: order, timing, degraded
// probes and their retry with backoff, and the timer on a real io_context.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <future>

#include "monitor/function_probe.h"
#include "monitor/monitor.h"

using namespace reflex;
using namespace reflex::monitor;
using namespace std::chrono_literals;

namespace {

class FakeClock : public Clock {
 public:
  TimeNs now_ns() const override { return now; }
  TimeNs now = 1'000 * kNsPerSec;
};

MonitorConfig config() {
  MonitorConfig c;
  c.interfaces = {*parse_interface_ref("eth0")};
  c.backoff_initial = 1000ms;
  c.backoff_max = 4000ms;
  c.run_time_every = 0;  // no BPF run-time stats (the tests below that want them use a fake switch)
  return c;
}

struct Fixture {
  boost::asio::io_context io;
  FakeClock clock;
  std::vector<Observation> seen;
};

bool degraded(const Observation& o, const std::string& probe) {
  for (const auto& d : o.degraded)
    if (d.probe == probe) return true;
  return false;
}

}  // namespace

TEST(MonitorLoop, ProbesFillOneObservationInOrderWithTickTiming) {
  Fixture f;
  std::vector<std::string> order;
  std::vector<ProbePtr> probes;
  probes.push_back(std::make_unique<FunctionProbe>("first", [&](TickContext& ctx, Observation& o) {
    order.push_back("first");
    o.interfaces["eth0"].rx_packets = 10 * (ctx.seq + 1);
    ctx.ifaces["eth0"] = IfaceId{1, 2};
    return ok();
  }));
  probes.push_back(std::make_unique<FunctionProbe>("second", [&](TickContext& ctx, Observation& o) {
    order.push_back("second");
    EXPECT_EQ(ctx.ifaces.at("eth0").ifindex, 2u);  // what the first probe resolved
    o.interfaces["eth0"].rx_pps = ctx.dt_s;
    return ok();
  }));
  Monitor m(
      f.io, config(), std::move(probes), [&](const Observation& o) { f.seen.push_back(o); }, &f.clock);
  m.tick();
  f.clock.now += 250 * kNsPerMs;
  m.tick();
  ASSERT_EQ(f.seen.size(), 2u);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "first", "second"}));
  EXPECT_EQ(f.seen[0].seq, 0u);
  EXPECT_EQ(f.seen[0].interval_ns, 0);
  EXPECT_EQ(f.seen[1].seq, 1u);
  EXPECT_EQ(f.seen[1].interval_ns, 250 * kNsPerMs);
  EXPECT_DOUBLE_EQ(f.seen[1].interfaces.at("eth0").rx_pps, 0.25);
  EXPECT_EQ(f.seen[1].interfaces.at("eth0").rx_packets, 20u);
  EXPECT_EQ(f.seen[1].interfaces.at("eth0").name, "eth0");  // every configured interface is present
  EXPECT_TRUE(f.seen[1].degraded.empty());
}

TEST(MonitorLoop, AProbeThatCannotOpenIsDegradedAndRetriedWithBackoff) {
  Fixture f;
  bool available = false;
  auto probe = std::make_unique<FunctionProbe>(
      "flaky",
      [](TickContext&, Observation& o) {
        o.interfaces["eth0"].rx_packets = 7;
        return ok();
      },
      [&]() -> Status {
        if (available) return ok();
        return make_error("map gone", "load it again");
      });
  FunctionProbe* flaky = probe.get();
  int healthy_samples = 0;
  std::vector<ProbePtr> probes;
  probes.push_back(std::move(probe));
  probes.push_back(std::make_unique<FunctionProbe>("healthy", [&](TickContext&, Observation&) {
    ++healthy_samples;
    return ok();
  }));
  Monitor m(f.io, config(), std::move(probes), {}, &f.clock);

  auto o = m.tick();  // t=0: open fails; retry at +1 s
  EXPECT_TRUE(degraded(o, "flaky"));
  EXPECT_EQ(o.degraded.at(0).reason, "map gone (load it again)");
  EXPECT_EQ(flaky->opens(), 1);
  EXPECT_EQ(healthy_samples, 1);  // the loop went on

  f.clock.now += 500 * kNsPerMs;  // t=0.5: too early to retry, still reported
  o = m.tick();
  EXPECT_TRUE(degraded(o, "flaky"));
  EXPECT_EQ(flaky->opens(), 1);

  f.clock.now += 500 * kNsPerMs;  // t=1: retry, fails again; next in 2 s
  o = m.tick();
  EXPECT_EQ(flaky->opens(), 2);
  f.clock.now += 1900 * kNsPerMs;  // t=2.9
  m.tick();
  EXPECT_EQ(flaky->opens(), 2);

  available = true;
  f.clock.now += 100 * kNsPerMs;  // t=3: retry succeeds, sampled in the same tick
  o = m.tick();
  EXPECT_EQ(flaky->opens(), 3);
  EXPECT_FALSE(degraded(o, "flaky"));
  EXPECT_EQ(o.interfaces.at("eth0").rx_packets, 7u);
  EXPECT_EQ(healthy_samples, 5);
}

TEST(MonitorLoop, BackoffIsCapped) {
  Fixture f;
  auto probe = std::make_unique<FunctionProbe>(
      "down", [](TickContext&, Observation&) { return ok(); }, []() -> Status { return make_error("down"); });
  FunctionProbe* p = probe.get();
  std::vector<ProbePtr> probes;
  probes.push_back(std::move(probe));
  Monitor m(f.io, config(), std::move(probes), {}, &f.clock);
  // Retries at 0, +1, +2, +4, then every 4 s (the cap).
  for (int s = 0; s <= 15; ++s) {
    m.tick();
    f.clock.now += kNsPerSec;
  }
  // t = 0, 1, 3, 7, 11, 15
  EXPECT_EQ(p->opens(), 6);
}

TEST(MonitorLoop, AProbeFailingMidwayIsClosedReportedAndReopened) {
  Fixture f;
  int calls = 0;
  auto probe = std::make_unique<FunctionProbe>("midway", [&](TickContext&, Observation&) -> Status {
    ++calls;
    if (calls == 2) return make_error("program detached by someone else");
    return ok();
  });
  FunctionProbe* p = probe.get();
  std::vector<ProbePtr> probes;
  probes.push_back(std::move(probe));
  Monitor m(f.io, config(), std::move(probes), {}, &f.clock);
  EXPECT_FALSE(degraded(m.tick(), "midway"));
  auto o = m.tick();
  EXPECT_TRUE(degraded(o, "midway"));
  EXPECT_EQ(p->closes(), 1);
  f.clock.now += kNsPerSec;
  EXPECT_FALSE(degraded(m.tick(), "midway"));
  EXPECT_EQ(p->opens(), 2);
}

TEST(MonitorLoop, SoftDegradationIsReportedWithoutClosingTheProbe) {
  Fixture f;
  auto probe = std::make_unique<FunctionProbe>("guard:eth0", [](TickContext& ctx, Observation&) {
    ctx.degrade("guard:eth0", "detached");
    return ok();
  });
  FunctionProbe* p = probe.get();
  std::vector<ProbePtr> probes;
  probes.push_back(std::move(probe));
  Monitor m(f.io, config(), std::move(probes), {}, &f.clock);
  auto o = m.tick();
  ASSERT_EQ(o.degraded.size(), 1u);
  EXPECT_EQ(o.degraded[0].reason, "detached");
  EXPECT_EQ(p->closes(), 0);
}

TEST(MonitorLoop, TicksOnTheTimerOfARealLoop) {
  boost::asio::io_context io;
  std::vector<Observation> seen;
  auto c = config();
  c.interval = 50ms;
  std::vector<ProbePtr> probes;
  probes.push_back(std::make_unique<FunctionProbe>("p", [](TickContext&, Observation&) { return ok(); }));
  Monitor m(io, c, std::move(probes), [&](const Observation& o) {
    seen.push_back(o);
    if (seen.size() == 4) io.stop();
  });
  m.start();
  auto t0 = std::chrono::steady_clock::now();
  io.run_for(5s);  // returns as soon as the sink stops the loop
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_GE(took, 140ms);  // first tick at once, then three intervals
  // The ticks keep to a fixed-rate grid: one that ran late is followed by a
  // shorter interval, so on a busy host one interval alone can be short;
  // together the three span the grid.
  TimeNs spanned = 0;
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GT(seen[i].interval_ns, 0);
    EXPECT_LT(seen[i].interval_ns, 500 * kNsPerMs);
    spanned += seen[i].interval_ns;
  }
  EXPECT_GE(spanned, 140 * kNsPerMs);
  m.stop();
}

namespace {

// A BPF run-time stats switch whose enable blocks until the test releases
// it, so a tick that waited for the switch would be caught waiting.
struct FakeStatsSwitch {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  bool enable_timed_out = false;
  int enables = 0;
  std::vector<int> closed;
  int result = 42;  // the fd an enable returns, or -errno

  std::unique_ptr<RunTimeStats> make() {
    return std::make_unique<RunTimeStats>(RunTimeStats::Ops{
        [this] {
          if (enables++ == 0) {
            entered.set_value();
            enable_timed_out = released.wait_for(10s) != std::future_status::ready;
          }
          return result;
        },
        [this](int fd) { closed.push_back(fd); }});
  }
};

// The run-time window each tick's probes were given.
std::vector<ProbePtr> window_recorder(std::vector<RunTimeWindow>& seen) {
  std::vector<ProbePtr> probes;
  probes.push_back(std::make_unique<FunctionProbe>("p", [&seen](TickContext& ctx, Observation&) {
    seen.push_back(ctx.run_time);
    return ok();
  }));
  return probes;
}

// A Monitor measuring run time one tick in `every`, through a FakeStatsSwitch.
struct WindowRig {
  Fixture f;
  std::vector<RunTimeWindow> seen;
  FakeStatsSwitch sw;  // outlives the Monitor, whose switch closes through it
  Monitor m;
  explicit WindowRig(unsigned every, int result = 42)
      : m(f.io, with_every(every), window_recorder(seen), {}, &f.clock) {
    sw.result = result;
    m.use_run_time_stats(sw.make());
  }
  static MonitorConfig with_every(unsigned every) {
    auto c = config();
    c.run_time_every = every;
    return c;
  }
};

}  // namespace

TEST(MonitorLoop, TheTickNeverWaitsForTheRunTimeStatsSwitch) {
  WindowRig rig(10);
  Monitor& m = rig.m;
  auto& sw = rig.sw;
  auto& seen = rig.seen;

  m.tick();  // asks for the stats on
  sw.entered.get_future().wait();
  // The switch is under way and blocked: ticks go on without the window.
  m.tick();
  m.tick();
  sw.release.set_value();
  m.settle_run_time_stats();
  EXPECT_FALSE(sw.enable_timed_out) << "a tick waited for the switch";
  m.tick();  // finds the stats on: the window opens
  m.tick();  // and closes, asking for the stats off
  m.settle_run_time_stats();
  EXPECT_EQ(sw.closed, std::vector<int>{42});
  for (int i = 5; i < 11; ++i) m.tick();  // seq 10 asks again
  m.settle_run_time_stats();
  m.tick();
  m.tick();
  using W = RunTimeWindow;
  EXPECT_EQ(seen, (std::vector<W>{W::none, W::none, W::none, W::begin, W::end, W::none, W::none, W::none, W::none,
                                  W::none, W::none, W::begin, W::end}));
  EXPECT_EQ(sw.enables, 2);
}

TEST(MonitorLoop, ARunTimeStatsSwitchThatFailsIsReportedAndRetriedAtTheNextWindow) {
  WindowRig rig(2, -EPERM);
  Monitor& m = rig.m;
  auto& sw = rig.sw;
  auto& seen = rig.seen;
  sw.release.set_value();
  EXPECT_FALSE(degraded(m.tick(), "run_time"));  // asks
  m.settle_run_time_stats();
  auto o = m.tick();  // finds it failed
  ASSERT_TRUE(degraded(o, "run_time"));
  EXPECT_NE(o.degraded.back().reason.find("CAP_SYS_ADMIN"), std::string::npos) << o.degraded.back().reason;
  m.tick();  // seq 2 asks again
  m.settle_run_time_stats();
  EXPECT_TRUE(degraded(m.tick(), "run_time"));
  EXPECT_EQ(sw.enables, 2);
  EXPECT_TRUE(sw.closed.empty());
  for (auto w : seen) EXPECT_EQ(w, RunTimeWindow::none);
}
