// Percentiles off log2 histograms.
#include "monitor/histogram.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>

using reflex::monitor::log2_quantile;

TEST(Log2Quantile, EmptyIsZero) {
  std::array<std::uint64_t, 32> h{};
  EXPECT_EQ(log2_quantile(h, 0.5), 0.0);
}

TEST(Log2Quantile, OneSlotInterpolatesInsideIt) {
  std::array<std::uint64_t, 32> h{};
  h[10] = 100;  // [1024, 2048)
  double p50 = log2_quantile(h, 0.5);
  EXPECT_GT(p50, 1024);
  EXPECT_LT(p50, 2048);
  EXPECT_NEAR(p50, 1024 + 1024 * 0.495, 1);
  EXPECT_LT(log2_quantile(h, 0.5), log2_quantile(h, 0.99));
}

TEST(Log2Quantile, PicksTheSlotHoldingTheRank) {
  std::array<std::uint64_t, 32> h{};
  h[4] = 90;   // [16, 32)
  h[12] = 10;  // [4096, 8192)
  EXPECT_LT(log2_quantile(h, 0.5), 32);
  EXPECT_LT(log2_quantile(h, 0.9), 32);
  EXPECT_GE(log2_quantile(h, 0.91), 4096);
  EXPECT_GE(log2_quantile(h, 0.99), 4096);
}

TEST(Log2Quantile, WithinAFactorOfTwoOfTheExactQuantile) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(std::log(300.0), 1.0);
  std::vector<double> xs;
  std::array<std::uint64_t, 32> h{};
  for (int i = 0; i < 20000; ++i) {
    double x = std::max(1.0, d(rng));
    xs.push_back(x);
    ++h[std::min(31, static_cast<int>(std::floor(std::log2(x))))];
  }
  std::sort(xs.begin(), xs.end());
  for (double q : {0.5, 0.9, 0.99}) {
    double exact = xs[static_cast<std::size_t>(q * xs.size()) - 1];
    double est = log2_quantile(h, q);
    EXPECT_GT(est, exact / 2) << q;
    EXPECT_LT(est, exact * 2) << q;
  }
}
