#pragma once
// What the loop tells Knowledge, and how operators read it back.
//
// The loop writes through Recorder and reads history through History; the
// SQLite store (knowledge/store/) implements both, NullRecorder neither keeps
// nor finds anything (the fleet simulator's thousand nodes, unit tests).
//
// Two kinds of writes:
//  - decisions (plans, their actions with inverses, outcomes, overrides, the
//    desired datapath state and the planner's state): commit_decisions()
//    returns once they are durable, and the loop calls it *before* Execute
//    changes the kernel, so a crash can never leave something in the kernel
//    that the record does not show;
//  - streams (observations, symptom transitions, loop events): buffered and
//    written in batches.
// A store that cannot write (disk full, read-only) keeps what it was given in
// memory, reports itself degraded in health(), and writes it in order once it
// can; the loop keeps protecting the node meanwhile.

#include "common/result.h"
#include "knowledge/action.h"
#include "knowledge/observation.h"
#include "knowledge/symptom.h"
#include "knowledge/time.h"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reflex {

// What a record is about. Stored by name (to_string), so appending is safe.
enum class RecordKind {
  observation,  // a tick's Observation (raw, then rolled up)
  symptom,      // a SymptomEvent
  plan,         // a Plan with its notes
  action,       // one Action of a plan, with its rationale and inverse
  outcome,      // an Outcome
  override_,    // an operator Override created, removed or expired
  policy,       // a policy set loaded or rejected
  attach,       // an interface's attach mode changed (and why)
  daemon,       // the daemon started, stopped, re-adopted the datapath
  verdict,      // a fleet verdict sent, received, acted on or refused
};
inline constexpr RecordKind kAllRecordKinds[] = {
    RecordKind::observation, RecordKind::symptom, RecordKind::plan,   RecordKind::action, RecordKind::outcome,
    RecordKind::override_,   RecordKind::policy,  RecordKind::attach, RecordKind::daemon, RecordKind::verdict};

constexpr std::string_view to_string(RecordKind k) {
  switch (k) {
    case RecordKind::observation: return "observation";
    case RecordKind::symptom: return "symptom";
    case RecordKind::plan: return "plan";
    case RecordKind::action: return "action";
    case RecordKind::outcome: return "outcome";
    case RecordKind::override_: return "override";
    case RecordKind::policy: return "policy";
    case RecordKind::attach: return "attach";
    case RecordKind::daemon: return "daemon";
    case RecordKind::verdict: return "verdict";
  }
  return "unknown";
}

constexpr std::optional<RecordKind> parse_record_kind(std::string_view s) {
  for (auto k : kAllRecordKinds)
    if (to_string(k) == s) return k;
  return std::nullopt;
}

// A loop event that is not a decision: policy loads, attach steps, daemon
// lifecycle, verdicts. `subject` is what it is about ("eth0", "10.0.0.0/24",
// a policy folder), `summary` one line for humans, `body` the detail.
struct LoopEvent {
  RecordKind kind = RecordKind::daemon;
  TimeNs ts_ns = 0;
  std::string subject;
  std::string summary;
  boost::json::value body;
};

enum class OverrideChange { created, removed, expired };

struct OverrideRecord {
  Override override_;
  OverrideChange change = OverrideChange::created;
  TimeNs ts_ns = 0;
  std::string who;  // who removed it (for removed); the creator is in override_
};

// One tick's decisions, committed in one transaction.
struct Decisions {
  TimeNs ts_ns = 0;
  const Plan* plan = nullptr;           // null: no plan this tick (or an empty one)
  std::span<const Intent> intents;      // what Execute is about to apply
  std::span<const Outcome> outcomes;
  std::span<const OverrideRecord> overrides;
  // Set when changed: the state a restarted daemon resumes from.
  std::optional<boost::json::value> desired_state;
  std::optional<boost::json::value> planner_state;
};

struct StoreHealth {
  bool ok = true;
  std::string reason;             // why not ok, with the fix
  std::uint64_t pending = 0;      // records held in memory, not yet written
  std::uint64_t written = 0;      // records written since open
  std::uint64_t bytes = 0;        // database size on disk
  // Stream records given up while the store could not write and its memory
  // bound was reached: observations first, then other stream records; never
  // decisions.
  std::uint64_t dropped = 0;
};

class Recorder {
 public:
  virtual ~Recorder() = default;
  virtual Status commit_decisions(const Decisions& d) = 0;
  virtual void record_observation(const Observation& obs) = 0;
  virtual void record_symptoms(std::span<const SymptomEvent> events) = 0;
  virtual void record_event(const LoopEvent& event) = 0;
  // Writes what is buffered; called on a timer by the loop and at stop.
  virtual Status flush() = 0;
  virtual StoreHealth health() const = 0;
  // Whether commit_decisions keeps the desired and planner state, so the
  // loop need not serialise them for a recorder that drops them.
  virtual bool keeps_state() const { return true; }
};

// A stored record, as history queries return it.
struct Record {
  std::uint64_t id = 0;  // increasing in write order; the paging cursor
  TimeNs ts_ns = 0;      // loop clock
  TimeNs wall_ns = 0;    // Unix time, for operators
  RecordKind kind = RecordKind::daemon;
  std::string subject;
  std::string summary;
  boost::json::value body;
};

struct RecordQuery {
  std::optional<TimeNs> since_wall_ns, until_wall_ns;  // [since, until)
  std::vector<RecordKind> kinds;                       // empty: all but observations
  std::string subject;                                 // empty: any; else exact, or a prefix ending in '*'
  std::size_t limit = 100;                             // at most 1000
  std::optional<std::uint64_t> before_id;              // paging: records older than this cursor
};

struct RecordPage {
  std::vector<Record> records;            // newest first
  std::optional<std::uint64_t> next;      // pass as before_id for the next page
};

class History {
 public:
  virtual ~History() = default;
  virtual Result<RecordPage> query(const RecordQuery& q) const = 0;
};

// Keeps nothing; for loops that need no record.
class NullRecorder final : public Recorder {
 public:
  Status commit_decisions(const Decisions&) override { return ok(); }
  void record_observation(const Observation&) override {}
  void record_symptoms(std::span<const SymptomEvent>) override {}
  void record_event(const LoopEvent&) override {}
  Status flush() override { return ok(); }
  StoreHealth health() const override { return {}; }
  bool keeps_state() const override { return false; }
};

}  // namespace reflex
