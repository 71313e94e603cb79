#pragma once
// SqliteStore: Knowledge on disk. One SQLite database in WAL mode; the loop
// writes through Recorder, operators and the REST API read through History.
//
//  - commit_decisions writes the tick's decisions (with whatever stream
//    records were buffered before them, so ids follow arrival order) in one
//    transaction and returns once it committed;
//  - streams are buffered and written by flush(), or when a batch is full;
//  - flush() also runs the maintenance: 1-minute and 1-hour roll-ups of the
//    observations, retention, and the size bound (store_options.h);
//  - when the disk cannot be written (full, read-only, I/O errors) the store
//    is degraded: health() says why and what to do, everything is kept in
//    memory (bounded: observations dropped first, decisions never), and each
//    later commit or flush tries again; once a write works, what was held is
//    written in order. If the file cannot even be opened, the store starts
//    degraded and opens it when it can.
// Thread safety: every public method may be called from any thread (one lock).

#include <boost/json/value.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "knowledge/recorder.h"
#include "knowledge/store/clock_rebase.h"
#include "knowledge/store/pending.h"
#include "knowledge/store/sqlite_db.h"
#include "knowledge/store/store_options.h"

namespace reflex::store {

// What open() found and did, for the daemon to log (and record: event()).
struct OpenReport {
  std::string path;
  bool created = false;                           // there was no database: a new, empty record
  std::optional<std::string> moved_to;            // a damaged file was moved here; the record starts empty
  std::string damage;                             // what was wrong with it
  std::int64_t from_version = 0, to_version = 0;  // schema migrations run (equal: none)
  bool degraded = false;                          // could not open it yet: health().reason says why
  // One line for the log; empty when there is nothing to say.
  std::string notice() const;
  // A daemon record of the above.
  LoopEvent event(TimeNs ts_ns) const;
};

struct SavedState {
  boost::json::value value;
  ClockPair saved;              // loop and wall clock when it was saved
  std::uint64_t record_id = 0;  // the newest record then
};

class SqliteStore final : public Recorder, public History {
 public:
  struct Opened {
    std::unique_ptr<SqliteStore> store;
    OpenReport report;
  };
  // Opens or creates the database and brings its schema up to date. Errors:
  // a newer schema (refused, nothing changed), bad options, a path that can
  // never be a database. A damaged file is moved aside and the record starts
  // empty (the report says so); a disk that cannot be written gives a
  // degraded store that keeps trying.
  static Result<Opened> open(const std::string& path, const StoreOptions& options = {},
                             const Clock* wall_clock = nullptr);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Recorder
  Status commit_decisions(const Decisions& d) override;
  void record_observation(const Observation& obs) override;
  void record_symptoms(std::span<const SymptomEvent> events) override;
  void record_event(const LoopEvent& event) override;
  Status flush() override;
  StoreHealth health() const override;

  // History: newest first, ids as cursors; observations only when asked for.
  Result<RecordPage> query(const RecordQuery& q) const override;

  // The state a restarted daemon resumes from ("desired", "planner"), as last
  // committed; nullopt when none was ever saved.
  Result<std::optional<SavedState>> load_state(const std::string& key) const;

  // Roll-ups (resolution 60 or 3600 s) starting in [since, until), oldest first.
  Result<std::vector<boost::json::value>> rollups(std::int64_t resolution_s, TimeNs since_wall_ns,
                                                  TimeNs until_wall_ns, std::size_t limit = 1000) const;

  // Roll-ups, retention and the size bound now (flush() runs it when due).
  Status maintain();
  // Writes what is held; the store stays usable.
  Status close();

  const std::string& path() const { return path_; }
  const StoreOptions& options() const { return opt_; }

 private:
  struct Statements;
  SqliteStore(std::string path, const StoreOptions& o, const Clock* wall_clock);

  TimeNs wall_now() const;
  // Opens the connection if there is none (it could not be opened at start,
  // or an I/O failure closed it). Sets fatal_ for errors no retry can fix.
  Status open_connection(OpenReport& report) const;
  Status ensure_open() const;
  void close_connection() const;
  // Writes everything held, in one transaction. Called with mu_ held, as are
  // the rest below.
  Status write_pending(bool sync_full);
  Status maintain_locked();
  Status roll_up(std::int64_t resolution_s, const char* meta_key, TimeNs now);
  Status apply_retention(TimeNs now);
  Status enforce_size_bound();
  // Damage seen while running: leaves the marker for the next open.
  void mark_damaged() const;
  // A failed read: if it found damage, the store is degraded and marked.
  Error read_failed(const Error& e, std::string_view doing) const;
  // Degraded with the reason for failure_ and its fix.
  void degrade(const Error& e, std::string_view doing) const;
  void recovered();
  void refresh_bytes() const;
  Result<std::string> meta(const std::string& key) const;
  Status set_meta(const std::string& key, const std::string& value);

  const std::string path_;
  const StoreOptions opt_;
  const Clock* wall_clock_;

  mutable std::mutex mu_;
  mutable std::unique_ptr<SqliteDb> db_;
  mutable std::unique_ptr<Statements> st_;
  mutable PendingQueue pending_;
  mutable StoreHealth health_;
  mutable Failure failure_ = Failure::none;
  mutable bool fatal_ = false;
  std::uint64_t dropped_total_ = 0;
  TimeNs last_maintenance_ = 0;
  mutable std::uint64_t last_record_id_ = 0;
};

}  // namespace reflex::store
