// store_bench: the Knowledge store's figures, each beside an anchor measured
// in the same run on the same filesystem:
//   write  decisions/s committed (synchronous FULL and NORMAL) and
//          observations/s written (4 interfaces, busy and quiet ticks);
//          anchors: raw fdatasync/s, bare SQLite one-row transactions/s
//   query  "the last hour of actions" with 1M records in the store (first
//          page, and every page), and other history queries
//   size   database bytes per day at a 1 s tick on 4 interfaces, from two
//          measured hours of synthetic ticks (quiet and busy)
//   open   open + state load after a crash (WAL left behind) with 1M records
//          and a desired state of 100k rules
// Figures are best (and median) of N on a shared host: say so when quoting.
// `--quick` runs small sizes (the test suite runs it so the code stays alive).

#include "bench/knowledge/anchors.h"
#include "bench/monitor/bench_util.h"
#include "common/log.h"
#include "knowledge/json/desired_state_json.h"
#include "knowledge/json/observation_json.h"
#include "knowledge/json/planner_state_json.h"
#include "knowledge/json/text.h"
#include "knowledge/store/clock_rebase.h"
#include "knowledge/store/sqlite_store.h"
#include "tests/unit/knowledge/samples.h"

#include <CLI/CLI.hpp>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace reflex::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class ManualWall final : public reflex::Clock {
 public:
  explicit ManualWall(TimeNs t) : t_(t) {}
  TimeNs now_ns() const override { return t_; }
  void advance(TimeNs d) { t_ += d; }

 private:
  TimeNs t_;
};

constexpr TimeNs kStart = 1'740'798'000LL * kNsPerSec;  // an hour boundary

struct Options {
  std::string dir = "/var/tmp/reflex-store-bench";
  double seconds = 3;
  std::size_t rows = 1'000'000;
  std::size_t rules = 100'000;
  double hours = 2;
  int runs = 20;
  bool quick = false;
  bool keep = false;  // keep the filled database and reuse it next time
};

void remove_db(const std::string& path) {
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(path + s);
}

std::uint64_t db_bytes(const std::string& path) {
  std::error_code ec;
  std::uint64_t n = fs::file_size(path, ec);
  if (ec) n = 0;
  auto w = fs::file_size(path + "-wal", ec);
  return n + (ec ? 0 : w);
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::unique_ptr<store::SqliteStore> open_store(const std::string& path, const store::StoreOptions& o,
                                               const reflex::Clock* wall = nullptr) {
  auto r = store::SqliteStore::open(path, o, wall);
  if (!r) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), r.error().message().c_str());
    std::exit(1);
  }
  return std::move(r->store);
}

// ---- write ----

double decisions_per_s(const std::string& dir, store::StoreOptions::Sync sync, std::size_t actions, double seconds) {
  const std::string path = dir + "/write.db";
  remove_db(path);
  store::StoreOptions o;
  o.synchronous = sync;
  auto s = open_store(path, o);
  long n = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    auto d = testing::synthetic_decisions(static_cast<std::uint64_t>(n), n * kNsPerSec, actions);
    if (!s->commit_decisions(d.decisions())) break;
    ++n;
  }
  const double rate = static_cast<double>(n) / seconds_since(t0);
  s.reset();
  remove_db(path);
  return rate;
}

double observations_per_s(const std::string& dir, bool busy, double seconds, std::size_t* json_bytes) {
  const std::string path = dir + "/obs.db";
  remove_db(path);
  auto s = open_store(path, {});
  // Built outside the timed loop, as the Monitor hands them over.
  std::vector<Observation> ticks;
  for (std::uint64_t i = 0; i < 64; ++i) ticks.push_back(testing::synthetic_tick(i, static_cast<TimeNs>(i), 4, busy));
  *json_bytes = to_text(to_json(ticks[1])).size();
  long n = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    s->record_observation(ticks[static_cast<std::size_t>(n) % ticks.size()]);
    if (++n % 10 == 0)
      if (!s->flush()) break;
  }
  (void)s->flush();
  const double rate = static_cast<double>(n) / seconds_since(t0);
  s.reset();
  remove_db(path);
  return rate;
}

