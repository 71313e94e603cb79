#include "knowledge/store/sqlite_store.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "knowledge/json/recorder_json.h"
#include "knowledge/json/text.h"
#include "knowledge/store/db_file.h"
#include "knowledge/store/rollup.h"
#include "knowledge/store/schema.h"
#include "knowledge/store/sqlite_db.h"

namespace reflex::store {
namespace {

namespace json = boost::json;

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto x = spdlog::get("knowledge");
    if (!x) {
      x = spdlog::default_logger()->clone("knowledge");
      spdlog::register_logger(x);
    }
    return x;
  }();
  return *l;
}

TimeNs realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<TimeNs>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

Failure failure_of_errno(int err) {
  if (err == EROFS || err == EACCES || err == EPERM) return Failure::read_only;
  if (err == ENOSPC || err == EDQUOT) return Failure::full;
  return Failure::io;
}

// The operator's fix for each way a write can fail.
std::string fix_for(Failure f, const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  switch (f) {
    case Failure::full:
      return "free space on the filesystem of " + dir +
             " (or lower the store's size bound); writes resume by themselves";
    case Failure::read_only:
      return "make " + dir +
             " writable again (remount it read-write, fix its permissions); writes resume by themselves";
    case Failure::io:
      return "check the disk (dmesg); writes resume by themselves once it works";
    case Failure::corrupt:
      return "restart reflexd: it moves the damaged file aside and starts an empty record";
    case Failure::busy:
      return "another process holds " + path + ": is a second reflexd running?";
    case Failure::none:
    case Failure::other:
      break;
  }
  return "see the log of reflexd";
}

// SQLite says "unable to open database file" whatever the cause; the folder
// tells a read-only filesystem or missing permission from the rest.
Failure probe_folder(const std::string& path, Failure guess) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (::access(dir.c_str(), W_OK) != 0) return failure_of_errno(errno);
  return guess;
}

constexpr RecordKind kStreamKinds[] = {RecordKind::symptom, RecordKind::policy, RecordKind::attach,
                                       RecordKind::daemon, RecordKind::verdict};
constexpr RecordKind kDecisionKinds[] = {RecordKind::plan, RecordKind::action, RecordKind::outcome,
                                         RecordKind::override_};

std::string kinds_sql(std::span<const RecordKind> kinds) {
  std::string s;
  for (auto k : kinds) s += (s.empty() ? "'" : ",'") + std::string(to_string(k)) + "'";
  return s;
}

// Left beside a database the store found damaged while running, so the next
// open checks every page (and moves the file aside if the damage is real).
std::string damage_marker(const std::string& path) { return path + ".damaged"; }

// The part of the size bound the WAL may take.
std::uint64_t wal_budget(std::uint64_t max_bytes) {
  return std::min<std::uint64_t>(16u << 20, max_bytes / 8);
}

// The smallest string greater than every string starting with p ("" if none).
std::optional<std::string> prefix_upper_bound(std::string p) {
  while (!p.empty()) {
    auto c = static_cast<unsigned char>(p.back());
    if (c < 0xff) {
      p.back() = static_cast<char>(c + 1);
      return p;
    }
    p.pop_back();
  }
  return std::nullopt;
}

}  // namespace

struct SqliteStore::Statements {
  Statement insert_record, upsert_state, begin, commit, sync_full, sync_normal, get_meta, put_meta;
};

std::string OpenReport::notice() const {
  if (moved_to)
    return "the database " + path + " was damaged (" + damage + "): moved it aside to " + *moved_to +
           "; starting with an empty record";
  if (degraded) return "the database " + path + " cannot be opened yet; recording in memory until it can";
  if (created) return "created a new, empty database " + path;
  if (from_version != to_version)
    return "upgraded the database " + path + " from schema version " + std::to_string(from_version) + " to " +
           std::to_string(to_version);
  return {};
}

