// PolicyStore with a real temp folder and real inotify: no sleeps, the
// io_context runs until the reload happened (with a deadline as a safety net).

#include "tests/support/policy_samples.h"
#include "plan/policy_loader.h"
#include "plan/policy_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>

namespace reflex::plan {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using reflex::testing::kPolicyBroken;
using reflex::testing::kPolicyGood;
using reflex::testing::kPolicyGood2;

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = reflex::testing::fresh_test_dir("store");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Write via temp + rename, as editors and config managers do.
  void write(const std::string& name, const std::string& text) {
    reflex::testing::write_policy_file(dir_, name, text);
  }

  // Runs the loop until pred holds; false if the deadline passed first.
  bool run_until(const std::function<bool()>& pred, std::chrono::seconds deadline = 10s) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io_.run_one_for(100ms);
      if (io_.stopped()) io_.restart();
    }
    return true;
  }

  fs::path dir_;
  boost::asio::io_context io_;
};

TEST_F(PolicyStoreTest, ReloadAcceptsGoodAndRejectsBadKeepingLastGood) {
  write("10-a.yaml", kPolicyGood);
  TimeNs fake_now = 1000;
  PolicyStore store(dir_, [&] { return fake_now; });
  ASSERT_TRUE(store.reload("start"));
  auto first = store.current();
  ASSERT_TRUE(first);
  EXPECT_EQ(store.status().generation, 1u);

  write("10-a.yaml", kPolicyBroken);
  fake_now = 2000;
  EXPECT_FALSE(store.reload("sighup"));
  EXPECT_EQ(store.current(), first) << "the last good set must stay in force";
  const auto& st = store.status();
  EXPECT_EQ(st.generation, 1u);
  EXPECT_EQ(st.loads_rejected, 1u);
  EXPECT_TRUE(st.last_load_rejected);
  ASSERT_TRUE(st.last_rejection);
  EXPECT_EQ(st.last_rejection->at_ns, 2000);
  EXPECT_EQ(st.last_rejection->trigger, "sighup");
  EXPECT_EQ(st.last_rejection->errors, 1);
  ASSERT_FALSE(st.last_rejection->diagnostics.empty());
  EXPECT_NE(st.last_rejection->diagnostics[0].find("10-a.yaml:2:"), std::string::npos)
      << st.last_rejection->diagnostics[0];
}

TEST_F(PolicyStoreTest, ABadFileRejectsTheWholeSet) {
  write("10-a.yaml", kPolicyGood);
  PolicyStore store(dir_);
  ASSERT_TRUE(store.reload());
  write("20-b.yaml", kPolicyBroken);  // a.yaml is still fine, but the set is not
  EXPECT_FALSE(store.reload());
  EXPECT_EQ(store.current()->rules.size(), 1u);
}

TEST_F(PolicyStoreTest, InotifyReloadsOnChangeAndRecordsRejections) {
  write("10-a.yaml", kPolicyGood);
  PolicyStore store(dir_);
  ASSERT_TRUE(store.reload("start"));
  int notified = 0;
  store.on_change([&](const PolicySetPtr&) { ++notified; });
  ASSERT_TRUE(store.watch(io_, 10ms));

  write("10-a.yaml", kPolicyGood2);
  ASSERT_TRUE(run_until([&] { return store.status().generation == 2; })) << "no reload after a policy change";
  EXPECT_EQ(store.current()->rules.size(), 2u);
  EXPECT_EQ(store.status().last_trigger, "inotify");
  EXPECT_EQ(notified, 1);

  write("10-a.yaml", kPolicyBroken);
  ASSERT_TRUE(run_until([&] { return store.status().loads_rejected == 1; })) << "no reload after a broken edit";
  EXPECT_EQ(store.status().generation, 2u);
  EXPECT_EQ(store.current()->rules.size(), 2u);
  EXPECT_EQ(notified, 1);

  write("10-a.yaml", kPolicyGood);
  ASSERT_TRUE(run_until([&] { return store.status().generation == 3; }));
  EXPECT_FALSE(store.status().last_load_rejected);
  EXPECT_EQ(store.current()->rules.size(), 1u);

  // Deleting a file is a change too.
  write("20-b.yaml", "rules:\n  - {id: b, when: {symptom: flood}, then: {action: block}}\n");
  ASSERT_TRUE(run_until([&] { return store.status().generation == 4; }));
  fs::remove(dir_ / "20-b.yaml");
  ASSERT_TRUE(run_until([&] { return store.status().generation == 5; }));
  EXPECT_EQ(store.current()->rules.size(), 1u);
  store.stop();
}

TEST_F(PolicyStoreTest, WatchFailsCleanlyOnAMissingFolder) {
  PolicyStore store(dir_ / "nope");
  auto st = store.watch(io_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what.find("nope"), std::string::npos);
  EXPECT_FALSE(store.reload());
  EXPECT_EQ(store.current(), nullptr);
}

TEST(PolicyFileNames, EditorDebrisIsIgnored) {
  EXPECT_TRUE(is_policy_file_name("10-flood.yaml"));
  EXPECT_TRUE(is_policy_file_name("a.yml"));
  EXPECT_FALSE(is_policy_file_name(".10-flood.yaml.swp"));
  EXPECT_FALSE(is_policy_file_name("10-flood.yaml~"));
  EXPECT_FALSE(is_policy_file_name("#10-flood.yaml#"));
  EXPECT_FALSE(is_policy_file_name(".hidden.yaml"));
  EXPECT_FALSE(is_policy_file_name("README.md"));
}

}  // namespace
}  // namespace reflex::plan
