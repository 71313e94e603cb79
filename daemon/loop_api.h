#pragma once
// What the REST API (and so reflexctl) may read of the loop and ask of it.
// Reads are immutable values published by the loop once per tick (a
// shared_ptr<const LoopView>): a handler never waits for the loop and the loop
// never waits for a handler. Mutations are requests the loop validates,
// records and applies on its next tick; none touches the datapath directly.

#include "common/result.h"
#include "knowledge/action.h"
#include "knowledge/desired_state.h"
#include "knowledge/observation.h"
#include "knowledge/recorder.h"
#include "knowledge/snapshot.h"
#include "knowledge/symptom.h"

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reflex::daemon {

enum class LoopPhase { starting, running, paused, stopping };

constexpr std::string_view to_string(LoopPhase p) {
  switch (p) {
    case LoopPhase::starting: return "starting";
    case LoopPhase::running: return "running";
    case LoopPhase::paused: return "paused";
    case LoopPhase::stopping: return "stopping";
  }
  return "unknown";
}

// Stages in tick order, for timings and metrics.
enum class Stage { monitor, analyze, review, plan, prepare, commit, apply, record };
inline constexpr Stage kAllStages[] = {Stage::monitor, Stage::analyze, Stage::review, Stage::plan,
                                       Stage::prepare, Stage::commit,  Stage::apply,  Stage::record};
inline constexpr std::size_t kStageCount = std::size(kAllStages);

constexpr std::string_view to_string(Stage s) {
  switch (s) {
    case Stage::monitor: return "monitor";
    case Stage::analyze: return "analyze";
    case Stage::review: return "review";
    case Stage::plan: return "plan";
    case Stage::prepare: return "prepare";
    case Stage::commit: return "commit";
    case Stage::apply: return "apply";
    case Stage::record: return "record";
  }
  return "unknown";
}

struct TickInfo {
  std::uint64_t seq = 0;            // from 0
  std::uint64_t snapshot_version = 0;
  TimeNs ts_ns = 0;                 // loop clock
  TimeNs wall_ns = 0;               // Unix time
  TimeNs duration_ns = 0;           // the whole tick
  std::array<TimeNs, kStageCount> stage_ns{};  // by kAllStages order
  bool overran = false;             // took longer than the tick interval
  std::size_t symptom_events = 0, actions = 0, outcomes = 0;
};

// Per-stage timing since start, for /v1/state and /metrics.
struct StageStats {
  std::uint64_t count = 0;
  TimeNs last_ns = 0, max_ns = 0, total_ns = 0;
  // Log2 buckets of microseconds: bucket i counts durations in [2^i, 2^(i+1)) us
  // (bucket 0 also takes anything under 1 us).
  std::array<std::uint64_t, 32> log2_us{};
};

struct InterfaceState {
  std::string key;  // as configured ("eth0", "veth1@ns")
  AttachMode mode = AttachMode::none;        // attached as now
  AttachMode wanted = AttachMode::none;      // what the loop wants (desired state, or the load mode)
  bool present = false, up = false;
  bool healthy = false;                      // attached in the wanted mode, no attach errors, probe fine
  std::string problem;                       // why not healthy, with the fix
};

// An action with the latest thing known about it.
struct ActionView {
  Action action;
  std::string plan_id;
  TimeNs planned_ns = 0;
  std::optional<Outcome> outcome;  // latest outcome (none yet: pending)
};

// A sampled packet the guard judged (from its events ring buffer).
struct FlowSample {
  DropSample sample;
  TimeNs seen_ns = 0;  // loop clock
};

struct OverrideView {
  Override override_;
  bool matched = false;  // has changed or held back a decision at least once
};

// Counts since the daemon started, for the /metrics counters (the lists in
// LoopView are bounded, so they cannot be counted after the fact).
struct LoopCounters {
  std::uint64_t plans = 0;
  std::map<std::pair<SymptomKind, SymptomTransition>, std::uint64_t> symptom_events;
  std::map<std::string, std::uint64_t> actions;  // planned, by action kind (plan::action_kind_name)
  std::map<std::pair<std::string, OutcomeStatus>, std::uint64_t> outcomes;  // by action kind and status
};

struct LoopView {
  LoopPhase phase = LoopPhase::starting;
  bool ready = false;  // every interface attached and the first tick ran
  std::optional<TickInfo> last_tick;
  std::uint64_t ticks = 0, overruns = 0;
  std::array<StageStats, kStageCount> stages{};
  TimeNs tick_interval_ns = 0;
  TimeNs now_ns = 0;     // loop clock when the view was made: remaining TTL = expires_ns - now_ns
  // Observation, active symptoms, overrides, and the desired state (reflex's
  // rules and shapes in force: there may be 100k+, so answers page them).
  // Null before the first tick.
  SnapshotPtr snapshot;
  std::vector<InterfaceState> interfaces;
  std::vector<OverrideView> overrides;  // in force
  std::uint64_t policy_generation = 0;
  // Recent history kept in memory (newest last; bounded), for the /v1 lists;
  // the store has the rest (/v1/history).
  std::deque<SymptomEvent> symptom_events;
  std::deque<Plan> plans;
  std::deque<ActionView> actions;
  std::deque<FlowSample> flows;
  StoreHealth store;
  std::string store_path;  // "" when no store is kept
  LoopCounters counters;
};

using LoopViewPtr = std::shared_ptr<const LoopView>;

// An operator's request, as the API received it (validated by the loop).
struct OverrideRequest {
  Override override_;  // id empty: the loop assigns one
  // When set and override_.expires_ns is 0, the loop sets expires_ns (and a
  // pin's or manual action's ttl) from its own clock: now + ttl_ns. The API
  // cannot read the loop's clock, only the last view's.
  TimeNs ttl_ns = 0;
};

class LoopApi {
 public:
  virtual ~LoopApi() = default;
  // The view as of the last tick. Never null (before the first tick: phase starting, no snapshot).
  virtual LoopViewPtr view() const = 0;
  // Validates (an expiry is required; the subject must parse; a manual action must be
  // one the loop can apply), records, and applies from the next tick. Returns the override
  // as stored (with its id).
  virtual Result<Override> add_override(OverrideRequest req) = 0;
  // Removes an override; `who` is recorded.
  virtual Status remove_override(const std::string& id, const std::string& who) = 0;
  // The store's history; null when no store is kept.
  virtual const History* history() const = 0;
};

}  // namespace reflex::daemon
