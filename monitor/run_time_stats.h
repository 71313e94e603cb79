#pragma once
// BPF run-time stats (BPF_ENABLE_STATS) switched on and off on a thread of
// their own. Each switch flips a kernel static key, which patches kernel text
// and waits for every CPU: 15 to 40 ms here, and the caller is blocked for
// all of it. The loop thread (ticks, the REST API) must never wait that
// long, so it only asks for a state and reads, on a later tick, whether the
// switch is done. Leaving the stats on instead is no answer: they add ~40 ns
// to every run of every BPF program on the host (bench: monitor_bench stats),
// more than the guard's own cost per packet.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace reflex::monitor {

class RunTimeStats {
 public:
  // The switch itself: enable returns a stats fd or -errno; close drops it.
  // The default is the kernel's (bpf_enable_stats(BPF_STATS_RUN_TIME), close).
  struct Ops {
    std::function<int()> enable;
    std::function<void(int)> close;
  };
  RunTimeStats();
  explicit RunTimeStats(Ops ops);
  // Turns the stats off if this turned them on, waiting for a switch under way.
  ~RunTimeStats();
  RunTimeStats(const RunTimeStats&) = delete;
  RunTimeStats& operator=(const RunTimeStats&) = delete;

  // Asks for the stats on or off; returns at once (the thread starts on the first call).
  void want(bool on);

  enum class State { off, switching, on };
  State state() const;
  // The errno of an enable that failed since the last call, or 0. A failed
  // enable counts as a request served: the state is off, nothing is retried.
  int take_error();
  // Blocks until no switch is pending: tests and benchmarks that drive ticks.
  void settle();

 private:
  void run();

  Ops ops_;
  mutable std::mutex mu_;
  std::condition_variable work_, done_;
  bool want_on_ = false, busy_ = false, quit_ = false;
  int fd_ = -1, error_ = 0;
  std::thread thread_;
};

}  // namespace reflex::monitor
