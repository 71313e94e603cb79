#include "nab_cv.h"

#include "analyze/detector_params.h"
#include "analyze/series_detector.h"

#include <algorithm>
#include <cstdio>
#include <future>

namespace reflex::nab {
namespace {

analyze::DetectorParams params_of(const Setting& s) {
  analyze::DetectorParams p;
  for (const auto& [k, v] : s) p.set(k, v);
  return p;
}

double category_mean(const std::vector<const LabelledFile*>& files, const CorpusResult& r) {
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

CorpusResult evaluate(const std::vector<const LabelledFile*>& files, const Setting& s, const Objective& o) {
  const auto corpus = run_detector(files, s);
  const auto prof = standard_profile();
  if (o.fixed_threshold >= 0) {
    auto r = score_corpus_at(corpus, prof, o.fixed_threshold);
    if (o.catmean) r.normalized = category_mean(files, r);
    return r;
  }
  if (!o.catmean) return score_corpus(corpus, prof);
  std::vector<double> grid;
  for (int k = 10; k <= 120; ++k) grid.push_back(0.005 * k);
  auto rs = score_corpus_at(corpus, prof, grid);
  std::vector<double> v;
  for (auto& r : rs) v.push_back(category_mean(files, r));
  const int h = o.smooth;
  std::size_t best = 0;
  double best_v = -1e9;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    double sum = 0;
    int n = 0;
    for (int d = -h; d <= h; ++d) {
      const auto j = static_cast<std::ptrdiff_t>(i) + d;
      if (j < 0 || j >= static_cast<std::ptrdiff_t>(rs.size())) continue;
      sum += v[static_cast<std::size_t>(j)];
      ++n;
    }
    if (sum / n > best_v) { best_v = sum / n; best = i; }
  }
  CorpusResult top = std::move(rs[best]);
  top.normalized = best_v;
  return top;
}

}  // namespace

Result<std::vector<LabelledFile>> load_corpus(const std::filesystem::path& dir) {
  auto labels = read_labels(dir / "windows.json");
  if (!labels) return labels.error();
  std::vector<LabelledFile> files;
  for (const auto& [name, _] : *labels) {
    auto s = read_series_csv(dir / name);
    if (!s) return s.error();
    auto w = windows_for(*labels, name, *s);
    if (!w) return w.error();
    files.push_back({name, name.substr(0, name.find('/')), std::move(*s), std::move(*w)});
  }
  return files;
}

std::vector<ScoredSeries> run_detector(const std::vector<const LabelledFile*>& files, const Setting& s) {
  const auto p = params_of(s);
  std::vector<ScoredSeries> out;
  out.reserve(files.size());
  for (const LabelledFile* f : files) {
    analyze::SeriesDetector d(p);
    ScoredSeries ss{f->name, {}, f->windows};
    ss.scores.reserve(f->series.values.size());
    for (std::size_t i = 0; i < f->series.values.size(); ++i)
      ss.scores.push_back(d.update(f->series.seconds[i], f->series.values[i]));
    out.push_back(std::move(ss));
  }
  return out;
}

Tuned tune(const std::vector<const LabelledFile*>& train, Setting cur, const std::vector<FreeSetting>& free,
           int rounds, const Objective& objective, int jobs, bool verbose) {
  auto res = evaluate(train, cur, objective);
  const auto step = static_cast<std::size_t>(std::max(1, jobs));
  for (int r = 0; r < rounds && !free.empty(); ++r) {
    bool improved = false;
    for (const auto& f : free) {
      std::vector<Setting> trials;
      for (const auto& v : f.values)
        if (v != cur[f.key]) {
          trials.push_back(cur);
          trials.back()[f.key] = v;
        }
      std::vector<CorpusResult> got(trials.size());
      for (std::size_t i = 0; i < trials.size(); i += step) {
        std::vector<std::future<CorpusResult>> pending;
        for (std::size_t j = i; j < std::min(trials.size(), i + step); ++j)
          pending.push_back(std::async(std::launch::async, [&, j] { return evaluate(train, trials[j], objective); }));
        for (std::size_t j = 0; j < pending.size(); ++j) got[i + j] = pending[j].get();
      }
      // Strictly better by 0.01, first candidate in the list order wins ties.
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

std::vector<Fold> category_folds(const std::vector<LabelledFile>& files) {
  std::map<std::string, Fold> by_cat;
  for (const auto& f : files) {
    by_cat[f.category].name = f.category;
    by_cat[f.category].held_out.push_back(&f);
  }
  std::vector<Fold> out;
  for (auto& [_, fold] : by_cat) out.push_back(std::move(fold));
  return out;
}

std::vector<Fold> alternate_folds(const std::vector<LabelledFile>& files) {
  std::vector<Fold> out(2);
  for (std::size_t i = 0; i < files.size(); ++i) {
    out[i % 2].name = "half" + std::to_string(i % 2);
    out[i % 2].held_out.push_back(&files[i]);
  }
  return out;
}

CrossValidation cross_validate(const std::vector<LabelledFile>& files, const std::vector<Fold>& folds,
                               const Setting& start, const std::vector<FreeSetting>& free, int rounds,
                               const Objective& objective, int jobs, bool verbose) {
  CrossValidation cv;
  double raw = 0, null_score = 0, perfect = 0;
  for (const auto& fold : folds) {
    std::vector<const LabelledFile*> train;
    for (const auto& f : files)
      if (std::find(fold.held_out.begin(), fold.held_out.end(), &f) == fold.held_out.end()) train.push_back(&f);
    FoldResult fr{fold.name, tune(train, start, free, rounds, objective, jobs, verbose), {}, {}};
    fr.outputs = run_detector(fold.held_out, fr.tuned.setting);
    fr.held_out = score_corpus_at(fr.outputs, standard_profile(), fr.tuned.train.threshold);
    raw += fr.held_out.raw;
    null_score += fr.held_out.null_score;
    perfect += fr.held_out.perfect;
    cv.windows += fr.held_out.windows;
    cv.detected += fr.held_out.detected;
    cv.false_flags += fr.held_out.false_flags;
    cv.folds.push_back(std::move(fr));
  }
  cv.pooled = perfect > null_score ? 100.0 * (raw - null_score) / (perfect - null_score) : 0.0;
  return cv;
}

}  // namespace reflex::nab
