#include "analyze/detector_params.h"

#include <charconv>
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
