#pragma once
// SymptomBoard: the set of active symptoms, one per (kind, subject), folded
// from SymptomEvents. raised and updated put the event's symptom on the board
// (replacing the one of that kind and subject), cleared takes it off. Pure and
// header-only: the Analyzer keeps its active set in one, the loop and tests
// can rebuild the same set from the recorded transitions.

#include "knowledge/symptom.h"

#include <map>
#include <utility>
#include <vector>

namespace reflex {

class SymptomBoard {
 public:
  using Key = std::pair<SymptomKind, Subject>;

  static Key key_of(const Symptom& s) { return {s.kind, s.subject}; }

  void apply(const SymptomEvent& e) {
    if (e.transition == SymptomTransition::cleared) active_.erase(key_of(e.symptom));
    else active_[key_of(e.symptom)] = e.symptom;
  }
  void apply(const std::vector<SymptomEvent>& events) {
    for (const auto& e : events) apply(e);
  }

  // Replaces the symptom of its kind and subject without an event (the latest
  // score and evidence between two reported transitions).
  void refresh(const Symptom& s) { active_[key_of(s)] = s; }

  const Symptom* find(SymptomKind kind, const Subject& subject) const {
    auto it = active_.find(Key{kind, subject});
    return it == active_.end() ? nullptr : &it->second;
  }

  // Ordered by kind, then subject.
  std::vector<Symptom> active() const {
    std::vector<Symptom> out;
    out.reserve(active_.size());
    for (const auto& [_, s] : active_) out.push_back(s);
    return out;
  }

  const std::map<Key, Symptom>& entries() const { return active_; }
  std::size_t size() const { return active_.size(); }
  bool empty() const { return active_.empty(); }
  void clear() { active_.clear(); }

 private:
  std::map<Key, Symptom> active_;
};

}  // namespace reflex
