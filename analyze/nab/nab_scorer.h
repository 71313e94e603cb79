#pragma once
// The Numenta Anomaly Benchmark scoring rules (NAB v1.1), as described in
// shared/data/README.md and as NAB's own sweeper implements them:
//  - the first min(floor(15% of rows), 750) rows of a file are probationary;
//  - a flag is a row whose anomaly score is >= the threshold, and one threshold
//    is chosen for the whole corpus: the one that maximises the total;
//  - inside a labelled window a flag earns the scaled sigmoid of its position,
//    normalised so the window's first row earns tp weight; only the best flag of
//    a window counts, and a window without a flag costs the fn weight;
//  - outside windows a flag costs fp weight times the sigmoid of its distance
//    past the previous window (full cost before the first window);
//  - normalised = 100 * (raw - null) / (perfect - null), null = -fn and
//    perfect = +tp per window.

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace reflex::nab {

struct CostProfile {
  std::string name;
  double tp = 1.0;
  double fp = 0.11;
  double fn = 1.0;
};

CostProfile standard_profile();
CostProfile reward_low_fp_profile();
CostProfile reward_low_fn_profile();
std::vector<CostProfile> all_profiles();

// A labelled window as inclusive row indices into its file.
struct Window {
  std::size_t first = 0;
  std::size_t last = 0;
};

// One file's detector output and labels.
struct ScoredSeries {
  std::string name;
  std::vector<double> scores;   // one anomaly score per row
  std::vector<Window> windows;  // sorted, non-overlapping
};

// 2 / (1 + exp(5 x)) - 1, or -1 when x >= 3 (NAB's scaledSigmoid).
double scaled_sigmoid(double relative_position);

// Rows [0, probation_rows(n)) are not scored.
std::size_t probation_rows(std::size_t n_rows, double probation_fraction = 0.15);

// Per-row contribution a flag would make (NAB's "sweep score"), plus the window
// each row belongs to (-1: outside, -2: probationary).
struct SweptRow {
  double score = 0;   // the detector's anomaly score
  double weight = 0;  // what flagging this row earns (>0) or costs (<0)
  int window = -1;    // corpus-wide window id, -1 outside, -2 probationary
};
std::vector<SweptRow> sweep_series(const ScoredSeries& s, const CostProfile& p, int first_window_id);

struct FileResult {
  std::string name;
  std::size_t windows = 0, detected = 0;
  std::size_t false_flags = 0;  // flagged rows outside every window (after probation)
  double raw = 0;               // this file's share of the raw score
};

struct CorpusResult {
  std::string profile;
  double threshold = 1.1;
  double raw = 0;
  double null_score = 0;
  double perfect = 0;
  double normalized = 0;
  std::size_t windows = 0, detected = 0, false_flags = 0;
  std::vector<FileResult> files;
};

// Finds the corpus-wide threshold maximising the raw score (ties: the highest
// threshold) and reports the score at it.
CorpusResult score_corpus(std::span<const ScoredSeries> corpus, const CostProfile& p);

// Scores at a fixed threshold (no optimisation).
CorpusResult score_corpus_at(std::span<const ScoredSeries> corpus, const CostProfile& p, double threshold);
// The same at each of several thresholds (the corpus is swept once).
std::vector<CorpusResult> score_corpus_at(std::span<const ScoredSeries> corpus, const CostProfile& p,
                                          std::span<const double> thresholds);

}  // namespace reflex::nab
