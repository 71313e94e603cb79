// NAB scorer checked against small cases worked out by hand from the rules in
// shared/data/README.md (and NAB v1.1's sweeper).

#include "analyze/nab/nab_scorer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace reflex::nab {
namespace {

// A 20-row file (probation: floor(0.15 * 20) = 3 rows) with one window [10, 14].
ScoredSeries file_with_flags(std::initializer_list<std::pair<std::size_t, double>> flags) {
  ScoredSeries s{"f.csv", std::vector<double>(20, 0.0), {Window{10, 14}}};
  for (auto [i, v] : flags) s.scores[i] = v;
  return s;
}

double score_of(const ScoredSeries& s, const CostProfile& p = standard_profile()) {
  std::vector<ScoredSeries> c{s};
  return score_corpus(c, p).normalized;
}

TEST(NabScorer, ScaledSigmoidMatchesNab) {
  EXPECT_NEAR(scaled_sigmoid(-1.0), 2.0 / (1.0 + std::exp(-5.0)) - 1.0, 1e-12);
  EXPECT_NEAR(scaled_sigmoid(-1.0), 0.98661, 1e-5);
  EXPECT_NEAR(scaled_sigmoid(-0.5), 0.84828, 1e-5);
  EXPECT_DOUBLE_EQ(scaled_sigmoid(0.0), 0.0);
  EXPECT_DOUBLE_EQ(scaled_sigmoid(3.0), -1.0);
  EXPECT_DOUBLE_EQ(scaled_sigmoid(10.0), -1.0);
}

TEST(NabScorer, ProbationIsFifteenPercentCappedAt750) {
  EXPECT_EQ(probation_rows(20), 3u);
  EXPECT_EQ(probation_rows(1000), 150u);
  EXPECT_EQ(probation_rows(4032), 604u);
  EXPECT_EQ(probation_rows(5000), 750u);
  EXPECT_EQ(probation_rows(22695), 750u);
}

TEST(NabScorer, FlagOnFirstRowOfWindowIsPerfect) {
  // pos = -(14 - 10 + 1) / 5 = -1, scaled so it earns exactly 1: raw 1 -> 100.
  EXPECT_NEAR(score_of(file_with_flags({{10, 1.0}})), 100.0, 1e-9);
}

TEST(NabScorer, NoFlagIsTheNullScore) {
  std::vector<ScoredSeries> c{file_with_flags({})};
  EXPECT_NEAR(score_corpus_at(c, standard_profile(), 0.5).normalized, 0.0, 1e-9);
}

TEST(NabScorer, ConstantScoresFlagEverythingOnlyWhenThatPays) {
  // Flagging all 20 rows: the window earns 1, rows 3..9 cost 7 * 0.11, rows
  // 15..19 cost a little each: better than -1, so the optimum flags them all.
  std::vector<ScoredSeries> c{file_with_flags({})};
  auto r = score_corpus(c, standard_profile());
  EXPECT_DOUBLE_EQ(r.threshold, 0.0);
  EXPECT_EQ(r.false_flags, 12u);
  // On a long file the false flags outweigh the window: nothing is flagged.
  ScoredSeries longer{"l.csv", std::vector<double>(400, 0.0), {Window{300, 319}}};
  std::vector<ScoredSeries> c2{longer};
  EXPECT_NEAR(score_corpus(c2, standard_profile()).normalized, 0.0, 1e-9);
}

TEST(NabScorer, LateFlagEarnsLess) {
  // Row 14: pos = -1/5, earns (2/(1+e^-1) - 1) / 0.986614 = 0.468388; normalised
  // 100 * (0.468388 + 1) / 2.
  const double earn = (2.0 / (1.0 + std::exp(-1.0)) - 1.0) / (2.0 / (1.0 + std::exp(-5.0)) - 1.0);
  EXPECT_NEAR(earn, 0.4683868, 1e-6);
  EXPECT_NEAR(score_of(file_with_flags({{14, 1.0}})), 100.0 * (earn + 1.0) / 2.0, 1e-9);
}

TEST(NabScorer, OnlyTheBestFlagOfAWindowCounts) {
  EXPECT_NEAR(score_of(file_with_flags({{10, 1.0}, {12, 1.0}, {14, 1.0}})), 100.0, 1e-9);
}

TEST(NabScorer, FlagBeforeFirstWindowCostsFullFpWeight) {
  // raw = 1 - 0.11 = 0.89 -> 100 * 1.89 / 2 = 94.5 (standard), 1 - 0.22 (low FP).
  EXPECT_NEAR(score_of(file_with_flags({{5, 1.0}, {10, 1.0}})), 94.5, 1e-9);
  EXPECT_NEAR(score_of(file_with_flags({{5, 1.0}, {10, 1.0}}), reward_low_fp_profile()), 89.0, 1e-9);
}

TEST(NabScorer, FlagJustAfterAWindowCostsLittle) {
  // Row 17: pos = (17 - 14) / (5 - 1) = 0.75, cost 0.11 * (2/(1+e^3.75) - 1).
  const double cost = 0.11 * (2.0 / (1.0 + std::exp(3.75)) - 1.0);
  EXPECT_NEAR(cost, -0.104945, 1e-6);
  EXPECT_NEAR(score_of(file_with_flags({{10, 1.0}, {17, 1.0}})), 100.0 * (2.0 + cost) / 2.0, 1e-9);
}

TEST(NabScorer, ProbationaryRowsAreNotScored) {
  EXPECT_NEAR(score_of(file_with_flags({{0, 1.0}, {2, 1.0}, {10, 1.0}})), 100.0, 1e-9);
}

TEST(NabScorer, ThresholdMaximisesTheCorpusTotal) {
  // A false flag at 0.5 and the window's flag at 0.9: the best threshold is 0.9
  // (raw 1.0), not 0.5 (raw 0.89) nor above 0.9 (raw -1).
  std::vector<ScoredSeries> c{file_with_flags({{5, 0.5}, {10, 0.9}})};
  auto r = score_corpus(c, standard_profile());
  EXPECT_DOUBLE_EQ(r.threshold, 0.9);
  EXPECT_NEAR(r.raw, 1.0, 1e-12);
  EXPECT_EQ(r.detected, 1u);
  EXPECT_EQ(r.false_flags, 0u);
  // At a fixed threshold of 0.5 the false flag counts.
  auto fixed = score_corpus_at(c, standard_profile(), 0.5);
  EXPECT_NEAR(fixed.raw, 0.89, 1e-12);
  EXPECT_EQ(fixed.false_flags, 1u);
}

TEST(NabScorer, OneThresholdServesTheWholeCorpus) {
  // File a needs threshold <= 0.3 to detect its window; file b then pays for
  // four false flags at 0.4 (4 * 0.11 = 0.44 < 2): the optimum is 0.3.
  ScoredSeries a = file_with_flags({{11, 0.3}});
  ScoredSeries b{"b.csv", std::vector<double>(20, 0.0), {Window{10, 14}}};
  b.scores[10] = 0.8;
  for (std::size_t i : {4u, 5u, 6u, 7u}) b.scores[i] = 0.4;
  std::vector<ScoredSeries> c{a, b};
  auto r = score_corpus(c, standard_profile());
  EXPECT_DOUBLE_EQ(r.threshold, 0.3);
  const double earn_a = scaled_sigmoid(-4.0 / 5.0) / scaled_sigmoid(-1.0);
  EXPECT_NEAR(r.raw, earn_a + 1.0 - 0.44, 1e-12);
  EXPECT_NEAR(r.normalized, 100.0 * (r.raw + 2.0) / 4.0, 1e-9);
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[1].false_flags, 4u);
}

