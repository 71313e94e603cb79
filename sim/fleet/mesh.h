#pragma once
// The fleet's mesh: where each node sits, how many hops apart two nodes are,
// and which nodes neighbour which (attacks that move walk along them).

#include "sim/fleet/scenario.h"

#include <vector>

namespace reflex::sim::fleet {

class Mesh {
 public:
  Mesh(int nodes, Layout layout);
  int size() const { return n_; }
  int hops(int a, int b) const;
  std::vector<int> neighbours(int a) const;

 private:
  int n_, cols_;
  Layout layout_;
};

// Deterministic randomness: every draw is a pure function of its inputs, so a
// node's traffic is the same whatever else runs and in whichever thread.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline std::uint64_t hash_of(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0, std::uint64_t d = 0) {
  return mix64(mix64(mix64(mix64(a) ^ b) ^ c) ^ d);
}
// Uniform in [0, 1).
inline double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }
// Standard normal (Box-Muller over two draws of h).
double normal(std::uint64_t h);

}  // namespace reflex::sim::fleet