void run_write(const Options& o) {
  std::printf("\n== write (%s) ==\n", o.dir.c_str());
  const double anchor_fsync = fsync_rate(o.dir, o.seconds / 2);
  std::printf("anchor: fdatasync of 4 KiB               %10.0f /s\n", anchor_fsync);
  for (bool full : {true, false}) {
    const char* name = full ? "FULL  " : "NORMAL";
    double raw = sqlite_txn_rate(o.dir, full, o.seconds);
    double d1 = decisions_per_s(o.dir, full ? store::StoreOptions::Sync::full : store::StoreOptions::Sync::normal, 1,
                                o.seconds);
    double d10 = decisions_per_s(o.dir, full ? store::StoreOptions::Sync::full : store::StoreOptions::Sync::normal, 10,
                                 o.seconds);
    std::printf("%s anchor: bare SQLite 1-row txns     %10.0f /s\n", name, raw);
    std::printf("%s commits of 1 action (3 records)    %10.0f /s  (%.2fx the anchor)\n", name, d1, d1 / raw);
    std::printf("%s commits of 10 actions (21 records) %10.0f /s  (%.0f actions/s)\n", name, d10, d10 * 10);
  }
  for (bool busy : {false, true}) {
    std::size_t bytes = 0;
    double r = observations_per_s(o.dir, busy, o.seconds, &bytes);
    std::printf("observations, 4 interfaces, %s (%5.1f KB JSON), batches of 10: %8.0f /s\n",
                busy ? "busy " : "quiet", static_cast<double>(bytes) / 1024, r);
  }
}

// ---- the big database ----

// `rows` records over 10 days of wall time, as a node under steady attack
// makes them: per batch a plan of 8 actions with their outcomes, 8 symptom
// transitions and 2 loop events (27 records).
void fill(const std::string& path, std::size_t rows) {
  remove_db(path);
  ManualWall wall(kStart);
  store::StoreOptions o;
  o.synchronous = store::StoreOptions::Sync::normal;  // the fill is not what is measured
  o.batch_rows = 100'000;
  o.maintenance_every_ns = 3600 * kNsPerSec;
  auto s = open_store(path, o, &wall);
  const std::size_t per_batch = 27;
  const std::size_t batches = std::max<std::size_t>(1, rows / per_batch);
  const TimeNs step = 10 * 24 * 3600 * kNsPerSec / static_cast<TimeNs>(batches);
  testing::RandomValues rv(1);
  std::vector<SymptomEvent> events(8);
  for (std::size_t b = 0; b < batches; ++b) {
    const TimeNs ts = static_cast<TimeNs>(b) * step;
    for (auto& e : events) {
      e = rv.symptom_event();
      e.symptom.subject.iface = "eth" + std::to_string(rv.below(4));
    }
    s->record_symptoms(events);
    s->record_event(LoopEvent{RecordKind::attach, ts, "eth" + std::to_string(b % 4), "attach mode native", {}});
    s->record_event(LoopEvent{RecordKind::policy, ts, "/etc/reflex/policies", "policy set loaded", {}});
    auto d = testing::synthetic_decisions(b, ts, 8);
    if (auto c = s->commit_decisions(d.decisions()); !c) {
      std::fprintf(stderr, "fill: %s\n", c.error().message().c_str());
      std::exit(1);
    }
    wall.advance(step);
  }
  (void)s->flush();
}

TimeNs fill_end(std::size_t rows) {
  (void)rows;
  return kStart + 10 * 24 * 3600 * kNsPerSec;
}

struct Timing {
  double best = 0, median = 0;
  std::size_t records = 0;
};

