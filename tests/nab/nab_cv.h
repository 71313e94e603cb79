#pragma once
// Cross-validated choice of detector settings on a NAB-style corpus: the
// procedure behind nab-cv and the cross-validated regression test.
//
// For each fold the free settings are chosen by coordinate descent on the
// training files alone, and the threshold is the one chosen on them too; the
// held-out files are then run with those settings and flagged at that
// threshold, so nothing about a held-out file is used to choose anything
// applied to it.
//
// Pooling: each fold's held-out raw score (at its training threshold) is
// summed over the folds, as are the null (-fn per window) and perfect (+tp per
// window) scores, and the sum is normalised once:
//   100 * (sum raw - sum null) / (sum perfect - sum null).

#include "analyze/nab/nab_scorer.h"
#include "analyze/nab/series_csv.h"
#include "common/result.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace reflex::nab {

struct LabelledFile {
  std::string name, category;  // category: the name's first path component
  Series series;
  std::vector<Window> windows;
};

Result<std::vector<LabelledFile>> load_corpus(const std::filesystem::path& dir);

using Setting = std::map<std::string, std::string>;  // DetectorParams key -> value
struct FreeSetting {
  std::string key;
  std::vector<std::string> values;  // candidates
};

// What the descent maximises on the training files. pooled: the standard score
// of the files as one corpus at its best threshold. catmean: the mean of each
// category's own normalised score, at the threshold (a grid of 0.005 steps)
// that maximises that mean: every category weighs the same, as every held-out
// category does in leave-one-category-out (a category without windows counts
// its false-flag cost against the mean window count). fixed_threshold >= 0:
// flag there, choose none. smooth (catmean only): the threshold maximises the
// mean of that objective over the grid points within `smooth` steps of it,
// and that mean is the objective: a threshold in the middle of a plateau,
// and settings whose score does not hinge on one grid point, transfer to
// series the choice did not see better than a narrow peak does.
struct Objective {
  bool catmean = false;
  double fixed_threshold = -1;
  int smooth = 0;
};

struct Tuned {
  Setting setting;
  CorpusResult train;  // at the chosen threshold; normalized = the objective
};

Tuned tune(const std::vector<const LabelledFile*>& train, Setting start, const std::vector<FreeSetting>& free,
           int rounds, const Objective& objective, int jobs = 1, bool verbose = false);

struct Fold {
  std::string name;
  std::vector<const LabelledFile*> held_out;
};
// One fold per category (leave one category out), or alternate files.
std::vector<Fold> category_folds(const std::vector<LabelledFile>& files);
std::vector<Fold> alternate_folds(const std::vector<LabelledFile>& files);

struct FoldResult {
  std::string name;
  Tuned tuned;
  CorpusResult held_out;  // at the training threshold
  std::vector<ScoredSeries> outputs;
};
struct CrossValidation {
  std::vector<FoldResult> folds;
  double pooled = 0;  // the normalised pooled held-out score (training thresholds)
  std::size_t windows = 0, detected = 0, false_flags = 0;
};

CrossValidation cross_validate(const std::vector<LabelledFile>& files, const std::vector<Fold>& folds,
                               const Setting& start, const std::vector<FreeSetting>& free, int rounds,
                               const Objective& objective, int jobs = 1, bool verbose = false);

// Runs the detector with these settings over the files.
std::vector<ScoredSeries> run_detector(const std::vector<const LabelledFile*>& files, const Setting& s);

}  // namespace reflex::nab
