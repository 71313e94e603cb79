// nab-lab: development tool for measuring the detector on the NAB dev subset.
//   nab-lab DATA_DIR [key=value ...] [key=v1,v2,v3 ...] [--files] [--half=0|1]
// Runs the detector over every labelled file with the given settings (a list of
// values sweeps that key), and prints the normalised score of each profile.
// --half=k keeps only every other file (k = 0 or 1) for hold-out checks;
// --only=PREFIX / --skip=PREFIX keep or leave out files by name (a category).
// --windows reports each window's first flag; --trace=F writes every row.

#include "analyze/detector_params.h"
#include "analyze/nab/nab_scorer.h"
#include "analyze/nab/series_csv.h"
#include "analyze/series_detector.h"

#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace reflex;

namespace {

// Per window: where the first flag fell (fraction of the window, 0 = first row)
// and what it earned, or the window's best score when it was missed; per file:
// what its false flags cost. Shows which misses and false alarms matter most.
void print_windows(const std::vector<nab::ScoredSeries>& corpus, double thr) {
  const auto prof = nab::standard_profile();
  double fp_total = 0, tp_total = 0;
  for (const auto& ss : corpus) {
    const auto rows = nab::sweep_series(ss, prof, 0);
    double fp_cost = 0;
    for (const auto& r : rows)
      if (r.window == -1 && r.score >= thr) fp_cost += r.weight;
    fp_total += fp_cost;
    std::printf("  %-58s fp_cost=%+.3f", ss.name.c_str(), fp_cost);
    for (std::size_t w = 0; w < ss.windows.size(); ++w) {
      const auto [first, last] = ss.windows[w];
      double best = -1, peak = 0;
      std::size_t at = 0;
      for (std::size_t i = first; i <= last; ++i) {
        peak = std::max(peak, ss.scores[i]);
        if (rows[i].window != -2 && ss.scores[i] >= thr && rows[i].weight > best) { best = rows[i].weight; at = i; }
      }
      tp_total += best;
      if (best > -1) std::printf(" | w%zu hit@%.2f %+.2f", w, double(at - first) / double(last - first + 1), best);
      else std::printf(" | w%zu MISS peak=%.3f%s", w, peak, rows[first].window == -2 ? " (probation)" : "");
    }
    std::printf("\n");
  }
  std::printf("  total tp=%+.3f fp=%+.3f\n", tp_total, fp_total);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: nab-lab DATA_DIR [key=value|key=a,b,c ...] [--files] [--half=k]\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  auto labels = nab::read_labels(dir / "windows.json");
  if (!labels) { std::cerr << labels.error().message() << "\n"; return 1; }
  bool per_file = false;
  bool per_window = false;
  std::FILE* trace = nullptr;  // per-row components, for offline analysis
  std::string dump;
  int random_n = 0;
  unsigned seed = 1;
  int half = -1;
  std::string only, skip;  // keep only / leave out files whose name starts with this
  std::vector<std::pair<std::string, std::vector<std::string>>> sweeps;
  analyze::DetectorParams base;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--files") { per_file = true; continue; }
    if (a == "--windows") { per_window = true; continue; }
    if (a.rfind("--trace=", 0) == 0) { trace = std::fopen(a.substr(8).c_str(), "w"); continue; }
    if (a.rfind("--dump=", 0) == 0) { dump = a.substr(7); continue; }
    if (a.rfind("--random=", 0) == 0) { random_n = std::stoi(a.substr(9)); continue; }
    if (a.rfind("--seed=", 0) == 0) { seed = static_cast<unsigned>(std::stoul(a.substr(7))); continue; }
    if (a.rfind("--half=", 0) == 0) { half = std::stoi(a.substr(7)); continue; }
    if (a.rfind("--only=", 0) == 0) { only = a.substr(7); continue; }
    if (a.rfind("--skip=", 0) == 0) { skip = a.substr(7); continue; }
    auto eq = a.find('=');
    if (eq == std::string::npos) { std::cerr << "bad arg " << a << "\n"; return 2; }
    std::string key = a.substr(0, eq), vals = a.substr(eq + 1);
    std::vector<std::string> list;
    size_t s = 0;
    while (true) { auto c = vals.find(',', s); list.push_back(vals.substr(s, c - s)); if (c == std::string::npos) break; s = c + 1; }
    if (!base.set(key, list[0])) { std::cerr << "bad param " << a << "\n"; return 2; }
    if (list.size() > 1) sweeps.emplace_back(key, list);
  }
  struct File { std::string name; nab::Series s; std::vector<nab::Window> w; };
  std::vector<File> files;
  int idx = 0;
  for (const auto& [name, _] : *labels) {
    auto s = nab::read_series_csv(dir / name);
    if (!s) { std::cerr << s.error().message() << "\n"; return 1; }
    auto w = nab::windows_for(*labels, name, *s);
    if (!w) { std::cerr << w.error().message() << "\n"; return 1; }
    const bool picked = (only.empty() || name.rfind(only, 0) == 0) && (skip.empty() || name.rfind(skip, 0) != 0);
    if (picked && (half < 0 || idx % 2 == half)) files.push_back({name, std::move(*s), std::move(*w)});
    ++idx;
  }
  // Cartesian product of the sweeps.
  std::vector<size_t> pos(sweeps.size(), 0);
  std::mt19937 rng(seed);
  int iter = 0;
  if (random_n > 0)
    for (size_t k = 0; k < sweeps.size(); ++k) pos[k] = rng() % sweeps[k].second.size();
  while (true) {
    analyze::DetectorParams p = base;
    std::string label;
    for (size_t k = 0; k < sweeps.size(); ++k) {
      p.set(sweeps[k].first, sweeps[k].second[pos[k]]);
      label += sweeps[k].first + "=" + sweeps[k].second[pos[k]] + " ";
    }
    std::vector<nab::ScoredSeries> corpus;
    for (const auto& f : files) {
      analyze::SeriesDetector d(p);
      nab::ScoredSeries ss{f.name, {}, f.w};
      ss.scores.reserve(f.s.values.size());
      for (size_t i = 0; i < f.s.values.size(); ++i) {
        ss.scores.push_back(d.update(f.s.seconds[i], f.s.values[i]));
        if (trace) {
          std::fprintf(trace, "%s,%zu,%.6g,%.6f", f.name.c_str(), i, f.s.values[i], ss.scores.back());
          for (double v : d.last_surprise()) std::fprintf(trace, ",%.3f", v);
          for (double v : d.last_z()) std::fprintf(trace, ",%.3f", v);
          std::fprintf(trace, "\n");
        }
      }
      corpus.push_back(std::move(ss));
    }
    std::vector<nab::CorpusResult> rs;
    for (const auto& prof : nab::all_profiles()) rs.push_back(nab::score_corpus(corpus, prof));
    std::printf("%s std=%.2f lowFP=%.2f lowFN=%.2f thr=%.4f det=%zu/%zu fp=%zu\n", label.c_str(), rs[0].normalized,
                rs[1].normalized, rs[2].normalized, rs[0].threshold, rs[0].detected, rs[0].windows, rs[0].false_flags);
    if (per_file)
      for (const auto& fr : rs[0].files)
        std::printf("  %-62s win=%zu det=%zu fp=%3zu raw=%+.3f\n", fr.name.c_str(), fr.windows, fr.detected,
                    fr.false_flags, fr.raw);
    if (per_window) print_windows(corpus, rs[0].threshold);
    for (const auto& ss : corpus) {
      if (dump.empty() || ss.name.find(dump) == std::string::npos) continue;
      std::printf("  %s n=%zu probation=%zu windows:", ss.name.c_str(), ss.scores.size(), nab::probation_rows(ss.scores.size()));
      for (auto w : ss.windows) std::printf(" [%zu,%zu]", w.first, w.last);
      std::printf("\n   flags:");
      for (size_t i = nab::probation_rows(ss.scores.size()); i < ss.scores.size(); ++i)
        if (ss.scores[i] >= rs[0].threshold) std::printf(" %zu(%.3f)", i, ss.scores[i]);
      std::printf("\n");
    }
    std::fflush(stdout);
    if (random_n > 0) {
      if (++iter >= random_n) break;
      for (size_t k = 0; k < sweeps.size(); ++k) pos[k] = rng() % sweeps[k].second.size();
      continue;
    }
    size_t k = 0;
    for (; k < sweeps.size(); ++k) { if (++pos[k] < sweeps[k].second.size()) break; pos[k] = 0; }
    if (k == sweeps.size()) break;
  }
  if (trace) std::fclose(trace);
  if (sweeps.empty()) std::printf("params: %s\n", base.to_string().c_str());
  return 0;
}
