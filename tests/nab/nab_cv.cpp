// nab-cv: cross-validated choice of detector settings on the NAB dev subset
// (development tool; the figures in docs/analyze.md come from it).
//
//   nab-cv DATA_DIR [key=v ...] [key=a,b,c ...] [--folds=loco|halves|none]
//          [--rounds=N] [--jobs=N] [--verbose]
//
// key=v holds a setting at v; key=a,b,c makes it free, with those candidates
// (the search starts from the first). For each fold the free settings are
// chosen by coordinate descent on the training files alone (objective: the
// standard score at the best corpus-wide threshold of those files), and the
// threshold is the one chosen on them too. The held-out files are then run
// with those settings and flagged at that threshold: nothing about a held-out
// file is used to choose anything applied to it.
//
// Pooling: each fold's held-out raw score (at its training threshold) is
// summed over the folds, as are the null (-fn per window) and perfect (+tp per
// window) scores, and the sum is normalised once:
//   100 * (sum raw - sum null) / (sum perfect - sum null).
// Also printed, for comparison with earlier figures: the pooled held-out
// outputs scored as one corpus with one threshold chosen on them ("pooled
// threshold", which lets the held-out labels pick the threshold), and the
// settings chosen on all files with their plain (in-sample) dev score.
//
//   --folds=loco    one fold per category (leave one category out), default
//   --folds=halves  alternate files (file index even / odd), both directions
//   --folds=none    only the choice on all files
//   --objective=pooled|catmean   what the descent maximises (see best())
//   --threshold=T   flag at T in training and held-out alike (none chosen)

#include "analyze/detector_params.h"
#include "analyze/nab/nab_scorer.h"
#include "analyze/nab/series_csv.h"
#include "analyze/series_detector.h"

#include <algorithm>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace reflex;

namespace {

struct File {
  std::string name, category;
  nab::Series s;
  std::vector<nab::Window> w;
};

struct Free {
  std::string key;
  std::vector<std::string> values;
};

using Setting = std::map<std::string, std::string>;

analyze::DetectorParams params_of(const Setting& s) {
  analyze::DetectorParams p;
  for (const auto& [k, v] : s) p.set(k, v);
  return p;
}

std::vector<nab::ScoredSeries> run(const std::vector<const File*>& files, const analyze::DetectorParams& p) {
  std::vector<nab::ScoredSeries> out;
  out.reserve(files.size());
  for (const File* f : files) {
    analyze::SeriesDetector d(p);
    nab::ScoredSeries ss{f->name, {}, f->w};
    ss.scores.reserve(f->s.values.size());
    for (std::size_t i = 0; i < f->s.values.size(); ++i) ss.scores.push_back(d.update(f->s.seconds[i], f->s.values[i]));
    out.push_back(std::move(ss));
  }
  return out;
}

// The tuning objective. pooled: the standard score of the files as one corpus
// at its best threshold. catmean: the mean of each category's own normalised
// score, at the threshold that maximises that mean (every category counts the
// same, as every held-out category does in leave-one-category-out; a category
// without windows counts its false-flag cost against the mean window count).
bool g_catmean = false;
// --threshold=T: flag at T everywhere (no threshold is chosen on any data).
double g_threshold = -1;

double category_mean(const std::vector<const File*>& files, const nab::CorpusResult& r) {
  std::map<std::string, std::pair<double, double>> by_cat;  // raw, windows
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto& [raw, w] = by_cat[files[i]->category];
    raw += r.files[i].raw;
    w += static_cast<double>(r.files[i].windows);
  }
  const double mean_w = static_cast<double>(r.windows) / static_cast<double>(by_cat.size());
  double sum = 0;
  for (const auto& [c, rw] : by_cat) {
    const double w = rw.second > 0 ? rw.second : mean_w;
    sum += 100.0 * (rw.first + w) / (2 * w);
  }
  return sum / static_cast<double>(by_cat.size());
}

