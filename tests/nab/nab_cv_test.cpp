// The detector's cross-validated score on the NAB dev subset: the procedure
// the defaults come from (shipped_procedure.h), run with each category held
// out in turn (tuned on the other six, the held-out one flagged at the
// training threshold, raw scores pooled and normalised once), must stay at
// or above the bar measured when it was set. Also: the defaults in
// DetectorParams are what that procedure chooses on all files.

#include "analyze/detector_params.h"
#include "nab_cv.h"
#include "shipped_procedure.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

namespace reflex::nab {
namespace {

const std::filesystem::path kDataDir = REFLEX_NAB_DEV_DIR;
constexpr double kLocoBar = REFLEX_NAB_LOCO_BAR;

int jobs() { return static_cast<int>(std::max(1u, std::min(2u, std::thread::hardware_concurrency()))); }

TEST(NabCrossValidated, LeaveOneCategoryOutStaysAtOrAboveTheBar) {
  auto files = load_corpus(kDataDir);
  ASSERT_TRUE(files.has_value()) << files.error().message();
  const auto p = shipped_procedure();
  const auto folds = category_folds(*files);
  ASSERT_EQ(folds.size(), 7u);
  const auto cv = cross_validate(*files, folds, p.start, p.free, p.rounds, p.objective, jobs());
  for (const auto& f : cv.folds)
    std::printf("  held out %-22s raw %+.3f, %zu/%zu windows, %zu false flags (threshold %.3f)\n", f.name.c_str(),
                f.held_out.raw, f.held_out.detected, f.held_out.windows, f.held_out.false_flags,
                f.tuned.train.threshold);
  std::printf("NAB dev leave-one-category-out standard score %.2f (bar %.2f), %zu/%zu windows, %zu false flags\n",
              cv.pooled, kLocoBar, cv.detected, cv.windows, cv.false_flags);
  RecordProperty("nab_loco_standard", std::to_string(cv.pooled));
  EXPECT_EQ(cv.windows, 78u);
  EXPECT_GE(cv.pooled, kLocoBar);
}

TEST(NabCrossValidated, DefaultsAreWhatTheProcedureChoosesOnAllFiles) {
  auto files = load_corpus(kDataDir);
  ASSERT_TRUE(files.has_value());
  std::vector<const LabelledFile*> all;
  for (const auto& f : *files) all.push_back(&f);
  const auto p = shipped_procedure();
  const auto t = tune(all, p.start, p.free, p.rounds, p.objective, jobs());
  const analyze::DetectorParams defaults;
  for (const auto& [key, value] : t.setting) {
    analyze::DetectorParams chosen = defaults;
    ASSERT_TRUE(chosen.set(key, value)) << key;
    EXPECT_EQ(chosen.to_string(), defaults.to_string()) << key << "=" << value << " chosen, the default differs";
  }
  EXPECT_NEAR(t.train.threshold, analyze::DetectorParams::kAlarmScore, 1e-9);
}

}  // namespace
}  // namespace reflex::nab
