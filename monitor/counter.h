#pragma once
// A cumulative counter read from the kernel, kept monotonic.
//
// Sources restart (a guard reloaded with fresh maps, a probe reopened) and
// narrow counters wrap. A reading below the previous one is a wrap when the
// source is narrower than 64 bits and the drop is more than half its range
// (a 32-bit counter that passed 2^32), and a restart otherwise: then the new
// reading is all new counts (Prometheus' rule for resets). A caller that
// knows the source restarted says so with rebase(), so a restart that
// already counted past the old value is not mistaken for a small increase.

#include <cstdint>

namespace reflex::monitor {

class Counter {
 public:
  explicit Counter(unsigned width_bits = 64) : width_(width_bits) {}

  // Feeds a raw reading; returns the increase since the previous one (0 on the first).
  std::uint64_t update(std::uint64_t raw) {
    if (width_ < 64) raw &= (std::uint64_t{1} << width_) - 1;
    std::uint64_t delta = 0;
    if (!seen_) {
      total_ = raw;  // start at the source's own value: matches `ip -s link`, `reflex-guard status`
      seen_ = true;
    } else if (rebased_) {
      delta = raw;
    } else if (raw >= last_) {
      delta = raw - last_;
    } else if (width_ < 64 && last_ - raw > (std::uint64_t{1} << (width_ - 1))) {
      delta = raw + (std::uint64_t{1} << width_) - last_;  // wrapped
    } else {
      delta = raw;  // restarted
    }
    rebased_ = false;
    last_ = raw;
    total_ += delta;
    return delta;
  }

  // The source restarted from zero (new map): the next reading is all new.
  void rebase() {
    if (seen_) rebased_ = true;
  }

  std::uint64_t total() const { return total_; }
  bool seen() const { return seen_; }

 private:
  unsigned width_;
  bool seen_ = false, rebased_ = false;
  std::uint64_t last_ = 0, total_ = 0;
};

}  // namespace reflex::monitor
