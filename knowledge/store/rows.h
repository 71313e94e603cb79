#pragma once
// What the loop hands the recorder, as the rows the store writes: kind,
// subject (what a record is about, for "subject=" queries), a one-line
// summary for people, and the JSON body. Pure: no SQLite here.
//
// Subjects: an action's, an intent's and an override's target interface and
// prefix ("eth0 10.0.0.0/24", "eth0", "10.0.0.0/24" when it names every
// interface); a symptom's subject the same way, or its map; a plan's id; an
// outcome's action id. So "subject=eth0*" finds every record about eth0.

#include <cstdint>
#include <string>
#include <vector>

#include "knowledge/observation.h"
#include "knowledge/recorder.h"

namespace reflex::store {

struct Row {
  RecordKind kind = RecordKind::daemon;
  TimeNs ts_ns = 0;
  TimeNs wall_ns = 0;
  std::string subject;
  std::string summary;
  std::string body;       // JSON text
  bool decision = false;  // plans, actions, outcomes, overrides: never dropped
  std::size_t bytes() const { return subject.size() + summary.size() + body.size() + sizeof(Row); }
};

// The plan (its actions by id), one row per intent (the action with its
// inverse and plan id), per outcome and per override change, in that order.
std::vector<Row> decision_rows(const Decisions& d, TimeNs wall_ns);
Row observation_row(const Observation& obs, TimeNs wall_ns);
Row symptom_row(const SymptomEvent& e, TimeNs wall_ns);
Row event_row(const LoopEvent& e, TimeNs wall_ns);

// "eth0 10.0.0.0/24", "eth0", "10.0.0.0/24", a map's name, or "" (the node).
std::string subject_text(const Subject& s);
std::string subject_text(const ActionSpec& spec);

}  // namespace reflex::store