nab::CorpusResult best(const std::vector<const File*>& files, const Setting& s) {
  const auto corpus = run(files, params_of(s));
  const auto prof = nab::standard_profile();
  if (g_threshold >= 0) {
    auto r = nab::score_corpus_at(corpus, prof, g_threshold);
    if (g_catmean) r.normalized = category_mean(files, r);
    return r;
  }
  if (!g_catmean) return nab::score_corpus(corpus, prof);
  // The threshold too maximises the category mean (a grid of 0.005 steps).
  nab::CorpusResult top;
  top.normalized = -1e9;
  for (double t = 0.05; t <= 0.6; t += 0.005) {
    auto r = nab::score_corpus_at(corpus, prof, t);
    r.normalized = category_mean(files, r);
    if (r.normalized > top.normalized) top = std::move(r);
  }
  return top;
}

std::string text(const Setting& s, const std::vector<Free>& free) {
  std::string out;
  for (const auto& f : free) out += f.key + "=" + s.at(f.key) + " ";
  if (!out.empty()) out.pop_back();
  return out;
}

// Coordinate descent over the free settings; returns the setting and its result.
std::pair<Setting, nab::CorpusResult> tune(const std::vector<const File*>& train, Setting cur,
                                           const std::vector<Free>& free, int rounds, int jobs, bool verbose) {
  auto res = best(train, cur);
  for (int r = 0; r < rounds && !free.empty(); ++r) {
    bool improved = false;
    for (const auto& f : free) {
      std::vector<std::future<nab::CorpusResult>> pending;
      std::vector<Setting> trials;
      for (const auto& v : f.values) {
        if (v == cur[f.key]) continue;
        Setting t = cur;
        t[f.key] = v;
        trials.push_back(t);
      }
      std::vector<nab::CorpusResult> got(trials.size());
      for (std::size_t i = 0; i < trials.size(); i += static_cast<std::size_t>(jobs)) {
        pending.clear();
        for (std::size_t j = i; j < std::min(trials.size(), i + static_cast<std::size_t>(jobs)); ++j)
          pending.push_back(std::async(std::launch::async, [&, j] { return best(train, trials[j]); }));
        for (std::size_t j = 0; j < pending.size(); ++j) got[i + j] = pending[j].get();
      }
      for (std::size_t i = 0; i < trials.size(); ++i)
        if (got[i].normalized > res.normalized + 0.01) {
          res = got[i];
          cur = trials[i];
          improved = true;
          if (verbose) std::printf("    %s=%s -> %.2f\n", f.key.c_str(), cur[f.key].c_str(), res.normalized);
        }
    }
    if (!improved) break;
  }
  return {cur, res};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: nab-cv DATA_DIR [key=v|key=a,b,c ...] [--folds=loco|halves|none] [--rounds=N] [--jobs=N]\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::string folds = "loco";
  int rounds = 3, jobs = 1;
  bool verbose = false;
  Setting start;
  std::vector<Free> free;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--folds=", 0) == 0) { folds = a.substr(8); continue; }
    if (a.rfind("--rounds=", 0) == 0) { rounds = std::stoi(a.substr(9)); continue; }
    if (a.rfind("--jobs=", 0) == 0) { jobs = std::max(1, std::stoi(a.substr(7))); continue; }
    if (a == "--verbose") { verbose = true; continue; }
    if (a == "--objective=catmean") { g_catmean = true; continue; }
    if (a.rfind("--threshold=", 0) == 0) { g_threshold = std::stod(a.substr(12)); continue; }
    if (a == "--objective=pooled") { g_catmean = false; continue; }
    const auto eq = a.find('=');
    if (eq == std::string::npos) { std::cerr << "bad argument " << a << "\n"; return 2; }
    const std::string key = a.substr(0, eq), vals = a.substr(eq + 1);
    std::vector<std::string> list;
    for (std::size_t s = 0;;) {
      const auto c = vals.find(',', s);
      list.push_back(vals.substr(s, c - s));
      if (c == std::string::npos) break;
      s = c + 1;
    }
    analyze::DetectorParams probe;
    for (const auto& v : list)
      if (!probe.set(key, v)) { std::cerr << "bad setting " << key << "=" << v << "\n"; return 2; }
    start[key] = list[0];
    if (list.size() > 1) free.push_back({key, list});
  }

  auto labels = nab::read_labels(dir / "windows.json");
  if (!labels) { std::cerr << labels.error().message() << "\n"; return 1; }
  std::vector<File> files;
  for (const auto& [name, _] : *labels) {
    auto s = nab::read_series_csv(dir / name);
    if (!s) { std::cerr << s.error().message() << "\n"; return 1; }
    auto w = nab::windows_for(*labels, name, *s);
    if (!w) { std::cerr << w.error().message() << "\n"; return 1; }
    files.push_back({name, name.substr(0, name.find('/')), std::move(*s), std::move(*w)});
  }

  // Folds: (name, held-out files); training is the rest.
  std::vector<std::pair<std::string, std::vector<const File*>>> fold_list;
  if (folds == "loco") {
    std::map<std::string, std::vector<const File*>> by_cat;
    for (const auto& f : files) by_cat[f.category].push_back(&f);
    for (auto& [c, fs] : by_cat) fold_list.emplace_back(c, fs);
  } else if (folds == "halves") {
    for (int h = 0; h < 2; ++h) {
      std::vector<const File*> fs;
      for (std::size_t i = 0; i < files.size(); ++i)
        if (static_cast<int>(i % 2) == h) fs.push_back(&files[i]);
      fold_list.emplace_back("half" + std::to_string(h), fs);
    }
  } else if (folds != "none") {
    std::cerr << "bad --folds\n";
    return 2;
  }

  double raw = 0, null_score = 0, perfect = 0;
  std::size_t windows = 0, detected = 0, false_flags = 0;
  std::vector<nab::ScoredSeries> pooled;
  for (const auto& [name, held] : fold_list) {
    std::vector<const File*> train;
    for (const auto& f : files)
      if (std::find(held.begin(), held.end(), &f) == held.end()) train.push_back(&f);
    auto [setting, tr] = tune(train, start, free, rounds, jobs, verbose);
    auto out = run(held, params_of(setting));
    const auto at = nab::score_corpus_at(out, nab::standard_profile(), tr.threshold);
    raw += at.raw;
    null_score += at.null_score;
    perfect += at.perfect;
    windows += at.windows;
    detected += at.detected;
    false_flags += at.false_flags;
    std::printf("fold %-22s train=%.2f thr=%.4f | held-out raw=%+.3f windows=%zu det=%zu fp=%zu | %s\n", name.c_str(),
                tr.normalized, tr.threshold, at.raw, at.windows, at.detected, at.false_flags,
                text(setting, free).c_str());
    std::fflush(stdout);
    for (auto& s : out) pooled.push_back(std::move(s));
  }
  if (!fold_list.empty()) {
    const double norm = perfect > null_score ? 100.0 * (raw - null_score) / (perfect - null_score) : 0.0;
    const auto pt = nab::score_corpus(pooled, nab::standard_profile());
    std::printf("held-out pooled (training thresholds) std=%.2f det=%zu/%zu fp=%zu\n", norm, detected, windows,
                false_flags);
    std::printf("held-out pooled (one threshold chosen on them) std=%.2f thr=%.4f det=%zu/%zu fp=%zu\n",
                pt.normalized, pt.threshold, pt.detected, pt.windows, pt.false_flags);
  }
  std::vector<const File*> all;
  for (const auto& f : files) all.push_back(&f);
  auto [setting, res] = tune(all, start, free, rounds, jobs, verbose);
  std::printf("all files: std=%.2f thr=%.4f det=%zu/%zu fp=%zu | %s\n", res.normalized, res.threshold, res.detected,
              res.windows, res.false_flags, text(setting, free).c_str());
  return 0;
}
