#pragma once
// Scratch databases for the store tests: a fresh folder per test, a wall
// clock the test moves, and helpers to read back what a store wrote.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "knowledge/store/sqlite_store.h"
#include "tests/support/policy_samples.h"

namespace reflex::testing {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeNs start) : now_(start) {}
  TimeNs now_ns() const override { return now_; }
  void advance(TimeNs d) { now_ += d; }
  void set(TimeNs t) { now_ = t; }

 private:
  TimeNs now_;
};

// A fresh folder for one test, removed with everything in it afterwards.
struct ScratchDir {
  explicit ScratchDir(const std::string& tag) : path(fresh_test_dir(tag)) {}
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  operator const std::filesystem::path&() const { return path; }
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  std::string string() const { return path.string(); }
  std::filesystem::path path;
};

// 2025-03-01T03:12:00Z: a wall time with nothing special about it.
inline constexpr TimeNs kWallStart = 1'740'798'720LL * kNsPerSec;

inline std::unique_ptr<store::SqliteStore> open_ok(const std::string& path, const store::StoreOptions& o = {},
                                                   const Clock* clock = nullptr,
                                                   store::OpenReport* report = nullptr) {
  auto r = store::SqliteStore::open(path, o, clock);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  if (!r) return nullptr;
  if (report) *report = r->report;
  return std::move(r->store);
}

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every record the query finds, following the cursors.
inline std::vector<Record> all_pages(const History& h, RecordQuery q) {
  std::vector<Record> out;
  for (int guard = 0; guard < 100'000; ++guard) {
    auto page = h.query(q);
    EXPECT_TRUE(page) << (page ? "" : page.error().message());
    if (!page) break;
    for (auto& r : page->records) out.push_back(std::move(r));
    if (!page->next) break;
    q.before_id = page->next;
  }
  return out;
}

}  // namespace reflex::testing
