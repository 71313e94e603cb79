#pragma once
// Warnings for a policy set that loads but will not do what its author meant:
// rules that can never fire or never act, rules another rule shadows, rungs a
// guardrail will always trim. Warnings never reject a set.

#include "plan/diagnostic.h"
#include "plan/policy.h"

#include <vector>

namespace reflex::plan {

void lint(const PolicySet& set, std::vector<Diagnostic>& out);

}  // namespace reflex::plan
