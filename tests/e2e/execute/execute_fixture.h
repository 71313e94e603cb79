#pragma once
// Execute end to end: namespace a sends, namespace b's veth end is guarded
// by the real guard actuator, the real Monitor observes it, and the real
// executor changes it, one loop tick at a time as the daemon would.

#include "execute/executor.h"
#include "execute/guard_actuator.h"
#include "monitor/monitor.h"
#include "sim/netns.h"
#include "sim/traffic.h"
#include "tests/e2e/guard_cli.h"
#include "tests/support/kernel_env.h"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace reflex::testing {

// UDP from one source at a steady rate, counted at the receiver by sequence
// number: what got through, and the longest run of consecutive losses.
class Stream {
 public:
  Stream(const sim::NetNs& from, const std::string& src, const sim::NetNs& to, const std::string& dst,
         std::uint16_t port, double pps);
  ~Stream();
  void stop();  // stops sending, drains the receiver
  std::uint64_t sent() const { return sent_; }
  std::uint64_t received() const;
  std::uint64_t longest_gap() const;  // consecutive sequence numbers missing, at most
  std::uint64_t received_since(std::uint64_t seq) const;
  std::uint64_t next_seq() const { return sent_; }

 private:
  std::unique_ptr<sim::UdpPeer> tx_, rx_;
  std::string dst_;
  std::uint16_t port_;
  double pps_;
  std::atomic<bool> run_{true};
  std::atomic<std::uint64_t> sent_{0};
  mutable std::mutex mu_;
  std::vector<bool> seen_;
  std::thread sender_, receiver_;
};

class ExecuteE2E : public ::testing::Test {
 protected:
  static constexpr const char* kA = "10.88.0.1";
  static constexpr const char* kB = "10.88.0.2";
  static constexpr const char* kA11 = "10.88.0.11";  // a flooding source
  static constexpr const char* kA12 = "10.88.0.12";
  static constexpr const char* kA21 = "10.88.1.21";  // another /24 on the same link
  static constexpr const char* kA22 = "10.88.1.22";

  void SetUp() override;
  void TearDown() override;

  // The interface's key as the daemon would be told it: IF@NETNS.
  std::string key() const { return if_b_ + "@" + b_->name(); }
  monitor::InterfaceRef ref() const { return monitor::InterfaceRef{key(), if_b_, b_->name()}; }

  // Loads the guard through the actuator and makes the executor (verify windows short for tests).
  // max_rules: the guard's and the executor's rule limit (0: their defaults).
  // shaping: also the real TC shaping actuator on the same interface.
  void start(guard::LoadMode mode = guard::LoadMode::native, execute::VerifyConfig v = {}, std::size_t max_rules = 0,
             bool shaping = false);
  // The veth pair between a and b (SetUp makes it; a test that deleted it makes it again).
  void make_pair();
  // One loop tick: Monitor, review, prepare, apply. Returns every outcome of it.
  std::vector<Outcome> tick(const Plan& plan = {});
  // Ticks (sampling every `every`) until an outcome of `id` with `status` comes, at most `limit`.
  std::vector<Outcome> tick_until(const std::string& id, OutcomeStatus status,
                                  std::chrono::milliseconds every = std::chrono::milliseconds(250),
                                  std::chrono::milliseconds limit = std::chrono::seconds(8));
  Snapshot snapshot();
  guard::Guard& g();

  // n datagrams from src; how many arrived (once the guard judged them all).
  std::size_t udp_round(const std::string& src, std::size_t n, std::uint16_t port = 9000);
  std::uint64_t veth_tx_dropped() const;

  static Action act(const std::string& id, ActionSpec spec, TimeNs ttl = 0);
  static Plan plan_of(std::vector<Action> actions);
  static const Outcome* find(const std::vector<Outcome>& v, const std::string& id, OutcomeStatus s);

  std::unique_ptr<sim::NetNs> a_, b_;
  std::string if_a_, if_b_;
  boost::asio::io_context io_;
  std::unique_ptr<monitor::Monitor> mon_;
  execute::GuardActuator* guard_act_ = nullptr;
  std::unique_ptr<execute::Executor> ex_;
  std::uint64_t seq_ = 0;
  execute::Prepared last_;
};

}  // namespace reflex::testing