LoopEvent OpenReport::event(TimeNs ts_ns) const {
  LoopEvent e;
  e.kind = RecordKind::daemon;
  e.ts_ns = ts_ns;
  e.subject = path;
  e.summary = notice();
  json::object body{{"path", path},
                    {"created", created},
                    {"from_version", from_version},
                    {"to_version", to_version},
                    {"degraded", degraded}};
  if (moved_to) {
    body["moved_to"] = *moved_to;
    body["damage"] = damage;
  }
  e.body = std::move(body);
  return e;
}

SqliteStore::SqliteStore(std::string path, const StoreOptions& o, const Clock* wall_clock)
    : path_(std::move(path)), opt_(o), wall_clock_(wall_clock), pending_(o.max_pending_bytes) {}

SqliteStore::~SqliteStore() {
  auto s = close();
  if (!s) log().warn("store: closing {} with records still in memory: {}", path_, s.error().message());
}

TimeNs SqliteStore::wall_now() const { return wall_clock_ ? wall_clock_->now_ns() : realtime_ns(); }

Result<SqliteStore::Opened> SqliteStore::open(const std::string& path, const StoreOptions& options,
                                              const Clock* wall_clock) {
  if (auto why = validate(options); !why.empty())
    return make_error("store options: " + why, "fix the store settings in the daemon's configuration");
  if (path.empty())
    return make_error("no database path given", std::string("the default is ") + kDefaultPath);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return make_error("the database path " + path + " is a folder",
                      "name a file in it, e.g. " + path + "/reflex.db");
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options, wall_clock));
  OpenReport report;
  report.path = path;
  std::lock_guard lock(store->mu_);
  if (auto s = store->open_connection(report); !s) {
    if (store->fatal_) return s.error();
    report.degraded = true;
    store->degrade(s.error(), "open");
  }
  store->refresh_bytes();
  return Opened{std::move(store), std::move(report)};
}

