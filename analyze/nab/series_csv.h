#pragma once
// Reading and writing the benchmark's CSV series and its windows.json labels.
// This is tool-side I/O (reflex-detect, the NAB test); the detectors never
// touch files.

#include "analyze/nab/nab_scorer.h"
#include "common/result.h"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::nab {

// One `timestamp,value` file, oldest row first.
struct Series {
  std::vector<std::string> timestamps;  // as written, echoed back on output
  std::vector<double> seconds;          // the timestamp as seconds since the epoch (UTC)
  std::vector<double> values;
};

// "YYYY-MM-DD HH:MM:SS" with optional fractional seconds (also 'T' separator).
Result<double> parse_timestamp(std::string_view text);

Result<Series> read_series_csv(const std::filesystem::path& path);

// Writes `timestamp,value,anomaly_score`, one row per series row.
Status write_scores_csv(const std::filesystem::path& path, const Series& s, const std::vector<double>& scores);

// Reads the `anomaly_score` column (third) of a detector output file.
Result<std::vector<double>> read_scores_csv(const std::filesystem::path& path);

// windows.json: {"<category>/<file>.csv": [[start, end], ...], ...}, mapped to row
// indices of each series (timestamps must match rows exactly).
using Labels = std::map<std::string, std::vector<std::pair<double, double>>>;
Result<Labels> read_labels(const std::filesystem::path& path);
Result<std::vector<Window>> windows_for(const Labels& labels, const std::string& name, const Series& s);

// Every *.csv below dir, as paths relative to dir, sorted.
std::vector<std::filesystem::path> list_csv_files(const std::filesystem::path& dir);

}  // namespace reflex::nab
