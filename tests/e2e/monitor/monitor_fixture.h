#pragma once
// Two namespaces joined by a veth pair, IPv6 off so the only packets are the
// test's (and ARP): "a" sends, "b" receives and may be guarded. A Monitor
// runs in the test process on its own io_context, watching interfaces by
// IF@NETNS, and the test drives its ticks. Namespaces (with their links and
// qdiscs), pins and the Monitor's programs are released even when a test
// fails.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "guard/guard.h"
#include "monitor/monitor.h"
#include "sim/netns.h"
#include "sim/traffic.h"
#include "tests/support/kernel_env.h"

namespace reflex::testing {

class MonitorE2E : public ::testing::Test {
 protected:
  static constexpr const char* kA = "10.78.0.1";
  static constexpr const char* kB = "10.78.0.2";
  static constexpr const char* kA11 = "10.78.0.11";
  static constexpr const char* kA12 = "10.78.0.12";
  static constexpr const char* kA13 = "10.78.0.13";

  void SetUp() override;
  void TearDown() override;

  // Loads the guard on b's interface (in b), pinned under this process's test root.
  guard::Guard load_guard(guard::LoadMode mode = guard::LoadMode::auto_);
  guard::Guard open_guard() const;

  // Interface keys as the Monitor names them.
  std::string key_a() const { return if_a_ + "@" + a_->name(); }
  std::string key_b() const { return if_b_ + "@" + b_->name(); }

  // A Monitor over the given IF@NETNS keys; tweak adjusts the config.
  void make_monitor(const std::vector<std::string>& ifaces,
                    const std::function<void(monitor::MonitorConfig&)>& tweak = {});
  // Lets the loop run for `wait` (ring buffers are consumed as they wake
  // it), then ticks.
  Observation tick(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  // Ticks every `every` until pred holds; fails the test (and returns the
  // last Observation) when the deadline passes first.
  Observation tick_until(const std::function<bool(const Observation&)>& pred, const std::string& what,
                         std::chrono::milliseconds every = std::chrono::milliseconds(20),
                         std::chrono::seconds deadline = std::chrono::seconds(10));

  // Sends n UDP datagrams from src (an address of a) to b:port; returns how
  // many the receiver got (0 when there is no receiver).
  std::size_t send_udp(const std::string& src, std::size_t n, std::uint16_t port, bool receive = true);

  static bool degraded(const Observation& o, const std::string& probe, std::string* reason = nullptr);

  std::unique_ptr<sim::NetNs> a_, b_;
  std::string if_a_, if_b_;
  boost::asio::io_context io_;
  std::unique_ptr<monitor::Monitor> mon_;
};

// Runs a command, failing the test with its output if it fails.
void must_run(const std::vector<std::string>& argv);

// A root qdisc on dev in ns, removed on every way out (the namespace's
// deletion would take it too, but a test may want it gone sooner).
class ScopedQdisc {
 public:
  ScopedQdisc(const sim::NetNs& ns, std::string dev) : ns_(ns), dev_(std::move(dev)) {}
  ~ScopedQdisc() { del(); }
  ScopedQdisc(const ScopedQdisc&) = delete;
  ScopedQdisc& operator=(const ScopedQdisc&) = delete;

  // `tc qdisc add dev DEV root ARGS...`; fails the test if tc does.
  void add(const std::vector<std::string>& args);
  void del();

 private:
  const sim::NetNs& ns_;
  std::string dev_;
  bool on_ = false;
};

}  // namespace reflex::testing
