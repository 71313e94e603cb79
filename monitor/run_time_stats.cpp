#include "monitor/run_time_stats.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace reflex::monitor {

RunTimeStats::RunTimeStats()
    : RunTimeStats(Ops{[] {
                         int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
                         return fd >= 0 ? fd : -errno;
                       },
                       [](int fd) { ::close(fd); }}) {}

RunTimeStats::RunTimeStats(Ops ops) : ops_(std::move(ops)) {}

RunTimeStats::~RunTimeStats() {
  {
    std::lock_guard l(mu_);
    quit_ = true;
  }
  work_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ops_.close(fd_);
}

void RunTimeStats::want(bool on) {
  {
    std::lock_guard l(mu_);
    want_on_ = on;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  work_.notify_all();
}

RunTimeStats::State RunTimeStats::state() const {
  std::lock_guard l(mu_);
  if (busy_ || want_on_ != (fd_ >= 0)) return State::switching;
  return fd_ >= 0 ? State::on : State::off;
}

int RunTimeStats::take_error() {
  std::lock_guard l(mu_);
  return std::exchange(error_, 0);
}

void RunTimeStats::settle() {
  std::unique_lock l(mu_);
  done_.wait(l, [&] { return !busy_ && want_on_ == (fd_ >= 0); });
}

void RunTimeStats::run() {
  std::unique_lock l(mu_);
  for (;;) {
    work_.wait(l, [&] { return quit_ || want_on_ != (fd_ >= 0); });
    if (quit_) break;
    busy_ = true;
    const bool on = want_on_;
    const int old = fd_;
    l.unlock();
    int r = on ? ops_.enable() : (ops_.close(old), -1);
    l.lock();
    busy_ = false;
    if (!on) {
      fd_ = -1;
    } else if (r >= 0) {
      fd_ = r;
    } else {
      error_ = -r;
      want_on_ = false;  // served: the caller sees the error and asks again when it wants
    }
    done_.notify_all();
  }
}

}  // namespace reflex::monitor
