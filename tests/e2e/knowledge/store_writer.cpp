// store_writer DB TAG [normal|full]: commits a steady stream of decisions to
// the store at DB, as the loop would (observations and symptoms buffered,
// state blobs now and then), and prints each action's id on stdout once the
// commit that holds it has returned. The kill -9 test kills it at random
// points; whatever it printed must be in the record.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "knowledge/json/desired_state_json.h"
#include "knowledge/json/planner_state_json.h"
#include "knowledge/store/sqlite_store.h"
#include "tests/unit/knowledge/samples.h"

using namespace reflex;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: store_writer DB TAG [normal|full]\n");
    return 2;
  }
  store::StoreOptions o;
  if (argc > 3)
    o.synchronous = std::string(argv[3]) == "normal" ? store::StoreOptions::Sync::normal
                                                     : store::StoreOptions::Sync::full;
  o.maintenance_every_ns = kNsPerSec / 2;
  auto opened = store::SqliteStore::open(argv[1], o);
  if (!opened) {
    std::fprintf(stderr, "store_writer: %s\n", opened.error().message().c_str());
    return 3;
  }
  auto& s = *opened->store;
  if (!opened->report.notice().empty())
    std::fprintf(stderr, "store_writer: %s\n", opened->report.notice().c_str());
  const std::string tag = argv[2];
  testing::RandomValues rv(static_cast<std::uint64_t>(::getpid()));
  for (std::uint64_t i = 0;; ++i) {
    const TimeNs ts = static_cast<TimeNs>(i) * 100 * kNsPerMs;
    s.record_observation(testing::synthetic_tick(i, ts, 2, i % 20 == 0));
    SymptomEvent ev = rv.symptom_event();
    s.record_symptoms(std::span(&ev, 1));
    auto d = testing::synthetic_decisions(i, ts, 1 + i % 3);
    d.plan.id = tag + "-p" + std::to_string(i);
    for (std::size_t n = 0; n < d.intents.size(); ++n) {
      const std::string id = d.plan.id + "-a" + std::to_string(n);
      d.plan.actions[n].id = d.intents[n].action.id = d.outcomes[n].action_id = id;
    }
    Decisions dec = d.decisions();
    if (i % 10 == 0) {
      dec.desired_state = to_json(testing::synthetic_desired_state(100 + i, 2, ts + 600 * kNsPerSec));
      dec.planner_state = to_json(rv.planner_state());
    }
    if (auto c = s.commit_decisions(dec); !c) {
      std::fprintf(stderr, "store_writer: commit: %s\n", c.error().message().c_str());
      return 4;
    }
    std::string line;
    for (const auto& in : d.intents) line += in.action.id + "\n";
    // One write per commit: a pipe write this small is atomic, so a kill
    // leaves whole lines.
    if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 5;
    if (i % 4 == 3)
      if (auto f = s.flush(); !f) {
        std::fprintf(stderr, "store_writer: flush: %s\n", f.error().message().c_str());
        return 6;
      }
  }
}
