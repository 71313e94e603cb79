#include "analyze/hysteresis.h"

#include <gtest/gtest.h>

#include <vector>

namespace reflex::analyze {
namespace {

struct HystCase {
  const char* name;
  HysteresisConfig cfg;
  std::vector<double> values;
  std::vector<int> want;  // active after each value
};

TEST(Hysteresis, Table) {
  const std::vector<HystCase> cases = {
      {"raise at the raise level, clear at the clear level", {1.0, 0.5, 1, 1},
       {0.2, 1.0, 0.8, 0.6, 0.5, 0.9}, {0, 1, 1, 1, 0, 0}},
      {"hovering between the levels does not flap", {1.0, 0.5, 1, 1},
       {1.1, 0.9, 1.05, 0.95, 1.0, 0.7}, {1, 1, 1, 1, 1, 1}},
      {"needs consecutive ticks to raise", {1.0, 0.5, 2, 1}, {1.2, 0.3, 1.2, 1.3}, {0, 0, 0, 1}},
      {"needs consecutive ticks to clear", {1.0, 0.5, 1, 2}, {1.2, 0.1, 0.9, 0.1, 0.1}, {1, 1, 1, 1, 0}},
      {"lower is worse", {0.2, 0.5, 1, 1}, {0.9, 0.2, 0.4, 0.6}, {0, 1, 1, 0}},
  };
  for (const auto& c : cases) {
    Hysteresis h;
    for (std::size_t i = 0; i < c.values.size(); ++i)
      EXPECT_EQ(h.update(c.values[i], c.cfg, static_cast<TimeNs>(i)), c.want[i] == 1) << c.name << " step " << i;
  }
}

TEST(Hysteresis, SinceIsTheRaiseTime) {
  Hysteresis h;
  HysteresisConfig c{1.0, 0.5, 1, 1};
  h.update(0.0, c, 10);
  h.update(2.0, c, 20);
  h.update(2.0, c, 30);
  EXPECT_EQ(h.since(), 20);
}

}  // namespace
}  // namespace reflex::analyze
