// Retention: observations rolled up by the minute and the hour, raw rows aged
// out once rolled up, and the database kept under its size bound.
#include <gtest/gtest.h>

#include <cmath>

#include "knowledge/store/rollup.h"
#include "tests/unit/knowledge/samples.h"
#include "tests/unit/knowledge/store_fixture.h"

namespace reflex {
namespace {

using testing::all_pages;
using testing::ManualClock;
using testing::open_ok;

constexpr TimeNs kTick = 5 * kNsPerSec;

TEST(StoreRetention, MinutesAndHoursAreRolledUpAndRawRowsAgeOut) {
  testing::ScratchDir dir{"store-retention"};
  // Start on an hour boundary so the buckets are easy to name.
  const TimeNs start = store::bucket_start(testing::kWallStart, 3600);
  ManualClock wall(start);
  store::StoreOptions o;
  o.retention.raw_ns = 5 * 60 * kNsPerSec;
  o.retention.minute_ns = 2 * 3600 * kNsPerSec;
  o.retention.hour_ns = 24 * 3600 * kNsPerSec;
  o.maintenance_every_ns = 30 * kNsPerSec;
  auto s = open_ok((dir / "reflex.db").string(), o, &wall);
  ASSERT_TRUE(s);

  // 3 h 10 min of ticks every 5 s; what the second hour should roll up to.
  const int ticks = (3 * 3600 + 600) / 5;
  double rx_sum = 0, rx_max = 0;
  int hour1_ticks = 0;
  std::uint64_t first_rx = 0, last_rx = 0, rtt_bucket_10 = 0;
  for (int t = 0; t < ticks; ++t) {
    Observation obs = testing::synthetic_tick(static_cast<std::uint64_t>(t), t * kTick, 1, false);
    if (wall.now_ns() >= start + 3600 * kNsPerSec && wall.now_ns() < start + 7200 * kNsPerSec) {
      const auto& i = obs.interfaces.at("eth0");
      const double rx = std::round(i.rx_pps * 1000) / 1000;  // as the observation's JSON rounds it
      rx_sum += rx;
      rx_max = std::max(rx_max, rx);
      if (hour1_ticks++ == 0) first_rx = i.rx_packets;
      last_rx = i.rx_packets;
      rtt_bucket_10 += i.rtt->log2_us_buckets[10];
    }
    s->record_observation(obs);
    if (t % 6 == 5) {
      ASSERT_TRUE(s->flush());
    }
    wall.advance(kTick);
  }
  ASSERT_TRUE(s->flush());
  ASSERT_TRUE(s->maintain());
  const TimeNs now = wall.now_ns();

  // Raw: only the last 5 minutes (and nothing not yet rolled up is lost).
  RecordQuery q;
  q.kinds = {RecordKind::observation};
  auto raw = all_pages(*s, q);
  ASSERT_FALSE(raw.empty());
  EXPECT_LE(raw.size(), 5u * 60 / 5 + 12);
  EXPECT_GE(raw.back().wall_ns, now - o.retention.raw_ns - 60 * kNsPerSec);

  // Hours: the three complete ones; the second is what its ticks add up to.
  auto hours = s->rollups(3600, 0, now);
  ASSERT_TRUE(hours);
  ASSERT_EQ(hours->size(), 3u);
  const auto& h1 = (*hours)[1].as_object();
  EXPECT_EQ(h1.at("start_wall_ns").to_number<TimeNs>(), start + 3600 * kNsPerSec);
  EXPECT_EQ(h1.at("ticks").to_number<int>(), 720);
  const auto& eth0 = h1.at("interfaces").at("eth0").as_object();
  EXPECT_EQ(eth0.at("ticks").to_number<int>(), hour1_ticks);
  EXPECT_NEAR(eth0.at("rates").at("rx_pps").at("avg").to_number<double>(), rx_sum / hour1_ticks, 0.01);
  EXPECT_NEAR(eth0.at("rates").at("rx_pps").at("max").to_number<double>(), rx_max, 0.001);
  EXPECT_EQ(eth0.at("counters").at("rx_packets").at("first").to_number<std::uint64_t>(), first_rx);
  EXPECT_EQ(eth0.at("counters").at("rx_packets").at("last").to_number<std::uint64_t>(), last_rx);
  EXPECT_EQ(eth0.at("rtt_us").at("log2_buckets").as_array()[10].to_number<std::uint64_t>(), rtt_bucket_10);
  EXPECT_GT(eth0.at("rtt_us").at("p50").to_number<double>(), 0);

  // Minutes: 12 ticks each, kept for 2 hours (older ones only once their hour was rolled up).
  auto minutes = s->rollups(60, 0, now);
  ASSERT_TRUE(minutes);
  EXPECT_GE(minutes->size(), 2u * 60 - 2);
  EXPECT_LE(minutes->size(), 2u * 60 + 11);
  for (const auto& m : *minutes) EXPECT_EQ(m.at("ticks").to_number<int>(), 12);
  EXPECT_GE(minutes->front().at("start_wall_ns").to_number<TimeNs>(),
            now - o.retention.minute_ns - 3600 * kNsPerSec);
}

TEST(StoreRetention, SizeBoundHoldsAndDecisionsGoLast) {
  testing::ScratchDir dir{"store-size"};
  ManualClock wall(testing::kWallStart);
  store::StoreOptions o;
  o.retention.max_bytes = 2u << 20;
  o.retention.raw_ns = 24 * 3600 * kNsPerSec;  // only the size bound removes observations
  o.maintenance_every_ns = kNsPerSec;
  const std::string path = (dir / "reflex.db").string();
  auto s = open_ok(path, o, &wall);
  ASSERT_TRUE(s);
  std::size_t actions = 0;
  std::uint64_t max_seen = 0;
  for (int t = 0; t < 300; ++t) {
    s->record_observation(testing::synthetic_tick(static_cast<std::uint64_t>(t), t * kNsPerSec, 4, true));
    if (t % 20 == 0) {
      auto d = testing::synthetic_decisions(static_cast<std::uint64_t>(t), t * kNsPerSec, 2);
      ASSERT_TRUE(s->commit_decisions(d.decisions()));
      actions += 2;
    }
    ASSERT_TRUE(s->flush());
    const std::uint64_t on_disk =
        std::filesystem::file_size(path) +
        (std::filesystem::exists(path + "-wal") ? std::filesystem::file_size(path + "-wal") : 0);
    max_seen = std::max(max_seen, on_disk);
    wall.advance(kNsPerSec);
  }
  // Each tick is ~20 KB of JSON: 6 MB went in, the file held its bound.
  EXPECT_LE(max_seen, o.retention.max_bytes) << "database and WAL grew past the bound";
  EXPECT_LE(s->health().bytes, o.retention.max_bytes);
  RecordQuery q;
  q.kinds = {RecordKind::action};
  EXPECT_EQ(all_pages(*s, q).size(), actions) << "decisions go only after everything else";
  q.kinds = {RecordKind::observation};
  auto obs = all_pages(*s, q);
  ASSERT_FALSE(obs.empty());
  EXPECT_LT(obs.size(), 300u);
  EXPECT_EQ(obs.front().body.at("seq").to_number<int>(), 299) << "the newest observations stay";
}

}  // namespace
}  // namespace reflex
