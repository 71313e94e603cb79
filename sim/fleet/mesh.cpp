#include "sim/fleet/mesh.h"

#include <cmath>
#include <cstdlib>

namespace reflex::sim::fleet {

Mesh::Mesh(int nodes, Layout layout)
    : n_(nodes), cols_(std::max(1, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(nodes)))))), layout_(layout) {}

int Mesh::hops(int a, int b) const {
  switch (layout_) {
    case Layout::grid: return std::abs(a % cols_ - b % cols_) + std::abs(a / cols_ - b / cols_);
    case Layout::ring: {
      const int d = std::abs(a - b);
      return std::min(d, n_ - d);
    }
    case Layout::line: return std::abs(a - b);
  }
  return 0;
}

std::vector<int> Mesh::neighbours(int a) const {
  std::vector<int> out;
  auto add = [&](int b) {
    if (b >= 0 && b < n_ && b != a) out.push_back(b);
  };
  switch (layout_) {
    case Layout::grid:
      if (a % cols_ > 0) add(a - 1);
      if (a % cols_ < cols_ - 1) add(a + 1);
      add(a - cols_);
      add(a + cols_);
      break;
    case Layout::ring:
      add((a + 1) % n_);
      add((a + n_ - 1) % n_);
      break;
    case Layout::line:
      add(a - 1);
      add(a + 1);
      break;
  }
  return out;
}

double normal(std::uint64_t h) {
  const double u1 = std::max(unit(h), 1e-12), u2 = unit(mix64(h));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

}  // namespace reflex::sim::fleet
