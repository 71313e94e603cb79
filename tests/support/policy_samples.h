#pragma once
// Small policy sets for tests of policy loading and reloading (the store, the
// REST routes, the daemon), and a per-test scratch folder for them.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace reflex::testing {

inline constexpr const char* kPolicyGood = "rules:\n  - {id: a, when: {symptom: flood}, then: {action: shadow}}\n";
inline constexpr const char* kPolicyGood2 =
    "rules:\n  - {id: a, when: {symptom: flood}, then: {action: shadow}}\n"
    "  - {id: b, when: {symptom: latency_high}, then: {action: alert}}\n";
// Line 2, the symptom name is misspelt.
inline constexpr const char* kPolicyBroken = "rules:\n  - {id: a, when: {symptom: flod}, then: {action: shadow}}\n";

// An empty folder under the temp dir, named for this process and test.
inline std::filesystem::path fresh_test_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("reflex-" + tag + "-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Writes a policy file the way an editor saves: to a temporary name, then
// renamed, so a watcher never reads half a file.
inline void write_policy_file(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  auto tmp = dir / (".tmp-" + name);
  std::ofstream(tmp) << text;
  std::filesystem::rename(tmp, dir / name);
}

}  // namespace reflex::testing