template <class F>
Timing time_runs(int runs, F&& f) {
  std::vector<double> t;
  Timing out;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    out.records = f();
    t.push_back(ms(Clock::now() - t0));
  }
  out.best = *std::min_element(t.begin(), t.end());
  out.median = percentile(t, 0.5);
  return out;
}

std::size_t count_pages(const store::SqliteStore& s, RecordQuery q) {
  std::size_t n = 0;
  for (;;) {
    auto page = s.query(q);
    if (!page) {
      std::fprintf(stderr, "query: %s\n", page.error().message().c_str());
      std::exit(1);
    }
    n += page->records.size();
    if (!page->next) return n;
    q.before_id = page->next;
  }
}

void run_query(const Options& o, const std::string& path) {
  std::printf("\n== query (%zu records over 10 days; warm page cache) ==\n", o.rows);
  ManualWall wall(fill_end(o.rows));
  store::StoreOptions so;
  auto s = open_store(path, so, &wall);
  const TimeNs hour_ago = fill_end(o.rows) - 3600 * kNsPerSec;
  sqlite3* raw = nullptr;
  sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  auto anchor = time_runs(o.runs, [&] {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, "SELECT count(*) FROM records WHERE kind = 'action' AND wall_ns >= ?", -1, &st, nullptr);
    sqlite3_bind_int64(st, 1, hour_ago);
    sqlite3_step(st);
    auto n = static_cast<std::size_t>(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    return n;
  });
  sqlite3_close(raw);
  std::printf("anchor: bare SQLite count(*) of the hour's actions   best %7.2f ms  median %7.2f ms  (%zu)\n",
              anchor.best, anchor.median, anchor.records);
  struct Case {
    const char* name;
    RecordQuery q;
    bool all_pages;
  };
  RecordQuery actions;
  actions.kinds = {RecordKind::action};
  actions.since_wall_ns = hour_ago;
  RecordQuery every_kind;
  every_kind.since_wall_ns = hour_ago;
  RecordQuery eth0 = every_kind;
  eth0.subject = "eth0*";
  RecordQuery old_day = actions;  // a day in the middle of the record
  old_day.since_wall_ns = kStart + 4 * 24 * 3600 * kNsPerSec;
  old_day.until_wall_ns = *old_day.since_wall_ns + 3600 * kNsPerSec;
  RecordQuery thousand = actions;
  thousand.limit = 1000;
  const Case cases[] = {
      {"last hour of actions, first page (100)", actions, false},
      {"last hour of actions, first page (1000)", thousand, false},
      {"last hour of actions, every page of 100", actions, true},
      {"last hour, every kind, first page", every_kind, false},
      {"last hour, subject eth0*, first page", eth0, false},
      {"an hour 6 days ago, actions, first page", old_day, false},
  };
  for (const auto& c : cases) {
    auto t = time_runs(o.runs, [&] {
      if (c.all_pages) return count_pages(*s, c.q);
      return s->query(c.q).value().records.size();
    });
    std::printf("%-42s best %7.2f ms  median %7.2f ms  (%zu records)\n", c.name, t.best, t.median, t.records);
  }
}

// ---- size per day ----

