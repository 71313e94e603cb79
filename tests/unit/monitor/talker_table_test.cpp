// TalkerTable: per-source rates from readings spread over a walk of the map.
#include "monitor/talker_table.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace reflex;
using reflex::monitor::TalkerTable;

namespace {

guard_addr_key v4(std::uint32_t host_order) {
  guard_addr_key k{};
  k.family = 4;
  std::uint32_t be = __builtin_bswap32(host_order);
  std::memcpy(k.addr, &be, 4);
  return k;
}

constexpr TimeNs kSec = kNsPerSec;

}  // namespace

TEST(TalkerTable, RateFromTwoReadingsOfTheSameSource) {
  TalkerTable t;
  t.observe(v4(1), 100, 6400, 0, 10 * kSec, 0);
  t.end_sweep();
  t.observe(v4(1), 1100, 70400, 5, 12 * kSec, 10 * kSec);
  auto top = t.top(5);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_DOUBLE_EQ(top[0]->pps, 500.0);  // 1000 packets in 2 s
  EXPECT_EQ(top[0]->dropped, 5u);
}

TEST(TalkerTable, FirstSightInTheFirstWalkHasNoRate) {
  TalkerTable t;
  t.observe(v4(1), 100, 0, 0, 10 * kSec, 0);
  EXPECT_EQ(t.top(1)[0]->pps, 0.0);
}

TEST(TalkerTable, NewSourceIsRatedSinceTheLastWalkPassed) {
  TalkerTable t;
  t.observe(v4(1), 10, 0, 0, 10 * kSec, 0);
  t.end_sweep();
  // The previous walk started at 10 s; the new source shows up at 14 s with 400 packets.
  t.observe(v4(2), 400, 0, 0, 14 * kSec, 10 * kSec);
  auto top = t.top(1);
  EXPECT_DOUBLE_EQ(top[0]->pps, 100.0);
}

TEST(TalkerTable, EvictedAndBackCountsFromZero) {
  TalkerTable t;
  t.observe(v4(1), 1000, 0, 0, 10 * kSec, 0);
  t.end_sweep();
  t.observe(v4(1), 30, 0, 0, 11 * kSec, 10 * kSec);  // fewer than before: the LRU dropped it and it came back
  EXPECT_DOUBLE_EQ(t.top(1)[0]->pps, 30.0);
}

TEST(TalkerTable, AWalkForgetsSourcesItNoLongerSees) {
  TalkerTable t;
  t.observe(v4(1), 1, 0, 0, kSec, 0);
  t.observe(v4(2), 1, 0, 0, kSec, 0);
  t.end_sweep();
  t.observe(v4(2), 2, 0, 0, 2 * kSec, kSec);
  t.end_sweep();  // 1 was evicted from the map
  EXPECT_EQ(t.size(), 1u);
  ASSERT_EQ(t.top(5).size(), 1u);
  EXPECT_EQ(t.top(5)[0]->packets, 2u);
}

TEST(TalkerTable, TopIsFastestFirstAndIdleZeroesRates) {
  TalkerTable t;
  for (std::uint32_t i = 1; i <= 5000; ++i) t.observe(v4(i), 0, 0, 0, kSec, 0);
  t.end_sweep();
  for (std::uint32_t i = 1; i <= 5000; ++i) t.observe(v4(i), i, 0, 0, 2 * kSec, kSec);
  auto top = t.top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0]->packets, 5000u);
  EXPECT_EQ(top[1]->packets, 4999u);
  EXPECT_EQ(top[2]->packets, 4998u);
  EXPECT_EQ(t.size(), 5000u);
  t.idle();
  EXPECT_EQ(t.top(1)[0]->pps, 0.0);
}
