#pragma once
// A fixture with the guard's programs and maps loaded but attached nowhere:
// tests drive it with BPF_PROG_TEST_RUN.

#include "guard/guard.h"
#include "tests/support/kernel_env.h"

#include <gtest/gtest.h>

#include <optional>

namespace reflex::testing {

class DetachedGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REFLEX_REQUIRE_BPF();
    auto g = guard::Guard::create_detached();
    ASSERT_TRUE(g) << g.error().message();
    guard_.emplace(std::move(*g));
  }
  guard::Guard& g() { return *guard_; }

  std::optional<guard::Guard> guard_;
};

}  // namespace reflex::testing