void run_size(const Options& o) {
  std::printf("\n== size per day: 1 s ticks on 4 interfaces, %.1f simulated hours each ==\n", o.hours);
  for (bool busy : {false, true}) {
    const std::string path = o.dir + "/size.db";
    remove_db(path);
    ManualWall wall(kStart);
    store::StoreOptions so;
    so.synchronous = store::StoreOptions::Sync::normal;
    auto s = open_store(path, so, &wall);
    std::vector<Observation> ticks;
    for (std::uint64_t i = 0; i < 60; ++i) ticks.push_back(testing::synthetic_tick(i, 0, 4, busy));
    const auto total = static_cast<std::uint64_t>(o.hours * 3600);
    const std::uint64_t half = total / 2;
    std::uint64_t used_half = 0;
    sqlite3* raw = nullptr;
    auto used = [&] {
      // Pages in use (the file keeps its high-water mark until vacuumed).
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(raw, "SELECT (SELECT page_count FROM pragma_page_count) - (SELECT freelist_count FROM "
                              "pragma_freelist_count)", -1, &st, nullptr);
      sqlite3_step(st);
      auto pages = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
      sqlite3_finalize(st);
      sqlite3_close(raw);
      return pages * 4096;
    };
    for (std::uint64_t t = 0; t < total; ++t) {
      Observation obs = ticks[t % ticks.size()];
      obs.seq = t;
      obs.ts_ns = static_cast<TimeNs>(t) * kNsPerSec;
      s->record_observation(obs);
      (void)s->flush();  // the loop's flush timer, at the tick
      wall.advance(kNsPerSec);
      if (t + 1 == half) {
        (void)s->maintain();
        used_half = used();
      }
    }
    (void)s->maintain();
    const std::uint64_t used_end = used();
    const double hours = static_cast<double>(total - half) / 3600;
    const double per_day = static_cast<double>(used_end - used_half) / hours * 24;
    auto minutes = s->rollups(60, 0, wall.now_ns()).value();
    double minute_bytes = 0;
    for (const auto& m : minutes) minute_bytes += static_cast<double>(to_text(m).size());
    std::printf("%s tick (%5.1f KB JSON): %.0f MB in use after %.1f h (30 min of raw ticks), growing %.2f MB/day "
                "(roll-ups: %.1f KB a minute)\n",
                busy ? "busy " : "quiet", static_cast<double>(to_text(to_json(ticks[1])).size()) / 1024,
                static_cast<double>(used_end) / 1e6, o.hours, per_day / 1e6,
                minutes.empty() ? 0 : minute_bytes / static_cast<double>(minutes.size()) / 1024);
    s.reset();
    remove_db(path);
  }
}

// ---- open after a crash ----

// A daemon that saved its state and was killed: the state sits in the WAL.
void crash_with_state(const std::string& path, std::size_t rules) {
  pid_t pid = ::fork();
  if (pid == 0) {
    store::StoreOptions so;
    so.check_on_open = store::StoreOptions::OpenCheck::light;
    auto s = open_store(path, so);
    testing::RandomValues rv(2);
    Decisions d;
    d.ts_ns = 5000 * kNsPerSec;
    d.desired_state = to_json(testing::synthetic_desired_state(rules, 4, 5000 * kNsPerSec));
    PlannerState ps;
    for (int i = 0; i < 200; ++i) ps.tracks["rule|eth0 10.0." + std::to_string(i) + ".0/24"] = rv.track();
    d.planner_state = to_json(ps);
    if (!s->commit_decisions(d)) ::_exit(2);
    ::raise(SIGKILL);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status)) {
    std::fprintf(stderr, "open: the state writer failed\n");
    std::exit(1);
  }
}

