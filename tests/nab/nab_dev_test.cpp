// The detector on the NAB dev subset (the repository's copy, tests/data/nab-dev):
// the standard score must not fall below the bar measured when it was set, and
// the output must be a stream (a row's score never depends on later rows).

#include "analyze/detector_params.h"
#include "analyze/nab/nab_scorer.h"
#include "analyze/nab/series_csv.h"
#include "analyze/series_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace reflex {
namespace {

// Measured with the default DetectorParams (docs/analyze.md); set a little below
// so floating-point noise across compilers does not fail it.
constexpr double kStandardBar = REFLEX_NAB_STANDARD_BAR;

const std::filesystem::path kDataDir = REFLEX_NAB_DEV_DIR;

std::vector<double> run_detector(const nab::Series& s, std::size_t rows) {
  analyze::SeriesDetector d{analyze::DetectorParams{}};
  std::vector<double> out;
  for (std::size_t i = 0; i < rows; ++i) out.push_back(d.update(s.seconds[i], s.values[i]));
  return out;
}

std::vector<nab::ScoredSeries> score_dev_subset() {
  auto labels = nab::read_labels(kDataDir / "windows.json");
  EXPECT_TRUE(labels.has_value());
  std::vector<nab::ScoredSeries> corpus;
  if (!labels) return corpus;
  for (const auto& [name, _] : *labels) {
    auto s = nab::read_series_csv(kDataDir / name);
    EXPECT_TRUE(s.has_value()) << name;
    if (!s) continue;
    auto w = nab::windows_for(*labels, name, *s);
    EXPECT_TRUE(w.has_value()) << name;
    if (!w) continue;
    corpus.push_back({name, run_detector(*s, s->values.size()), *w});
  }
  return corpus;
}

TEST(NabDev, StandardScoreStaysAtOrAboveTheBar) {
  const auto corpus = score_dev_subset();
  ASSERT_EQ(corpus.size(), 38u);
  std::size_t windows = 0;
  for (const auto& s : corpus) {
    windows += s.windows.size();
    for (double v : s.scores) {
      ASSERT_TRUE(std::isfinite(v)) << s.name;
      ASSERT_GE(v, 0.0) << s.name;
      ASSERT_LE(v, 1.0) << s.name;
    }
  }
  EXPECT_EQ(windows, 78u);
  const auto r = nab::score_corpus(corpus, nab::standard_profile());
  RecordProperty("nab_standard", std::to_string(r.normalized));
  std::printf("NAB dev standard score %.2f (bar %.2f), threshold %.4f, %zu/%zu windows, %zu false flags\n",
              r.normalized, kStandardBar, r.threshold, r.detected, r.windows, r.false_flags);
  EXPECT_GE(r.normalized, kStandardBar);
  // The other profiles are reported, and must at least beat never flagging.
  EXPECT_GT(nab::score_corpus(corpus, nab::reward_low_fp_profile()).normalized, 0.0);
  EXPECT_GT(nab::score_corpus(corpus, nab::reward_low_fn_profile()).normalized, 0.0);
}

TEST(NabDev, ScoresDoNotLookAhead) {
  // Scoring a prefix must give exactly the full run's scores on that prefix.
  for (const char* name : {"realKnownCause/nyc_taxi.csv", "realTweets/Twitter_volume_AMZN.csv",
                           "artificialWithAnomaly/art_daily_jumpsup.csv"}) {
    auto s = nab::read_series_csv(kDataDir / name);
    ASSERT_TRUE(s.has_value()) << name;
    const auto full = run_detector(*s, s->values.size());
    for (std::size_t cut : {std::size_t{1}, std::size_t{500}, s->values.size() / 2}) {
      const auto prefix = run_detector(*s, cut);
      for (std::size_t i = 0; i < cut; ++i) ASSERT_EQ(prefix[i], full[i]) << name << " row " << i;
    }
  }
}

}  // namespace
}  // namespace reflex
