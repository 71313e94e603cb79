#pragma once
// Names, target keys and one-line descriptions of actions: the vocabulary shared
// by the planner's notes, `reflexd test-policy` diffs and golden files, so the
// same action always reads the same way.

#include "knowledge/action.h"

#include <string>
#include <string_view>

namespace reflex::plan {

// block, shadow, rate_limit, unblock, shape, attach_mode, swap_program, alert.
std::string_view action_kind_name(const ActionSpec& spec);

// What in the datapath an action sets: two actions with one key replace each
// other ("prefix:eth0:198.51.100.0/24", "shape:eth0", "attach:eth0", ...).
std::string target_key(const ActionSpec& spec);

// The prefix an action touches, if any.
std::optional<Prefix> target_prefix(const ActionSpec& spec);
std::string target_iface(const ActionSpec& spec);

// "rate_limit iface=eth0 prefix=198.51.100.7 pps=1000"
std::string describe(const ActionSpec& spec);
// describe() plus ttl, dry_run, rule and decision: one line per action in a plan.
std::string describe(const Action& action);

std::string describe(const Subject& subject);

// The interface whose guard rule table a map is, by the Monitor's name for
// it ("eth0/rules" -> "eth0", "veth1@ns2/rules" -> "veth1@ns2"); "" otherwise.
std::string rules_map_iface(const std::string& map);
std::string l4_text(const L4Match& l4);

}  // namespace reflex::plan
