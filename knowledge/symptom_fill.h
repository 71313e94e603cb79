#pragma once
// SymptomFill: refills a vector of symptoms in place, in order. Assigning
// over the symptoms the vector already holds reuses their strings' storage,
// so a loop that carries the same few dozen symptoms tick after tick (a
// node holding many peer verdicts) does not allocate and free every one of
// them every tick. done() drops what the last fill held beyond this one.

#include "knowledge/symptom.h"

#include <cstddef>
#include <vector>

namespace reflex {

class SymptomFill {
 public:
  explicit SymptomFill(std::vector<Symptom>& into) : v_(into) {}

  Symptom& put(const Symptom& s) {
    if (n_ < v_.size()) v_[n_] = s;
    else v_.push_back(s);
    return v_[n_++];
  }
  // What was put so far (valid until the next put).
  const Symptom* data() const { return v_.data(); }
  std::size_t size() const { return n_; }
  void done() { v_.resize(n_); }

 private:
  std::vector<Symptom>& v_;
  std::size_t n_ = 0;
};

}  // namespace reflex