Status SqliteStore::open_connection(OpenReport& report) const {
  fatal_ = false;
  auto fail = [&](Failure f, Error e) -> Status {
    failure_ = f;
    db_.reset();
    st_.reset();
    return e;
  };
  if (auto s = ensure_parent_dir(path_); !s) return fail(failure_of_errno(s.error().code), s.error());
  for (int attempt = 0;; ++attempt) {
    auto check = check_file(path_);
    if (!check) return fail(failure_of_errno(check.error().code), check.error());
    if (check->user_version > kSchemaVersion) {
      fatal_ = true;
      return fail(Failure::other, newer_schema_error(path_, check->user_version));
    }
    // Damage found by looking at the file, or by SQLite below: moved aside
    // once, then a new database in its place.
    auto move_damaged = [&](const std::string& damage) -> Status {
      db_.reset();
      st_.reset();
      auto moved = move_aside(path_, wall_now());
      if (!moved) return fail(failure_of_errno(moved.error().code), moved.error());
      std::error_code ec;
      std::filesystem::remove(damage_marker(path_), ec);
      log().error("store: the database {} is damaged ({}); moved it aside to {}, starting an empty record",
                  path_, damage, *moved);
      report.moved_to = *moved;
      report.damage = damage;
      return ok();
    };
    if (!check->damage.empty()) {
      if (attempt > 0)
        return fail(Failure::corrupt, make_error("the database " + path_ + " is damaged: " + check->damage));
      if (auto s = move_damaged(check->damage); !s) return s;
      continue;
    }
    const bool fresh = !check->exists || check->size == 0;
    auto db = SqliteDb::open(path_, true);
    if (!db) return fail(probe_folder(path_, classify(db.error().code, 0)), db.error());
    db_ = std::move(*db);
    sqlite3_busy_timeout(db_->handle(), opt_.busy_timeout_ms);

    // What SQLite finds when it reads the schema and (if asked) every page.
    std::string damage;
    auto version = db_->query_int("PRAGMA user_version");
    if (!version) {
      if (db_->last_failure() != Failure::corrupt) return fail(db_->last_failure(), version.error());
      damage = version.error().what;
    } else if (*version > kSchemaVersion) {
      // A newer binary's database in a WAL it did not checkpoint: refuse,
      // and close without checkpointing so the file stays as it was.
      db_->no_checkpoint_on_close();
      fatal_ = true;
      return fail(Failure::other, newer_schema_error(path_, *version));
    } else if (!fresh) {
      const bool suspect = std::filesystem::exists(damage_marker(path_));
      std::vector<std::string> checks;
      if (opt_.check_on_open == StoreOptions::OpenCheck::full || suspect)
        checks = {"PRAGMA quick_check(1)"};
      else if (*version > 0)
        checks = {"PRAGMA quick_check(state)", "PRAGMA quick_check(meta)"};
      for (const auto& sql : checks) {
        auto check_result = db_->query_text(sql);
        if (!check_result) {
          if (db_->last_failure() != Failure::corrupt) return fail(db_->last_failure(), check_result.error());
          damage = check_result.error().what;
        } else if (*check_result != "ok") {
          damage = "integrity check: " + *check_result;
        }
        if (!damage.empty()) break;
      }
      if (suspect && damage.empty()) {
        log().info("store: {} passed a full check after damage was seen; keeping it", path_);
        std::filesystem::remove(damage_marker(path_));
      }
    }
    if (!damage.empty()) {
      if (attempt > 0)
        return fail(Failure::corrupt, make_error("the database " + path_ + " is damaged: " + damage));
      if (auto s = move_damaged(damage); !s) return s;
      continue;
    }
    report.created = report.created || fresh;
    break;
  }

  auto setup = [&]() -> Status {
    // Only a database without tables takes it: lets retention hand freed
    // pages back to the filesystem (PRAGMA incremental_vacuum).
    if (auto s = db_->exec("PRAGMA auto_vacuum = INCREMENTAL"); !s) return s;
    auto mode = db_->query_text("PRAGMA journal_mode = WAL");
    if (!mode) return mode.error();
    if (*mode != "wal")
      return make_error("the database " + path_ + " cannot use WAL mode (journal mode is " + *mode + ")",
                        "put it on a local filesystem");
    // The WAL's share of the size bound: checkpointed (and cut back) at it.
    const std::uint64_t wal_limit = wal_budget(opt_.retention.max_bytes);
    for (const std::string& p :
         {std::string("PRAGMA synchronous = NORMAL"), std::string("PRAGMA temp_store = MEMORY"),
          "PRAGMA journal_size_limit = " + std::to_string(wal_limit),
          "PRAGMA wal_autocheckpoint = " + std::to_string(std::max<std::uint64_t>(16, wal_limit / 4096)),
          std::string("PRAGMA cache_size = -8192"),
          // Debian builds SQLite to zero deleted content, which doubles
          // the writes of retention; the record holds nothing secret.
          std::string("PRAGMA secure_delete = FAST")})
      if (auto s = db_->exec(p); !s) return s;
    auto from = migrate(*db_);
    if (!from) {
      if (db_->last_failure() == Failure::none) fatal_ = true;  // a refusal, not a disk problem
      return from.error();
    }
    report.from_version = *from;
    report.to_version = kSchemaVersion;
    auto st = std::make_unique<Statements>();
    struct {
      Statement* st;
      const char* sql;
    } const sqls[] = {
        {&st->insert_record,
         "INSERT INTO records (ts_ns, wall_ns, kind, subject, summary, body) VALUES (?, ?, ?, ?, ?, ?)"},
        {&st->upsert_state,
         "INSERT INTO state (key, value, loop_ns, wall_ns, record_id) VALUES (?, ?, ?, ?, ?) "
         "ON CONFLICT (key) DO UPDATE SET value = excluded.value, loop_ns = excluded.loop_ns, "
         "wall_ns = excluded.wall_ns, record_id = excluded.record_id"},
        {&st->begin, "BEGIN IMMEDIATE"},
        {&st->commit, "COMMIT"},
        {&st->sync_full, "PRAGMA synchronous = FULL"},
        {&st->sync_normal, "PRAGMA synchronous = NORMAL"},
        {&st->get_meta, "SELECT value FROM meta WHERE key = ?"},
        {&st->put_meta, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"},
    };
    for (const auto& [target, sql] : sqls) {
      auto prepared = db_->prepare(sql);
      if (!prepared) return prepared.error();
      *target = std::move(*prepared);
    }
    st_ = std::move(st);
    auto last = db_->query_int("SELECT coalesce(max(id), 0) FROM records");
    if (!last) return last.error();
    last_record_id_ = static_cast<std::uint64_t>(*last);
    return ok();
  };
  if (auto s = setup(); !s) {
    Failure f = db_ ? db_->last_failure() : Failure::other;
    return fail(f == Failure::none ? Failure::other : f, s.error());
  }
  return ok();
}

void SqliteStore::close_connection() const {
  st_.reset();
  db_.reset();
}

Status SqliteStore::ensure_open() const {
  if (db_) return ok();
  OpenReport report;
  report.path = path_;
  if (auto s = open_connection(report); !s) return s;
  // Opened late (it could not be at start, or an I/O error closed it): the
  // record says so itself, since the daemon was told long ago.
  pending_.push(event_row(report.event(0), wall_now()));
  log().info("store: {} is open again{}", path_, report.moved_to ? " (" + report.notice() + ")" : "");
  return ok();
}

void SqliteStore::mark_damaged() const {
  std::ofstream(damage_marker(path_)) << "reflexd found this database damaged; the next start checks it\n";
  log().error("store: {} is damaged; the next start of reflexd checks it and moves it aside", path_);
}

Error SqliteStore::read_failed(const Error& e, std::string_view doing) const {
  if (db_ && db_->last_failure() == Failure::corrupt) {
    failure_ = Failure::corrupt;
    mark_damaged();
    degrade(e, doing);
  }
  return e;
}

void SqliteStore::degrade(const Error& e, std::string_view doing) const {
  std::string reason = "cannot " + std::string(doing) + " " + path_ + ": " +
                       std::string(to_string(failure_)) + " (" + e.message() + "); " +
                       fix_for(failure_, path_);
  if (!health_.ok && health_.reason == reason) return;
  health_.ok = false;
  health_.reason = reason;
  log().warn("store: degraded, records are held in memory: {}", reason);
}

void SqliteStore::recovered() {
  log().info("store: writing to {} again ({} records written since it was degraded)", path_, health_.written);
  health_.ok = true;
  health_.reason.clear();
}

Status SqliteStore::write_pending(bool sync_full) {
  if (pending_.empty()) return ok();
  if (auto s = ensure_open(); !s) {
    degrade(s.error(), "open");
    return s;
  }
  if (pending_.dropped() > 0) {
    // The gap in the record is explained in the record.
    LoopEvent e;
    e.kind = RecordKind::daemon;
    e.subject = path_;
    e.summary = "the store dropped " + std::to_string(pending_.dropped_observations()) +
                " observations and " + std::to_string(pending_.dropped_other()) +
                " other stream records while it could not write";
    e.body = json::object{{"dropped_observations", pending_.dropped_observations()},
                          {"dropped_other", pending_.dropped_other()},
                          {"reason", health_.reason}};
    dropped_total_ += pending_.dropped();
    pending_.reset_dropped();
    pending_.push(event_row(e, wall_now()));
  }
  const bool full = sync_full && opt_.synchronous == StoreOptions::Sync::full;
  auto& st = *st_;
  auto write = [&]() -> Status {
    if (full)
      if (auto s = st.sync_full.run(); !s) return s;
    if (auto s = st.begin.run(); !s) return s;
    std::int64_t last_id = static_cast<std::int64_t>(last_record_id_);
    for (const Row& r : pending_.rows()) {
      st.insert_record.bind(1, r.ts_ns)
          .bind(2, r.wall_ns)
          .bind(3, to_string(r.kind), true)
          .bind(4, r.subject, true);
      st.insert_record.bind(5, r.summary, true).bind(6, r.body, true);
      if (auto s = st.insert_record.run(); !s) return s;
      last_id = db_->last_insert_rowid();
    }
    for (const auto& [key, s] : pending_.states()) {
      st.upsert_state.bind(1, key, true)
          .bind(2, s.value, true)
          .bind(3, s.loop_ns)
          .bind(4, s.wall_ns)
          .bind(5, last_id);
      if (auto r = st.upsert_state.run(); !r) return r;
    }
    if (auto s = st.commit.run(); !s) return s;
    last_record_id_ = static_cast<std::uint64_t>(last_id);
    return ok();
  };
  Status s = write();
  if (!s) failure_ = db_->last_failure();  // before the next statement resets it
  if (full) (void)st.sync_normal.run();
  if (!s) {
    db_->rollback_quietly();
    degrade(s.error(), "write");
    // After an I/O error the connection's view of the files cannot be
    // trusted (and it holds them open, so the filesystem cannot be
    // repaired): closed now, reopened by the next attempt.
    if (failure_ == Failure::corrupt) mark_damaged();
    if (failure_ == Failure::io || failure_ == Failure::read_only || failure_ == Failure::corrupt)
      close_connection();
    return s;
  }
  health_.written += pending_.rows().size();
  pending_.clear();
  if (!health_.ok) recovered();
  return ok();
}

Status SqliteStore::commit_decisions(const Decisions& d) {
  std::lock_guard lock(mu_);
  const TimeNs wall = wall_now();
  for (auto& row : decision_rows(d, wall)) pending_.push(std::move(row));
  if (d.desired_state) pending_.set_state("desired", StateRow{to_text(*d.desired_state), d.ts_ns, wall});
  if (d.planner_state) pending_.set_state("planner", StateRow{to_text(*d.planner_state), d.ts_ns, wall});
  if (auto s = write_pending(true); !s) {
    Error e = s.error();
    e.what = "the decisions are not on disk, only in memory until it can be written: " + e.what;
    e.hint = fix_for(failure_, path_);
    return e;
  }
  return ok();
}

void SqliteStore::record_observation(const Observation& obs) {
  std::lock_guard lock(mu_);
  pending_.push(observation_row(obs, wall_now()));
  if (health_.ok && pending_.rows().size() >= opt_.batch_rows) (void)write_pending(false);
}

void SqliteStore::record_symptoms(std::span<const SymptomEvent> events) {
  std::lock_guard lock(mu_);
  const TimeNs wall = wall_now();
  for (const auto& e : events) pending_.push(symptom_row(e, wall));
  if (health_.ok && pending_.rows().size() >= opt_.batch_rows) (void)write_pending(false);
}

void SqliteStore::record_event(const LoopEvent& event) {
  std::lock_guard lock(mu_);
  pending_.push(event_row(event, wall_now()));
  if (health_.ok && pending_.rows().size() >= opt_.batch_rows) (void)write_pending(false);
}

Status SqliteStore::flush() {
  std::lock_guard lock(mu_);
  if (auto s = write_pending(false); !s) return s;
  const TimeNs now = wall_now();
  if (last_maintenance_ == 0 || now - last_maintenance_ >= opt_.maintenance_every_ns) {
    last_maintenance_ = now;
    if (auto s = maintain_locked(); !s) return s;
  }
  return ok();
}

Status SqliteStore::close() {
  std::lock_guard lock(mu_);
  return write_pending(false);
}

StoreHealth SqliteStore::health() const {
  std::lock_guard lock(mu_);
  StoreHealth h = health_;
  h.pending = pending_.rows().size() + pending_.states().size();
  h.dropped = dropped_total_ + pending_.dropped();
  return h;
}

void SqliteStore::refresh_bytes() const { health_.bytes = file_size(path_) + file_size(path_ + "-wal"); }

Result<std::string> SqliteStore::meta(const std::string& key) const {
  auto& q = st_->get_meta;
  q.bind(1, key);
  auto row = q.step();
  if (!row) return row.error();
  std::string v = *row ? std::string(q.text(0)) : std::string();
  q.reset();
  return v;
}

Status SqliteStore::set_meta(const std::string& key, const std::string& value) {
  st_->put_meta.bind(1, key).bind(2, value);
  auto s = st_->put_meta.run();
  st_->put_meta.reset();
  return s;
}

Status SqliteStore::maintain() {
  std::lock_guard lock(mu_);
  return maintain_locked();
}

Status SqliteStore::maintain_locked() {
  if (auto s = ensure_open(); !s) {
    degrade(s.error(), "open");
    return s;
  }
  const TimeNs now = wall_now();
  Status s = roll_up(60, "rolled_minute_until", now);
  if (s) s = roll_up(3600, "rolled_hour_until", now);
  if (s) s = apply_retention(now);
  if (s) s = enforce_size_bound();
  if (!s) {
    failure_ = db_ ? db_->last_failure() : Failure::io;
    if (db_) db_->rollback_quietly();
    if (failure_ == Failure::corrupt) mark_damaged();
    degrade(s.error(), "maintain");
  }
  refresh_bytes();
  return s;
}

Status SqliteStore::roll_up(std::int64_t resolution_s, const char* meta_key, TimeNs now) {
  auto done = meta(meta_key);
  if (!done) return done.error();
  const TimeNs from = done->empty() ? std::numeric_limits<TimeNs>::min() : std::stoll(*done);
  const TimeNs until = bucket_start(now, resolution_s);
  if (from >= until) return ok();
  auto q = db_->prepare(
      resolution_s == 60
          ? "SELECT wall_ns, body FROM records WHERE kind = 'observation' AND wall_ns >= ? AND "
            "wall_ns < ? ORDER BY wall_ns"
          : "SELECT start_wall_ns, body FROM rollups WHERE resolution_s = 60 AND start_wall_ns >= ? "
            "AND start_wall_ns < ? ORDER BY start_wall_ns");
  if (!q) return q.error();
  auto put = db_->prepare(
      "INSERT OR REPLACE INTO rollups (resolution_s, start_wall_ns, ticks, body) VALUES (?, ?, ?, ?)");
  if (!put) return put.error();
  q->bind(1, from).bind(2, until);
  if (auto s = st_->begin.run(); !s) return s;
  std::optional<Rollup> cur;
  auto emit = [&]() -> Status {
    if (!cur) return ok();
    put->bind(1, resolution_s).bind(2, cur->start_wall_ns).bind(3, static_cast<std::int64_t>(cur->ticks));
    put->bind(4, to_text(cur->to_json()));
    auto s = put->run();
    put->reset();
    return s;
  };
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    const TimeNs start = bucket_start(q->int64(0), resolution_s);
    if (!cur || cur->start_wall_ns != start) {
      if (auto s = emit(); !s) return s;
      cur.emplace();
      cur->resolution_s = resolution_s;
      cur->start_wall_ns = start;
    }
    auto body = parse_text(q->text(1), "a stored observation");
    if (!body) continue;  // a damaged row is not worth stopping the roll-up for
    if (resolution_s == 60) {
      cur->add_observation(*body);
    } else if (auto minute = Rollup::from_json(*body)) {
      cur->merge_later(*minute);
    }
  }
  if (auto s = emit(); !s) return s;
  if (auto s = set_meta(meta_key, std::to_string(until)); !s) return s;
  return st_->commit.run();
}

