//===- random_weights.h - seeded Gaussian data for the quantizer tests ----===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_UNIT_QUANTIZE_RANDOM_WEIGHTS_H
#define KILN_TEST_UNIT_QUANTIZE_RANDOM_WEIGHTS_H

#include <cstdint>
#include <random>
#include <vector>

/// `count` N(0, 1) floats from a generator seeded with `seed`.
inline std::vector<float> gaussian(int64_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(count);
  for (float &x : v)
    x = dist(rng);
  return v;
}

#endif // KILN_TEST_UNIT_QUANTIZE_RANDOM_WEIGHTS_H
