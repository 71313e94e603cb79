#include "analyze/nab/nab_scorer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace reflex::nab {

CostProfile standard_profile() { return {"standard", 1.0, 0.11, 1.0}; }
CostProfile reward_low_fp_profile() { return {"reward_low_FP_rate", 1.0, 0.22, 1.0}; }
CostProfile reward_low_fn_profile() { return {"reward_low_FN_rate", 1.0, 0.11, 2.0}; }
std::vector<CostProfile> all_profiles() {
  return {standard_profile(), reward_low_fp_profile(), reward_low_fn_profile()};
}

double scaled_sigmoid(double x) {
  if (x >= 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * x)) - 1.0;
}

std::size_t probation_rows(std::size_t n_rows, double probation_fraction) {
  const double by_fraction = std::floor(probation_fraction * static_cast<double>(n_rows));
  return static_cast<std::size_t>(std::min(by_fraction, probation_fraction * 5000.0));
}

std::vector<SweptRow> sweep_series(const ScoredSeries& s, const CostProfile& p, int first_window_id) {
  const std::size_t n = s.scores.size();
  const std::size_t probation = probation_rows(n);
  const double max_tp = scaled_sigmoid(-1.0);
  std::vector<SweptRow> out(n);

  std::size_t next = 0;  // next window not yet entered
  bool in_window = false;
  std::size_t cur_last = 0;
  double cur_width = 0;
  int cur_id = -1;
  bool have_prev = false;
  std::size_t prev_last = 0;
  double prev_width = 0;

  for (std::size_t i = 0; i < n; ++i) {
    if (!in_window && next < s.windows.size() && s.windows[next].first == i) {
      in_window = true;
      cur_last = s.windows[next].last;
      cur_width = static_cast<double>(cur_last - s.windows[next].first + 1);
      cur_id = first_window_id + static_cast<int>(next);
      ++next;
    }
    double weight;
    if (in_window) {
      const double pos = -(static_cast<double>(cur_last) - static_cast<double>(i) + 1.0) / cur_width;
      weight = scaled_sigmoid(pos) * p.tp / max_tp;
    } else {
      double pos = 3.0;  // before any window: full cost
      if (have_prev && prev_width > 1.0)
        pos = std::abs(static_cast<double>(i) - static_cast<double>(prev_last)) / (prev_width - 1.0);
      weight = scaled_sigmoid(pos) * p.fp;
    }
    out[i] = SweptRow{s.scores[i], weight, i >= probation ? (in_window ? cur_id : -1) : -2};
    if (in_window && i == cur_last) {
      in_window = false;
      have_prev = true;
      prev_last = cur_last;
      prev_width = cur_width;
    }
  }
  return out;
}

namespace {

struct Swept {
  std::vector<SweptRow> rows;   // all scorable rows of the corpus
  std::vector<int> window_file; // window id -> file index
  std::size_t windows = 0;
};

Swept sweep_corpus(std::span<const ScoredSeries> corpus, const CostProfile& p) {
  Swept sw;
  int next_id = 0;
  for (std::size_t f = 0; f < corpus.size(); ++f) {
    auto rows = sweep_series(corpus[f], p, next_id);
    for (const auto& r : rows)
      if (r.window != -2) sw.rows.push_back(r);
    for (std::size_t w = 0; w < corpus[f].windows.size(); ++w) sw.window_file.push_back(static_cast<int>(f));
    next_id += static_cast<int>(corpus[f].windows.size());
  }
  sw.windows = static_cast<std::size_t>(next_id);
  return sw;
}

CorpusResult evaluate(std::span<const ScoredSeries> corpus, const CostProfile& p, const Swept& sw,
                      double threshold) {
  CorpusResult r;
  r.profile = p.name;
  r.threshold = threshold;
  r.windows = sw.windows;
  r.files.resize(corpus.size());
  std::vector<double> best(sw.windows, -p.fn);
  for (std::size_t f = 0; f < corpus.size(); ++f) {
    r.files[f].name = corpus[f].name;
    r.files[f].windows = corpus[f].windows.size();
  }
  // File of every scorable row, to attribute false flags.
  std::size_t f = 0, seen = 0;
  std::vector<std::size_t> scorable(corpus.size());
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const std::size_t n = corpus[i].scores.size();
    scorable[i] = n - probation_rows(n);
  }
  for (const auto& row : sw.rows) {
    while (f < corpus.size() && seen >= scorable[f]) { ++f; seen = 0; }
    ++seen;
    if (row.score < threshold) continue;
    if (row.window >= 0) {
      best[static_cast<std::size_t>(row.window)] = std::max(best[static_cast<std::size_t>(row.window)], row.weight);
    } else {
      r.files[f].raw += row.weight;
      r.files[f].false_flags++;
      r.false_flags++;
      r.raw += row.weight;
    }
  }
  for (std::size_t w = 0; w < sw.windows; ++w) {
    auto& fr = r.files[static_cast<std::size_t>(sw.window_file[w])];
    fr.raw += best[w];
    r.raw += best[w];
    if (best[w] > -p.fn) { fr.detected++; r.detected++; }
  }
  r.null_score = -p.fn * static_cast<double>(sw.windows);
  r.perfect = p.tp * static_cast<double>(sw.windows);
  const double span = r.perfect - r.null_score;
  r.normalized = span > 0 ? 100.0 * (r.raw - r.null_score) / span : 0.0;
  return r;
}

}  // namespace

CorpusResult score_corpus_at(std::span<const ScoredSeries> corpus, const CostProfile& p, double threshold) {
  return evaluate(corpus, p, sweep_corpus(corpus, p), threshold);
}

std::vector<CorpusResult> score_corpus_at(std::span<const ScoredSeries> corpus, const CostProfile& p,
                                          std::span<const double> thresholds) {
  const Swept sw = sweep_corpus(corpus, p);
  std::vector<CorpusResult> out;
  out.reserve(thresholds.size());
  for (double t : thresholds) out.push_back(evaluate(corpus, p, sw, t));
  return out;
}

CorpusResult score_corpus(std::span<const ScoredSeries> corpus, const CostProfile& p) {
  const Swept sw = sweep_corpus(corpus, p);
  std::vector<std::size_t> order(sw.rows.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return sw.rows[a].score > sw.rows[b].score; });

  // Lower the threshold one distinct score at a time; the total is the sum of
  // the false-flag costs so far plus each window's best flag (or -fn).
  std::vector<double> best(sw.windows, -p.fn);
  double total = -p.fn * static_cast<double>(sw.windows);
  double best_total = total;
  double best_threshold = 1.1;
  for (std::size_t k = 0; k < order.size();) {
    const double t = sw.rows[order[k]].score;
    for (; k < order.size() && sw.rows[order[k]].score == t; ++k) {
      const SweptRow& row = sw.rows[order[k]];
      if (row.window >= 0) {
        double& b = best[static_cast<std::size_t>(row.window)];
        if (row.weight > b) { total += row.weight - b; b = row.weight; }
      } else {
        total += row.weight;
      }
    }
    if (total > best_total) { best_total = total; best_threshold = t; }
  }
  return evaluate(corpus, p, sw, best_threshold);
}

}  // namespace reflex::nab
