#pragma once
// SymptomFill: refills a vector of symptoms in place, in order. Assigning
// over the symptoms the vector already holds reuses their strings' storage,
// so a loop that carries the same few dozen symptoms tick after tick (a
// node holding many peer verdicts) does not allocate and free every one of
// them every tick. done() drops what the last fill held beyond this one.
//
// A source whose symptoms stand unchanged for many ticks stamps them: a
// stamp names one symptom's content, all but its time, and is never given
// to other content (next_symptom_stamp). The fill keeps a stamp beside each
// slot; a symptom put with the stamp its slot already holds is that slot's
// content, so nothing is copied, and a reader comparing two fills (the
// planner's quiet plans) needs no compare either. Stamp 0: unstamped.

#include "knowledge/symptom.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace reflex {

// A stamp no other content has had, process-wide (fleets simulate nodes on
// several threads, and a Snapshot's slots may be refilled by any source).
inline std::uint64_t next_symptom_stamp() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

class SymptomFill {
 public:
  // `stamps` runs beside `into`, one per symptom (made so if it does not).
  SymptomFill(std::vector<Symptom>& into, std::vector<std::uint64_t>& stamps) : v_(into), stamps_(stamps) {
    if (stamps_.size() != v_.size()) stamps_.assign(v_.size(), 0);
  }
  explicit SymptomFill(std::vector<Symptom>& into) : SymptomFill(into, own_stamps_) {}
  SymptomFill(const SymptomFill&) = delete;
  SymptomFill& operator=(const SymptomFill&) = delete;

  Symptom& put(const Symptom& s, std::uint64_t stamp = 0) {
    if (n_ < v_.size()) {
      if (stamp == 0 || stamps_[n_] != stamp) v_[n_] = s;
      stamps_[n_] = stamp;
    } else {
      v_.push_back(s);
      stamps_.push_back(stamp);
    }
    return v_[n_++];
  }
  // What was put so far (valid until the next put).
  const Symptom* data() const { return v_.data(); }
  std::size_t size() const { return n_; }
  void done() {
    v_.resize(n_);
    stamps_.resize(n_);
  }

 private:
  std::vector<std::uint64_t> own_stamps_;
  std::vector<Symptom>& v_;
  std::vector<std::uint64_t>& stamps_;
  std::size_t n_ = 0;
};

}  // namespace reflex