TEST(NabScorer, LowFnProfileDoublesTheMissCost) {
  // Null is -2 per window; one window detected at its start, one missed:
  // raw = 1 - 2 = -1, null = -4, perfect = 2 -> 100 * 3 / 6 = 50.
  ScoredSeries s{"f.csv", std::vector<double>(40, 0.0), {Window{10, 14}, Window{30, 34}}};
  s.scores[10] = 1.0;
  std::vector<ScoredSeries> c{s};
  auto r = score_corpus_at(c, reward_low_fn_profile(), 0.5);
  EXPECT_NEAR(r.raw, -1.0, 1e-12);
  EXPECT_NEAR(r.normalized, 50.0, 1e-9);
}

TEST(NabScorer, FileWithoutWindowsOnlyCostsFlags) {
  ScoredSeries quiet{"q.csv", std::vector<double>(20, 0.0), {}};
  quiet.scores[10] = 1.0;
  ScoredSeries hit = file_with_flags({{10, 0.5}});
  std::vector<ScoredSeries> c{quiet, hit};
  auto r = score_corpus(c, standard_profile());
  EXPECT_DOUBLE_EQ(r.threshold, 0.5);  // flags both: 1 - 0.11 beats -1
  EXPECT_NEAR(r.raw, 0.89, 1e-12);
}

}  // namespace
}  // namespace reflex::nab