void run_open(const Options& o, const std::string& filled) {
  std::printf("\n== open + state load after a crash (%zu records, desired state of %zu rules; warm page cache) ==\n",
              o.rows, o.rules);
  const std::string crashed = o.dir + "/crashed.db";
  remove_db(crashed);
  fs::copy_file(filled, crashed);
  struct Phases {
    std::vector<double> open, load, decode, total;
  } with_check, without_check;
  std::size_t rules = 0;
  const int runs = std::max(2, std::min(o.runs, 6));
  for (int i = 0; i < runs; ++i) {
    const bool check = i % 2 == 0;  // interleaved, so both see the same host
    crash_with_state(crashed, o.rules);
    if (i == 0)
      std::printf("crashed database: %.0f MB + %.0f MB of WAL\n", static_cast<double>(fs::file_size(crashed)) / 1e6,
                  static_cast<double>(fs::file_size(crashed + "-wal")) / 1e6);
    ::sync();  // what the writer left dirty is not the reader's to wait for
    store::StoreOptions so;
    so.check_on_open = check ? store::StoreOptions::OpenCheck::full : store::StoreOptions::OpenCheck::light;
    auto t0 = Clock::now();
    auto s = open_store(crashed, so);
    auto t1 = Clock::now();
    auto saved = s->load_state("desired").value().value();
    auto planner = s->load_state("planner").value().value();
    auto t2 = Clock::now();
    store::ClockPair now{10 * kNsPerSec, saved.saved.wall_ns + 30 * kNsPerSec};
    DesiredState desired = store::rebase(from_json<DesiredState>(saved.value).value(), saved.saved, now);
    PlannerState ps = store::rebase(from_json<PlannerState>(planner.value).value(), planner.saved, now);
    auto t3 = Clock::now();
    rules = 0;
    for (const auto& [n, i2] : desired.ifaces) rules += i2.rules.size();
    Phases& p = check ? with_check : without_check;
    p.open.push_back(ms(t1 - t0));
    p.load.push_back(ms(t2 - t1));
    p.decode.push_back(ms(t3 - t2));
    p.total.push_back(ms(t3 - t0));
    (void)ps;
  }
  for (bool check : {true, false}) {
    const Phases& p = check ? with_check : without_check;
    auto best = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
    std::printf("%s: open %7.1f ms, read state %6.1f ms, decode + rebase %6.1f ms; total best %7.1f ms, median "
                "%7.1f ms (%zu rules kept)\n",
                check ? "full check (every page)" : "light check (default) ", best(p.open), best(p.load), best(p.decode),
                best(p.total), percentile(p.total, 0.5), rules);
  }
  remove_db(crashed);
}

}  // namespace
}  // namespace reflex::bench

int main(int argc, char** argv) {
  using namespace reflex::bench;
  CLI::App app{"store_bench: the Knowledge store's benchmarks"};
  Options o;
  std::vector<std::string> which;
  app.add_flag("--quick", o.quick, "small sizes, a few seconds in all");
  app.add_option("--dir", o.dir, "where the databases go (a real disk)")->capture_default_str();
  app.add_option("--seconds", o.seconds, "write: seconds per figure")->capture_default_str();
  app.add_option("--rows", o.rows, "query/open: records in the store")->capture_default_str();
  app.add_option("--rules", o.rules, "open: rules in the desired state")->capture_default_str();
  app.add_option("--hours", o.hours, "size: simulated hours of ticks")->capture_default_str();
  app.add_option("--runs", o.runs, "runs per timed query (best and median)")->capture_default_str();
  app.add_flag("--keep", o.keep, "keep the 1M-record database in --dir and reuse it");
  app.add_option("which", which, "write, query, size, open (default: all)");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  reflex::init_logging("warn");
  if (o.quick) {
    o.seconds = 0.3;
    o.rows = 20'000;
    o.rules = 2'000;
    o.hours = 0.2;
    o.runs = 3;
    if (o.dir == "/var/tmp/reflex-store-bench") o.dir = "/var/tmp/reflex-store-bench-quick-" + std::to_string(::getpid());
  }
  std::filesystem::create_directories(o.dir);
  auto want = [&](const std::string& w) {
    return which.empty() || std::find(which.begin(), which.end(), w) != which.end();
  };
  if (want("write")) run_write(o);
  const std::string filled = o.dir + "/filled.db";
  if ((want("query") || want("open")) && !(o.keep && std::filesystem::exists(filled))) {
    auto t0 = std::chrono::steady_clock::now();
    fill(filled, o.rows);
    std::printf("\n(filled %zu records in %.0f s: %.0f MB)\n", o.rows, seconds_since(t0),
                static_cast<double>(db_bytes(filled)) / 1e6);
  }
  if (want("query")) run_query(o, filled);
  if (want("open")) run_open(o, filled);
  if (want("size")) run_size(o);
  if (!o.keep) remove_db(filled);
  if (o.quick) std::filesystem::remove_all(o.dir);
  std::printf("\nstore_bench: done\n");
  return 0;
}