Status SqliteStore::apply_retention(TimeNs now) {
  const auto& r = opt_.retention;
  auto done_until = [&](const char* key) -> TimeNs {
    auto v = meta(key);
    return v && !v->empty() ? std::stoll(*v) : std::numeric_limits<TimeNs>::min();
  };
  // Nothing goes before it has been rolled up.
  const TimeNs raw_cut = std::min(now - r.raw_ns, done_until("rolled_minute_until"));
  const TimeNs minute_cut = std::min(now - r.minute_ns, done_until("rolled_hour_until"));
  auto del = [&](const std::string& sql, TimeNs cut) -> Status {
    auto st = db_->prepare(sql);
    if (!st) return st.error();
    st->bind(1, cut);
    return st->run();
  };
  if (auto s = del("DELETE FROM records WHERE kind = 'observation' AND wall_ns < ?", raw_cut); !s) return s;
  if (auto s = del("DELETE FROM rollups WHERE resolution_s = 60 AND start_wall_ns < ?", minute_cut); !s)
    return s;
  if (auto s = del("DELETE FROM rollups WHERE resolution_s = 3600 AND start_wall_ns < ?", now - r.hour_ns);
      !s)
    return s;
  if (r.records_ns > 0)
    for (auto k : {kinds_sql(kStreamKinds), kinds_sql(kDecisionKinds)})
      if (auto s = del("DELETE FROM records WHERE kind IN (" + k + ") AND wall_ns < ?", now - r.records_ns);
          !s)
        return s;
  return ok();
}

