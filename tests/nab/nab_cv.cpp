// nab-cv: cross-validated choice of detector settings on the NAB dev subset
// (development tool; the figures in docs/analyze.md come from it).
//
//   nab-cv DATA_DIR [key=v ...] [key=a,b,c ...] [--folds=loco|halves|none]
//          [--rounds=N] [--jobs=N] [--objective=pooled|catmean] [--threshold=T] [--smooth=K]
//          [--verbose]
//   nab-cv DATA_DIR --shipped [--folds=...]     the procedure the defaults come from
//
// key=v holds a setting at v; key=a,b,c makes it free, with those candidates
// (the search starts from the first). tests/nab/nab_cv.h describes the
// procedure and the pooling. Also printed, for comparison with earlier
// figures: the pooled held-out outputs scored as one corpus with one threshold
// chosen on them ("pooled threshold": the held-out labels pick it), and the
// settings the same procedure chooses on all files, with their plain
// (in-sample) dev score.

#include "analyze/detector_params.h"
#include "nab_cv.h"
#include "shipped_procedure.h"

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

using namespace reflex;

namespace {

std::string text(const nab::Setting& s, const std::vector<nab::FreeSetting>& free) {
  std::string out;
  for (const auto& f : free) out += f.key + "=" + s.at(f.key) + " ";
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: nab-cv DATA_DIR [--shipped] [key=v|key=a,b,c ...] [--folds=loco|halves|none] "
                 "[--rounds=N] [--jobs=N] [--objective=pooled|catmean] [--threshold=T] [--smooth=K]\n";
    return 2;
  }
  std::string folds = "loco";
  int rounds = 3, jobs = 1;
  bool verbose = false;
  nab::Objective objective;
  nab::Setting start;
  std::vector<nab::FreeSetting> free;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--folds=", 0) == 0) { folds = a.substr(8); continue; }
    if (a.rfind("--rounds=", 0) == 0) { rounds = std::stoi(a.substr(9)); continue; }
    if (a.rfind("--jobs=", 0) == 0) { jobs = std::max(1, std::stoi(a.substr(7))); continue; }
    if (a.rfind("--threshold=", 0) == 0) { objective.fixed_threshold = std::stod(a.substr(12)); continue; }
    if (a == "--objective=catmean") { objective.catmean = true; continue; }
    if (a == "--objective=pooled") { objective.catmean = false; continue; }
    if (a == "--verbose") { verbose = true; continue; }
    if (a.rfind("--smooth=", 0) == 0) { objective.smooth = std::stoi(a.substr(9)); continue; }
    if (a == "--shipped") {
      const auto p = nab::shipped_procedure();
      start = p.start;
      free = p.free;
      rounds = p.rounds;
      objective = p.objective;
      continue;
    }
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

  auto files = nab::load_corpus(argv[1]);
  if (!files) { std::cerr << files.error().message() << "\n"; return 1; }
  std::vector<nab::Fold> fold_list;
  if (folds == "loco") fold_list = nab::category_folds(*files);
  else if (folds == "halves") fold_list = nab::alternate_folds(*files);
  else if (folds != "none") { std::cerr << "bad --folds\n"; return 2; }

  if (!fold_list.empty()) {
    const auto cv = nab::cross_validate(*files, fold_list, start, free, rounds, objective, jobs, verbose);
    std::vector<nab::ScoredSeries> pooled;
    for (const auto& f : cv.folds) {
      std::printf("fold %-22s train=%.2f thr=%.4f | held-out raw=%+.3f windows=%zu det=%zu fp=%zu | %s\n",
                  f.name.c_str(), f.tuned.train.normalized, f.tuned.train.threshold, f.held_out.raw,
                  f.held_out.windows, f.held_out.detected, f.held_out.false_flags,
                  text(f.tuned.setting, free).c_str());
      pooled.insert(pooled.end(), f.outputs.begin(), f.outputs.end());
    }
    const auto pt = nab::score_corpus(pooled, nab::standard_profile());
    std::printf("held-out pooled (training thresholds) std=%.2f det=%zu/%zu fp=%zu\n", cv.pooled, cv.detected,
                cv.windows, cv.false_flags);
    std::printf("held-out pooled (one threshold chosen on them) std=%.2f thr=%.4f det=%zu/%zu fp=%zu\n",
                pt.normalized, pt.threshold, pt.detected, pt.windows, pt.false_flags);
  }
  std::vector<const nab::LabelledFile*> all;
  for (const auto& f : *files) all.push_back(&f);
  const auto t = nab::tune(all, start, free, rounds, objective, jobs, verbose);
  const auto plain = nab::score_corpus(nab::run_detector(all, t.setting), nab::standard_profile());
  std::printf("all files: objective=%.2f thr=%.4f | plain dev std=%.2f thr=%.4f det=%zu/%zu fp=%zu | %s\n",
              t.train.normalized, t.train.threshold, plain.normalized, plain.threshold, plain.detected, plain.windows,
              plain.false_flags, text(t.setting, free).c_str());
  return 0;
}
