#pragma once
// Two namespaces joined by a veth pair: "a" sends, "b" is guarded. The guard
// is driven through the reflex-guard binary, one process per command, as an
// operator drives it, so every test also shows that the guard outlives the
// process that configured it. Everything is torn down even when a test fails.

#include "guard/guard.h"
#include "sim/netns.h"
#include "sim/traffic.h"
#include "tests/e2e/guard_cli.h"
#include "tests/support/kernel_env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace reflex::testing {

class GuardE2E : public ::testing::Test {
 public:
  // The pin key of an interface in b: how guards there are named.
  std::string key_b(const std::string& iface) const { return guard::pin_key(iface, b_->name()); }

 protected:
  static constexpr const char* kA = "10.77.0.1";
  static constexpr const char* kB = "10.77.0.2";
  static constexpr const char* kA6 = "fd00:77::1";
  static constexpr const char* kB6 = "fd00:77::2";
  // Extra sender addresses on a's side.
  static constexpr const char* kA11 = "10.77.0.11";
  static constexpr const char* kA12 = "10.77.0.12";
  static constexpr const char* kA13 = "10.77.0.13";

  void SetUp() override;
  void TearDown() override;

  // `reflex-guard --netns b ...`
  CliResult cli_b(std::vector<std::string> args);
  guard::Guard open_guard() const;
  // Waits until the guard has judged `n` more IP packets than `since` (the
  // datapath is the clock here, not a timer). Returns the counters.
  guard::VerdictCounters wait_judged(const guard::VerdictCounters& since, std::uint64_t n) const;
  // Waits until `done` holds for the counters (10 s at most, then fails the test).
  guard::VerdictCounters wait_counters(const std::function<bool(const guard::VerdictCounters&)>& done,
                                       const std::string& what) const;
  guard::VerdictCounters counters() const;
  static std::uint64_t ip_total(const guard::VerdictCounters& v);

  // Sends n UDP datagrams from src (an address of a) to b:port and returns how
  // many arrived, once the guard has judged them all.
  std::size_t udp_round(const std::string& src, std::size_t n, std::uint16_t port = 9000);

  std::unique_ptr<sim::NetNs> a_, b_;
  std::string if_a_, if_b_;
  bool loaded_ = false;
};

}  // namespace reflex::testing
