// Counter: monotonic totals over sources that restart and wrap.
#include "monitor/counter.h"

#include <gtest/gtest.h>

using reflex::monitor::Counter;

TEST(Counter, StartsAtTheSourcesValueAndCountsIncreases) {
  Counter c;
  EXPECT_EQ(c.update(1000), 0u);
  EXPECT_EQ(c.total(), 1000u);
  EXPECT_EQ(c.update(1500), 500u);
  EXPECT_EQ(c.update(1500), 0u);
  EXPECT_EQ(c.total(), 1500u);
}

TEST(Counter, ADropIsARestartAndTheNewCountsAreAllNew) {
  Counter c;
  c.update(1000);
  EXPECT_EQ(c.update(30), 30u);  // restarted, and counted 30 since
  EXPECT_EQ(c.total(), 1030u);
  EXPECT_EQ(c.update(50), 20u);
  EXPECT_EQ(c.total(), 1050u);
}

TEST(Counter, RebaseCountsARestartThatAlreadyPassedTheOldValue) {
  Counter c;
  c.update(100);
  c.rebase();                      // e.g. the guard was reloaded with fresh maps
  EXPECT_EQ(c.update(250), 250u);  // would look like +150 without the rebase
  EXPECT_EQ(c.total(), 350u);
  EXPECT_EQ(c.update(260), 10u);  // back to normal
}

TEST(Counter, RebaseBeforeTheFirstReadingIsANoop) {
  Counter c;
  c.rebase();
  EXPECT_EQ(c.update(42), 0u);
  EXPECT_EQ(c.total(), 42u);
}

TEST(Counter, ThirtyTwoBitWrapIsUndone) {
  Counter c(32);
  c.update(0xFFFFFF00u);
  EXPECT_EQ(c.update(0x10), 0x110u);  // passed 2^32
  EXPECT_EQ(c.total(), 0xFFFFFF00ull + 0x110u);
}

TEST(Counter, ThirtyTwoBitSmallDropIsARestartNotAWrap) {
  Counter c(32);
  c.update(5000);
  EXPECT_EQ(c.update(100), 100u);
}

TEST(Counter, SixtyFourBitNeverWrapsButRestarts) {
  Counter c;
  c.update(~0ull - 10);
  EXPECT_EQ(c.update(5), 5u);
}
