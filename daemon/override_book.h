#pragma once
// The operator's overrides in force: validated when they arrive, expired by
// the loop's clock, and followed through the plans so an override that never
// matched anything can be reported as such. Pure: time is an argument.

#include "common/result.h"
#include "knowledge/action.h"
#include "knowledge/recorder.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reflex::plan {
struct Guardrails;
}

namespace reflex::daemon {

// An operator's list (a manual RuleBatch that blocks) meets the local
// guardrails whole: a prefix wider than max_block_prefix or touching a
// never_block range refuses the request, naming the first such entry by its
// index and value (nothing is applied). A single manual block is the
// operator's to take (the planner notes the risk); a list of thousands is
// checked because nobody reads it line by line. Removals and shadows drop
// nothing and pass.
Status check_batch_guardrails(const Override& o, const plan::Guardrails& g);

// What removing an override leaves to undo: for a manual RuleBatch that put
// rules in, a manual override holding its remove form (the same prefixes,
// interface and L4 match) for `ttl`, so DELETE takes the whole batch out of
// the datapath on the next tick. Nothing for any other override.
std::optional<Override> undo_of(const Override& removed, const std::string& who, TimeNs now, TimeNs ttl);

class OverrideBook {
 public:
  // Checks and stores an override; assigns an id when it has none. Refused:
  // no expiry, an expiry in the past, a forbid with an unknown action kind, a
  // pin or manual override without an action or with one that cannot be
  // applied (a block without a prefix, a shape without a rate, ...), an id
  // already in use. The error says what to send instead.
  Result<Override> add(Override o, TimeNs now);
  // The removed override, or an error naming the id when there is none.
  Result<Override> remove(const std::string& id);
  // Drops what expired at `now` and returns it (for the record).
  std::vector<Override> expire(TimeNs now);

  // In force now, in id order (the planner's input).
  std::vector<Override> in_force() const;
  bool matched(const std::string& id) const;
  // Marks the overrides a plan acted on or was held back by.
  void note_plan(const Plan& plan);
  bool paused() const;
  std::size_t size() const { return book_.size(); }

 private:
  struct Entry {
    Override o;
    bool matched = false;
  };
  std::map<std::string, Entry> book_;
  std::uint64_t next_id_ = 1;
};

}  // namespace reflex::daemon
