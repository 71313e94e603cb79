#pragma once
// Policy unit tests in YAML, in the spirit of `promtool test rules`: a timed
// series of symptoms (and traffic, overrides, outcomes) goes in, the expected
// actions at given times come out. `reflexd test-policy` and the golden tests
// run them; docs/policies.md documents the format.

#include "knowledge/action.h"
#include "plan/diagnostic.h"
#include "plan/planner.h"
#include "plan/policy.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace reflex::plan {

struct TimedSymptom {
  Symptom symptom;                 // since_ns/ts_ns filled per tick
  std::vector<TimeNs> at;          // present exactly at these times, or
  TimeNs from = 0;
  std::optional<TimeNs> until;     // [from, until); open-ended if unset
  TimeNs flap_on = 0, flap_off = 0;  // when both set: on for flap_on, off for flap_off, repeating
  std::optional<TimeNs> since;     // Symptom::since_ns to report (else: unset)
  bool active_at(TimeNs t) const;
};

struct TimedOutcome {
  TimeNs at = 0;
  std::string kind;                // action kind to charge (block, rate_limit, ...)
  std::optional<Prefix> prefix;
  std::string iface;
  OutcomeStatus status = OutcomeStatus::failed;
};

struct TimedOverride {
  Override ov;  // created_ns/expires_ns are the window
};

// Fields left unset are not compared.
struct ExpectedAction {
  std::string kind;
  std::optional<std::string> iface, rule, decision, mode, program, message_contains, guardrail_contains;
  std::optional<Prefix> prefix;
  std::optional<std::uint64_t> pps, burst, rate_bps;
  std::optional<std::uint8_t> proto;
  std::optional<std::uint16_t> port;
  std::optional<bool> dry_run;
  std::optional<TimeNs> ttl;
  bool matches(const Action& a) const;
  std::string describe() const;
};

struct Expectation {
  TimeNs at = 0;
  std::vector<ExpectedAction> actions;
  std::vector<std::string> notes_contain;
  SourceLoc loc;
};

struct PolicyTestCase {
  std::string name;
  SourceLoc loc;
  TimeNs interval = 5 * kNsPerSec;
  std::optional<TimeNs> duration;
  bool strict = true;  // a tick with actions and no expectation fails
  TrafficView traffic;
  std::vector<TimedSymptom> symptoms;
  std::vector<TimedOverride> overrides;
  std::vector<TimedOutcome> outcomes;
  std::vector<Expectation> expect;
  TimeNs end() const;
};

struct PolicyTestFile {
  std::string file;
  std::vector<std::filesystem::path> policy_paths;  // resolved against the test file's folder
  std::vector<PolicyTestCase> tests;
};

struct ParsedTestFile {
  std::optional<PolicyTestFile> file;
  std::vector<Diagnostic> diagnostics;
};

ParsedTestFile parse_policy_test(const std::string& text, const std::string& file_name,
                                 const std::filesystem::path& base_dir);
ParsedTestFile read_policy_test(const std::filesystem::path& path);

// One planner tick of a simulation.
struct TickResult {
  TimeNs t = 0;
  Plan plan;
};

// Runs the case through a fresh planner; deterministic. `between_ticks`, if
// set, sees the planner after every tick (a test may save and restore it).
std::vector<TickResult> simulate(const PolicySet& policy, const PolicyTestCase& tc,
                                 const std::function<void(Planner&)>& between_ticks = {});

struct CaseResult {
  std::string name;
  SourceLoc loc;
  bool passed = true;
  std::vector<std::string> report;  // readable diff lines when failed
};

CaseResult check_case(const PolicySet& policy, const PolicyTestCase& tc);

// A timeline of every non-empty plan, one action per line: the golden format.
std::string render_timeline(const std::vector<TickResult>& ticks, bool with_notes);

struct TestFileRun {
  std::string file;
  std::vector<Diagnostic> diagnostics;  // test file or policy errors: the file fails
  std::vector<CaseResult> cases;
  bool passed() const;
};

TestFileRun run_policy_test_file(const std::filesystem::path& path);

}  // namespace reflex::plan
