#pragma once
// Policy guardrails applied to one action a rule asks for: they narrow, raise
// or convert it, or drop it, and say which guardrail did what so the action's
// rationale explains the difference between what the rule wanted and what runs.

#include "knowledge/action.h"
#include "plan/planner.h"
#include "plan/policy.h"

#include <optional>
#include <string>
#include <vector>

namespace reflex::plan {

struct GuardInput {
  const Guardrails& g;
  const TrafficView& traffic;
  // The symptom's own prefix: narrowing falls back to it (it is what the
  // evidence is about), never to an arbitrary part of a wider prefix.
  std::optional<Prefix> origin;
};

// Returns false if the action must not run at all; appends one line per
// guardrail that changed or dropped it.
bool apply_guardrails(ActionSpec& spec, const GuardInput& in, std::vector<std::string>& applied);

}  // namespace reflex::plan
