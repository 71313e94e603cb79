#pragma once
// A LoopApi without a loop, for the REST routes' unit tests, the HTTP fuzzer
// and the API benchmark: the test sets the view it publishes, and overrides
// go through the real OverrideBook, so validation is the loop's own. History
// is kept in memory with the store's query rules (knowledge/recorder.h).
// The real loop is tested with a real reflexd (tests/e2e/api/).

#include "daemon/loop_api.h"
#include "daemon/override_book.h"

#include <mutex>
#include <string>
#include <vector>

namespace reflex::testing {

class FakeHistory final : public History {
 public:
  void add(Record r);  // ids increase in the order added
  Result<RecordPage> query(const RecordQuery& q) const override;
  std::size_t size() const { return records_.size(); }

  RecordQuery last_query;  // what the last query asked (mutable: query() is const)

 private:
  std::vector<Record> records_;
  mutable std::mutex mu_;
};

class FakeLoopApi final : public daemon::LoopApi {
 public:
  explicit FakeLoopApi(daemon::LoopView view = {});

  daemon::LoopViewPtr view() const override;
  Result<Override> add_override(daemon::OverrideRequest req) override;
  Status remove_override(const std::string& id, const std::string& who) override;
  const History* history() const override { return with_history_ ? &history_ : nullptr; }

  void publish(daemon::LoopView v);
  void set_history(bool on) { with_history_ = on; }
  FakeHistory& history_store() { return history_; }
  // Marks an override as having matched a decision (as a plan would).
  void mark_matched(const std::string& id);

  // What the API asked for, in order.
  std::vector<daemon::OverrideRequest> added;
  std::vector<std::pair<std::string, std::string>> removed;  // (id, who)

 private:
  void refresh_overrides_locked();
  mutable std::mutex mu_;
  daemon::LoopViewPtr view_;
  daemon::OverrideBook book_;
  std::vector<std::string> matched_;
  FakeHistory history_;
  bool with_history_ = true;
};

// A view as a running loop publishes it: two interfaces (one healthy in
// native mode, one degraded to generic), `rules` drop rules spread over them
// plus a rate limit and a shape, active symptoms and their events, a plan with
// two actions (one verified, one pending), sampled flows, stage timings,
// counters and a healthy store. Times: loop clock at `now_ns`, wall clock
// at `wall_ns`.
daemon::LoopView sample_view(std::size_t rules = 6, TimeNs now_ns = 1000 * kNsPerSec,
                             TimeNs wall_ns = 1'714'564'800LL * kNsPerSec);

// Records of every kind, one a second of wall time from `wall_ns` on.
void fill_history(FakeHistory& h, std::size_t n, TimeNs wall_ns = 1'714'564'800LL * kNsPerSec);

}  // namespace reflex::testing
