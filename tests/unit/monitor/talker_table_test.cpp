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

TEST(TalkerTable, ACountThatWentBackHoldsTheRateAndCountsOnFromThere) {
  // 40 pps on two CPUs (a reading is their sum); then the slot on one CPU is
  // taken by another source and won back, so the sum falls from 1040 to 820
  // although the source sent 40 more. The whole 820 is not new traffic.
  TalkerTable t;
  t.observe(v4(1), 1000, 0, 0, 10 * kSec, 0);
  t.end_sweep();
  t.observe(v4(1), 1040, 0, 0, 11 * kSec, 10 * kSec);
  t.end_sweep();
  EXPECT_DOUBLE_EQ(t.top(1)[0]->pps, 40.0);
  t.observe(v4(1), 820, 0, 0, 12 * kSec, 11 * kSec);
  t.end_sweep();
  EXPECT_DOUBLE_EQ(t.top(1)[0]->pps, 40.0);  // held, not 820 pps
  t.observe(v4(1), 860, 0, 0, 13 * kSec, 12 * kSec);
  EXPECT_DOUBLE_EQ(t.top(1)[0]->pps, 40.0);  // counted on from the lower sum
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

TEST(TalkerTable, NetworksSumTheirHostsFastestFirst) {
  // 250 hosts of 203.0.113.0/24 at 400 pps, 4 of 10.250.1.0/24 at 1700, one
  // IPv6 host pair in 2001:db8:1:2::/64, and an idle host that counts nowhere.
  TalkerTable t;
  auto v6 = [](std::uint8_t last) {
    guard_addr_key k{};
    k.family = 6;
    const std::uint8_t net[8] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x02};
    std::memcpy(k.addr, net, 8);
    k.addr[15] = last;
    return k;
  };
  auto walk = [&](TimeNs now, std::uint64_t secs) {
    for (std::uint32_t h = 1; h <= 250; ++h) t.observe(v4(0xCB007100u + h), 400 * secs, 0, 0, now, 0);
    for (std::uint32_t h = 1; h <= 4; ++h) t.observe(v4(0x0AFA0100u + h), 1700 * secs, 0, 1, now, 0);
    t.observe(v6(1), 100 * secs, 0, 0, now, 0);
    t.observe(v6(2), 200 * secs, 0, 0, now, 0);
    t.observe(v4(0x0AFA0200u + 9), 7, 0, 0, now, 0);  // never moves
    t.end_sweep();
  };
  walk(10 * kSec, 0);
  walk(11 * kSec, 1);
  const auto nets = t.top_networks(2);
  ASSERT_EQ(nets.size(), 2u);
  EXPECT_EQ(nets[0].len, 24);
  EXPECT_EQ(nets[0].sources, 250u);
  EXPECT_DOUBLE_EQ(nets[0].pps, 100000.0);
  EXPECT_EQ(nets[0].key.addr[0], 203);
  EXPECT_EQ(nets[0].key.addr[2], 113);
  EXPECT_EQ(nets[0].key.addr[3], 0);  // the network's address, host bits zero
  EXPECT_EQ(nets[1].sources, 4u);
  EXPECT_DOUBLE_EQ(nets[1].pps, 6800.0);
  EXPECT_EQ(nets[1].dropped, 4u);
  const auto all = t.top_networks(10);
  ASSERT_EQ(all.size(), 3u);  // the idle host's network has no rate
  EXPECT_EQ(all[2].len, 64);
  EXPECT_EQ(all[2].key.family, 6);
  EXPECT_EQ(all[2].sources, 2u);
  EXPECT_DOUBLE_EQ(all[2].pps, 300.0);
  EXPECT_EQ(all[2].key.addr[15], 0);
  t.idle();
  EXPECT_TRUE(t.top_networks(10).empty());
}
