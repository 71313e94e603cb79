// reflex-nab-score: scores a directory of detector outputs against NAB labels.
//
//   reflex-nab-score --results OUT --data DATA [--labels DATA/windows.json]
//
// OUT holds `timestamp,value,anomaly_score` files at the same relative paths as
// the labelled series (as reflex-detect --input-dir/--output-dir writes them).
// Prints the normalised score of each profile, the threshold chosen for it, and
// with --files each file's detected windows and false flags.

#include "analyze/nab/nab_scorer.h"
#include "analyze/nab/series_csv.h"
#include "common/log.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;
using namespace reflex;

int main(int argc, char** argv) {
  CLI::App app{"reflex-nab-score: NAB v1.1 scoring of detector outputs"};
  std::string results, data, labels_path;
  bool per_file = false;
  app.add_option("--results", results, "directory of detector output CSVs")->required();
  app.add_option("--data", data, "directory of the labelled series")->required();
  app.add_option("--labels", labels_path, "windows.json (default: DATA/windows.json)");
  app.add_flag("--files", per_file, "print each file's result (standard profile)");
  CLI11_PARSE(app, argc, argv);
  init_logging("info");
  if (labels_path.empty()) labels_path = (fs::path(data) / "windows.json").string();

  auto labels = nab::read_labels(labels_path);
  if (!labels) { spdlog::error("{}", labels.error().message()); return 1; }
  std::vector<nab::ScoredSeries> corpus;
  for (const auto& [name, _] : *labels) {
    auto series = nab::read_series_csv(fs::path(data) / name);
    if (!series) { spdlog::error("{}", series.error().message()); return 1; }
    auto windows = nab::windows_for(*labels, name, *series);
    if (!windows) { spdlog::error("{}", windows.error().message()); return 1; }
    auto scores = nab::read_scores_csv(fs::path(results) / name);
    if (!scores) { spdlog::error("{}", scores.error().message()); return 1; }
    if (scores->size() != series->values.size()) {
      spdlog::error("{}: {} scores for {} rows", name, scores->size(), series->values.size());
      return 1;
    }
    corpus.push_back({name, std::move(*scores), std::move(*windows)});
  }
  for (const auto& profile : nab::all_profiles()) {
    const auto r = nab::score_corpus(corpus, profile);
    std::printf("%-20s score=%.2f threshold=%.6f detected=%zu/%zu false_flags=%zu raw=%.3f\n", profile.name.c_str(),
                r.normalized, r.threshold, r.detected, r.windows, r.false_flags, r.raw);
    if (per_file && profile.name == "standard")
      for (const auto& f : r.files)
        std::printf("  %-60s windows=%zu detected=%zu false_flags=%zu raw=%+.3f\n", f.name.c_str(), f.windows,
                    f.detected, f.false_flags, f.raw);
  }
  return 0;
}
