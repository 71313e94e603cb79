#include "analyze/detector_params.h"

#include <charconv>
#include <cstring>
#include <deque>
#include <mutex>
#include <sstream>
#include <string>

namespace reflex::analyze {
namespace {

template <class T>
bool parse(std::string_view s, T& out) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return false;
  out = v;
  return true;
}

}  // namespace

#define REFLEX_PARAMS(X)                                                                                   \
  X(warmup) X(alpha_long) X(alpha_short) X(alpha_var) X(clip_z) X(w_point) X(w_short) X(w_var) X(w_seas)      \
  X(season_bins) X(alpha_season) X(season_period) X(w_mid) X(alpha_mid) X(rp_margin) X(len_offset)            \
  X(suppress_rows) X(suppress_min) X(suppress_factor) X(w_range) X(range_warmup) X(out_scale)

bool DetectorParams::set(std::string_view key, std::string_view value) {
#define X(name) if (key == #name) return parse(value, name);
  REFLEX_PARAMS(X)
#undef X
  return false;
}

bool DetectorParams::same_as(const DetectorParams& o) const {
#define X(name) if (std::memcmp(&name, &o.name, sizeof name) != 0) return false;
  REFLEX_PARAMS(X)
#undef X
  return true;
}

const DetectorParams& DetectorParams::interned(const DetectorParams& p) {
  // Detectors are made one after another with the same settings (a
  // source's gate, a NAB run's series): the last one found answers most
  // calls without the lock. Distinct settings are few (the defaults, the
  // signals', a cross-validation's candidates), so a list searched in
  // order is enough; a deque keeps every element where it was.
  thread_local const DetectorParams* last = nullptr;
  if (last && last->same_as(p)) return *last;
  static std::mutex mu;
  static std::deque<DetectorParams> table;
  std::lock_guard lock(mu);
  for (const auto& q : table)
    if (q.same_as(p)) return *(last = &q);
  return *(last = &table.emplace_back(p));
}

std::string DetectorParams::to_string() const {
  std::ostringstream os;
#define X(name) os << #name << '=' << name << ' ';
  REFLEX_PARAMS(X)
#undef X
  std::string s = os.str();
  if (!s.empty()) s.pop_back();
  return s;
}

}  // namespace reflex::analyze
