// RetransRate: the kernel's cumulative retransmit and sent-segment counts
// into per-tick rates, across resets; retrans_share: the retransmitted share.
#include "monitor/retrans_rate.h"

#include <gtest/gtest.h>

using reflex::kNsPerMs;
using reflex::kNsPerSec;
using reflex::RetransSummary;
using reflex::monitor::retrans_share;
using reflex::monitor::RetransRate;

TEST(RetransRate, FirstReadingHasTotalsButNoRate) {
  RetransRate r;
  RetransSummary s = r.update(40, 1000, 5 * kNsPerSec);
  EXPECT_EQ(s.retransmits, 40u);  // the kernel's own count since the probe loaded
  EXPECT_EQ(s.per_s, 0);
  EXPECT_EQ(s.segments_per_s, 0);
}

TEST(RetransRate, RatesAreTheIncreaseOverTheTimeSinceTheLastReading) {
  RetransRate r;
  r.update(0, 0, 1 * kNsPerSec);
  RetransSummary s = r.update(30, 6000, 1 * kNsPerSec + 500 * kNsPerMs);  // half a second later
  EXPECT_EQ(s.retransmits, 30u);
  EXPECT_DOUBLE_EQ(s.per_s, 60);
  EXPECT_DOUBLE_EQ(s.segments_per_s, 12000);
  s = r.update(30, 6000, 2 * kNsPerSec);  // nothing new
  EXPECT_EQ(s.retransmits, 30u);
  EXPECT_EQ(s.per_s, 0);
  EXPECT_EQ(s.segments_per_s, 0);
}

TEST(RetransRate, AMissedTickDoesNotInflateTheRate) {
  RetransRate r;
  r.update(0, 0, 0);
  // Not read at 1 s (the interface was gone); read again at 3 s.
  RetransSummary s = r.update(90, 3000, 3 * kNsPerSec);
  EXPECT_DOUBLE_EQ(s.per_s, 30);
  EXPECT_DOUBLE_EQ(s.segments_per_s, 1000);
}

TEST(RetransRate, ARecreatedMapKeepsTheTotalClimbing) {
  RetransRate r;
  r.update(100, 5000, 1 * kNsPerSec);
  r.rebase();  // the probe reopened: the kernel counts from zero again
  RetransSummary s = r.update(120, 800, 2 * kNsPerSec);  // already past the old value
  EXPECT_EQ(s.retransmits, 220u);
  EXPECT_DOUBLE_EQ(s.per_s, 120);
  EXPECT_DOUBLE_EQ(s.segments_per_s, 800);
  s = r.update(125, 900, 3 * kNsPerSec);
  EXPECT_EQ(s.retransmits, 225u);
  EXPECT_DOUBLE_EQ(s.per_s, 5);
}

TEST(RetransRate, AnInterfaceRecreatedUnderANewIndexStartsItsCountsAgain) {
  // A new (namespace, ifindex) key starts from a small count: a drop in the
  // reading is a restart, and the new counts are all new.
  RetransRate r;
  r.update(500, 90000, 1 * kNsPerSec);
  RetransSummary s = r.update(4, 100, 2 * kNsPerSec);
  EXPECT_EQ(s.retransmits, 504u);
  EXPECT_DOUBLE_EQ(s.per_s, 4);
  EXPECT_DOUBLE_EQ(s.segments_per_s, 100);
}

TEST(RetransRate, TimeStandingStillGivesNoRate) {
  RetransRate r;
  r.update(0, 0, 1 * kNsPerSec);
  RetransSummary s = r.update(10, 10, 1 * kNsPerSec);
  EXPECT_EQ(s.retransmits, 10u);
  EXPECT_EQ(s.per_s, 0);
}

TEST(RetransShare, IsRetransmitsOverSegmentsSent) {
  RetransSummary s;
  s.per_s = 25;
  s.segments_per_s = 1000;
  ASSERT_TRUE(retrans_share(s).has_value());
  EXPECT_DOUBLE_EQ(*retrans_share(s), 0.025);
}

TEST(RetransShare, IsUnknownWhenNoSegmentsWereCounted) {
  RetransSummary s;
  EXPECT_FALSE(retrans_share(s).has_value());
  s.per_s = 3;  // SYN retransmits to a host that never answers: no data sent
  EXPECT_FALSE(retrans_share(s).has_value());
}

TEST(RetransShare, StaysWithinZeroAndOne) {
  RetransSummary s;
  s.per_s = 12;
  s.segments_per_s = 10;  // a SYN retransmit on top of a few data segments
  EXPECT_DOUBLE_EQ(*retrans_share(s), 1.0);
}
