#pragma once
// Benign TCP clients: connections from the clients' namespace to the
// victim's TCP service, each writing at a steady paced rate for as long as
// its group runs (the traffic of users, not a bulk transfer). One thread
// paces every connection.

#include "common/fd.h"
#include "common/result.h"
#include "sim/netns.h"
#include "knowledge/time.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace reflex::sim {

struct PacedGroup {
  std::string from_addr;  // a client address in the namespace
  std::uint32_t connections = 1;
  std::uint64_t rate_bps = 0;  // all connections together
  TimeNs from_ns = 0, until_ns = 0;
};

class PacedTcp {
 public:
  static Result<std::unique_ptr<PacedTcp>> create(const NetNs& clients, std::string dst_addr, std::uint16_t port);
  ~PacedTcp();
  PacedTcp(const PacedTcp&) = delete;
  PacedTcp& operator=(const PacedTcp&) = delete;

  std::size_t add(PacedGroup g);  // before start()
  void start(std::chrono::steady_clock::time_point t0);
  void stop();
  std::uint64_t written(std::size_t group) const { return groups_[group]->written.load(std::memory_order_relaxed); }
  std::uint64_t connect_failures(std::size_t group) const {
    return groups_[group]->failures.load(std::memory_order_relaxed);
  }

 private:
  struct Conn {
    Fd fd;
    bool connected = false;
    std::uint64_t written = 0;
  };
  struct Group {
    PacedGroup spec;
    std::vector<Conn> conns;
    std::atomic<std::uint64_t> written{0}, failures{0};
  };
  PacedTcp(const NetNs& ns) : ns_(ns) {}
  void run();
  void open_conn(Group& g, Conn& c);

  const NetNs& ns_;
  std::string dst_;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<Group>> groups_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace reflex::sim