Status SqliteStore::enforce_size_bound() {
  auto page_size = db_->query_int("PRAGMA page_size");
  if (!page_size) return page_size.error();
  auto used_bytes = [&]() -> Result<std::uint64_t> {
    auto pages = db_->query_int("PRAGMA page_count");
    if (!pages) return pages.error();
    auto free_pages = db_->query_int("PRAGMA freelist_count");
    if (!free_pages) return free_pages.error();
    return static_cast<std::uint64_t>(*pages - *free_pages) * static_cast<std::uint64_t>(*page_size);
  };
  // The file gets what the WAL leaves; past 85% of it the oldest rows go
  // until 75% is used, so the bound holds with room for the next batches.
  const std::uint64_t budget = opt_.retention.max_bytes - wal_budget(opt_.retention.max_bytes);
  auto used = used_bytes();
  if (!used) return used.error();
  if (*used > budget / 100 * 85) {
    const std::uint64_t target = budget / 100 * 75;
    // Oldest first, in the order that costs the record least.
    const std::string steps[] = {
        "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE kind = 'observation' ORDER BY wall_ns "
        "LIMIT 50)",
        "DELETE FROM rollups WHERE resolution_s = 60 AND start_wall_ns IN (SELECT start_wall_ns FROM rollups "
        "WHERE "
        "resolution_s = 60 ORDER BY start_wall_ns LIMIT 100)",
        "DELETE FROM rollups WHERE resolution_s = 3600 AND start_wall_ns IN (SELECT start_wall_ns FROM "
        "rollups WHERE "
        "resolution_s = 3600 ORDER BY start_wall_ns LIMIT 50)",
        "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE kind IN (" + kinds_sql(kStreamKinds) +
            ") ORDER BY id LIMIT 500)",
        "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE kind IN (" +
            kinds_sql(kDecisionKinds) + ") ORDER BY id LIMIT 500)",
    };
    std::uint64_t decisions_deleted = 0;
    for (std::size_t step = 0; step < std::size(steps) && *used > target; ++step) {
      for (;;) {
        if (auto s = db_->exec(steps[step]); !s) return s;
        const auto n = sqlite3_changes64(db_->handle());
        if (step == std::size(steps) - 1) decisions_deleted += static_cast<std::uint64_t>(n);
        used = used_bytes();
        if (!used) return used.error();
        if (n == 0 || *used <= target) break;
      }
    }
    if (decisions_deleted)
      log().warn(
          "store: deleted the {} oldest decision records of {} to stay under its size bound of {} bytes",
          decisions_deleted, path_, opt_.retention.max_bytes);
  }
  // Hand free pages back to the filesystem when they are worth it.
  auto free_pages = db_->query_int("PRAGMA freelist_count");
  if (!free_pages) return free_pages.error();
  if (static_cast<std::uint64_t>(*free_pages) * static_cast<std::uint64_t>(*page_size) > budget / 20) {
    if (auto s = db_->exec("PRAGMA incremental_vacuum"); !s) return s;
    auto left = db_->query_int("PRAGMA freelist_count");
    if (!left) return left.error();
    // The file shrinks at the checkpoint (not when the database does not
    // use auto-vacuum, e.g. one made before it was set: then free pages are
    // only reused).
    if (*left < *free_pages)
      if (auto s = db_->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !s) return s;
  }
  return ok();
}

