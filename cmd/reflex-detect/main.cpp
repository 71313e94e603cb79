// reflex-detect: runs the streaming series detector over `timestamp,value` CSV
// files and writes `timestamp,value,anomaly_score` (one row per input row, same
// order; a row's score depends only on it and the rows before it).
//
//   reflex-detect --input FILE.csv --output OUT.csv
//   reflex-detect --input-dir DIR --output-dir OUT      (keeps relative paths)
//   reflex-detect ... --set key=value                   (override a detector setting)

#include "analyze/detector_params.h"
#include "analyze/nab/series_csv.h"
#include "analyze/series_detector.h"
#include "common/log.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace reflex;

namespace {

Status detect_file(const fs::path& in, const fs::path& out, const analyze::DetectorParams& p) {
  auto series = nab::read_series_csv(in);
  if (!series) return series.error();
  analyze::SeriesDetector detector(p);
  std::vector<double> scores;
  scores.reserve(series->values.size());
  for (std::size_t i = 0; i < series->values.size(); ++i)
    scores.push_back(detector.update(series->seconds[i], series->values[i]));
  if (out.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    if (ec) return make_error("create " + out.parent_path().string() + ": " + ec.message(), "", ec.value());
  }
  return nab::write_scores_csv(out, *series, scores);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflex-detect: streaming anomaly scores for timestamp,value CSV series"};
  std::string input, output, input_dir, output_dir, log_level = "info";
  std::vector<std::string> sets;
  auto* in_opt = app.add_option("--input", input, "one input CSV (timestamp,value)");
  app.add_option("--output", output, "output CSV for --input")->needs(in_opt);
  auto* dir_opt = app.add_option("--input-dir", input_dir, "a directory of CSVs (searched recursively)")->excludes(in_opt);
  app.add_option("--output-dir", output_dir, "output directory for --input-dir")->needs(dir_opt);
  app.add_option("--set", sets, "detector setting key=value (repeatable)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
  CLI11_PARSE(app, argc, argv);
  init_logging(log_level);

  analyze::DetectorParams params;
  for (const auto& kv : sets) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || !params.set(kv.substr(0, eq), kv.substr(eq + 1))) {
      spdlog::error("bad --set '{}': expected key=value with a known key", kv);
      return 2;
    }
  }

  if (!input.empty()) {
    if (output.empty()) { spdlog::error("--input needs --output"); return 2; }
    if (auto st = detect_file(input, output, params); !st) {
      spdlog::error("{}", st.error().message());
      return 1;
    }
    return 0;
  }
  if (input_dir.empty() || output_dir.empty()) {
    spdlog::error("give --input FILE --output FILE, or --input-dir DIR --output-dir DIR");
    return 2;
  }
  const auto files = nab::list_csv_files(input_dir);
  if (files.empty()) { spdlog::error("no .csv files under {}", input_dir); return 1; }
  int failed = 0;
  for (const auto& rel : files) {
    if (auto st = detect_file(fs::path(input_dir) / rel, fs::path(output_dir) / rel, params); !st) {
      spdlog::error("{}", st.error().message());
      ++failed;
    }
  }
  spdlog::debug("scored {} files, {} failed", files.size(), failed);
  return failed == 0 ? 0 : 1;
}
