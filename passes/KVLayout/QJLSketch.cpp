//===- QJLSketch.cpp - the fixed Gaussian projection of QJL keys ----------===//
//
// Part of kiln. See QJLSketch.h for the exact generator.
//
//===----------------------------------------------------------------------===//

#include "passes/KVLayout/QJLSketch.h"

#include <algorithm>
#include <cmath>

namespace {
/// Each block of d columns of P [d, m] (the last one maybe narrower)
/// replaced by its Gram-Schmidt orthonormal basis scaled by sqrt(d): the
/// Q of P's QR decomposition with R's diagonal positive.
void orthogonalizeBlocks(std::vector<float> &p, int64_t d, int64_t m) {
  for (int64_t c0 = 0; c0 < m; c0 += d) {
    int64_t width = std::min(d, m - c0);
    std::vector<std::vector<double>> q;
    for (int64_t c = c0; c < c0 + width; ++c) {
      std::vector<double> v(d);
      for (int64_t i = 0; i < d; ++i)
        v[i] = p[i * m + c];
      for (const std::vector<double> &u : q) {
        double dot = 0;
        for (int64_t i = 0; i < d; ++i)
          dot += u[i] * v[i];
        for (int64_t i = 0; i < d; ++i)
          v[i] -= dot * u[i];
      }
      double norm = 0;
      for (double x : v)
        norm += x * x;
      norm = std::sqrt(norm);
      for (double &x : v)
        x /= norm;
      q.push_back(v);
    }
    for (int64_t c = 0; c < width; ++c)
      for (int64_t i = 0; i < d; ++i)
        p[i * m + c0 + c] = float(q[c][i] * std::sqrt(double(d)));
  }
}
} // namespace

std::vector<float> mlir::kiln::qjlSketch(int64_t d, int64_t m, uint64_t seed,
                                         bool orthogonal) {
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
  if (orthogonal)
    orthogonalizeBlocks(p, d, m);
  return p;
}