Result<RecordPage> SqliteStore::query(const RecordQuery& q) const {
  std::lock_guard lock(mu_);
  if (auto s = ensure_open(); !s)
    return make_error("history is not available: " + health_.reason, s.error().what);
  const std::size_t limit = std::clamp<std::size_t>(q.limit, 1, 1000);
  std::vector<RecordKind> kinds = q.kinds;
  if (kinds.empty())
    for (auto k : kAllRecordKinds)
      if (k != RecordKind::observation) kinds.push_back(k);
  std::string where = "kind IN (" + kinds_sql(kinds) + ")";
  if (q.since_wall_ns) where += " AND wall_ns >= ?1";
  if (q.until_wall_ns) where += " AND wall_ns < ?2";
  std::string subject = q.subject;
  std::optional<std::string> upper;
  const bool prefix = !subject.empty() && subject.back() == '*';
  if (prefix) {
    subject.pop_back();
    upper = prefix_upper_bound(subject);
    if (!subject.empty()) where += " AND subject >= ?3";
    if (upper) where += " AND subject < ?4";
  } else if (!subject.empty()) {
    where += " AND subject = ?3";
  }
  if (q.before_id) where += " AND id < ?5";
  // The ids come from the index alone; only the page's rows are read.
  const std::string sql =
      "SELECT id, ts_ns, wall_ns, kind, subject, summary, body FROM records WHERE id IN (SELECT id FROM "
      "records WHERE " +
      where + " ORDER BY id DESC LIMIT ?6) ORDER BY id DESC";
  auto st = db_->prepare(sql);
  if (!st) return read_failed(st.error(), "read");
  if (q.since_wall_ns) st->bind(1, *q.since_wall_ns);
  if (q.until_wall_ns) st->bind(2, *q.until_wall_ns);
  if (!subject.empty()) st->bind(3, subject);
  if (upper) st->bind(4, *upper);
  if (q.before_id) st->bind(5, static_cast<std::int64_t>(*q.before_id));
  st->bind(6, static_cast<std::int64_t>(limit + 1));
  RecordPage page;
  for (;;) {
    auto row = st->step();
    if (!row) return read_failed(row.error(), "read");
    if (!*row) break;
    Record r;
    r.id = static_cast<std::uint64_t>(st->int64(0));
    r.ts_ns = st->int64(1);
    r.wall_ns = st->int64(2);
    r.kind = parse_record_kind(st->text(3)).value_or(RecordKind::daemon);
    r.subject = std::string(st->text(4));
    r.summary = std::string(st->text(5));
    auto body = parse_text(st->text(6), "a stored record");
    r.body = body ? std::move(*body) : json::value(std::string(st->text(6)));
    page.records.push_back(std::move(r));
  }
  if (page.records.size() > limit) {
    page.records.pop_back();
    page.next = page.records.back().id;
  }
  return page;
}

