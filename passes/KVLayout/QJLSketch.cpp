//===- QJLSketch.cpp - the fixed Gaussian projection of QJL keys ----------===//
//
// Part of kiln. See QJLSketch.h for the exact generator.
//
//===----------------------------------------------------------------------===//

#include "passes/KVLayout/QJLSketch.h"

#include <cmath>

std::vector<float> mlir::kiln::qjlSketch(int64_t d, int64_t m,
                                         uint64_t seed) {
  uint64_t x = seed;
  auto next = [&x]() {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  // In (0, 1]: never 0, so the logarithm is finite.
  auto uniform = [&]() { return double((next() >> 11) + 1) * 0x1p-53; };
  std::vector<float> p(size_t(d * m));
  for (size_t i = 0; i < p.size(); i += 2) {
    double r = std::sqrt(-2.0 * std::log(uniform()));
    double angle = 2.0 * M_PI * uniform();
    p[i] = float(r * std::cos(angle));
    if (i + 1 < p.size())
      p[i + 1] = float(r * std::sin(angle));
  }
  return p;
}