Result<std::optional<SavedState>> SqliteStore::load_state(const std::string& key) const {
  std::lock_guard lock(mu_);
  if (auto s = ensure_open(); !s)
    return make_error("saved state is not available: " + health_.reason, s.error().what);
  auto st = db_->prepare("SELECT value, loop_ns, wall_ns, record_id FROM state WHERE key = ?");
  if (!st) return st.error();
  st->bind(1, key);
  auto row = st->step();
  if (!row) return read_failed(row.error(), "read");
  if (!*row) return std::optional<SavedState>();
  auto value = parse_text(st->text(0), "the saved " + key + " state in " + path_);
  if (!value) return value.error();
  return std::optional<SavedState>(SavedState{std::move(*value), ClockPair{st->int64(1), st->int64(2)},
                                              static_cast<std::uint64_t>(st->int64(3))});
}

Result<std::vector<json::value>> SqliteStore::rollups(std::int64_t resolution_s, TimeNs since, TimeNs until,
                                                      std::size_t limit) const {
  std::lock_guard lock(mu_);
  if (auto s = ensure_open(); !s)
    return make_error("roll-ups are not available: " + health_.reason, s.error().what);
  auto st = db_->prepare(
      "SELECT body FROM rollups WHERE resolution_s = ? AND start_wall_ns >= ? AND start_wall_ns < ? "
      "ORDER BY start_wall_ns LIMIT ?");
  if (!st) return st.error();
  st->bind(1, resolution_s)
      .bind(2, since)
      .bind(3, until)
      .bind(4, static_cast<std::int64_t>(std::min<std::size_t>(limit, 100'000)));
  std::vector<json::value> out;
  for (;;) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    if (auto v = parse_text(st->text(0), "a stored roll-up")) out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace reflex::store
