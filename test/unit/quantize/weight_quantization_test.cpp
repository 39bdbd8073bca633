//===- weight_quantization_test.cpp - group-wise weight quantizer ---------===//
//
// Part of kiln. Properties of quantizeWeights (kiln-weight-quantize's
// quantizer): values in range, round-to-nearest error bounds, zero points,
// the partial last group, all-zero groups, and the clipping search never
// losing to the full range.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/WeightQuantization.h"

#include "test/unit/quantize/random_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir::kiln;

namespace {

/// Dequantized weight (k, c) of `q` ([k, n], groups of `g`).
float dequant(const QuantizedWeights &q, int64_t r, int64_t c, int64_t n,
              int64_t g, bool symmetric) {
  int64_t gi = r / g;
  int value = symmetric ? int(q.values[r * n + c])
                        : int(uint8_t(q.values[r * n + c]));
  int zero = symmetric ? 0 : int(uint8_t(q.zeroPoints[gi * n + c]));
  return float(value - zero) * q.scales[gi * n + c];
}

/// Squared dequantization error of each (group, column).
std::vector<double> groupErrors(const std::vector<float> &w,
                                const QuantizedWeights &q, int64_t k,
                                int64_t n, int64_t g, bool symmetric) {
  int64_t groups = (k + g - 1) / g;
  std::vector<double> e(groups * n, 0.0);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double d = dequant(q, r, c, n, g, symmetric) - w[r * n + c];
      e[(r / g) * n + c] += d * d;
    }
  return e;
}

TEST(WeightQuantization, SymmetricRoundToNearest) {
  const int64_t k = 70, n = 5, g = 32; // a partial last group of 6
  std::vector<float> w = gaussian(k * n, 1);
  for (unsigned bits : {4u, 8u}) {
    QuantizedWeights q = quantizeWeights(w, k, n, bits, g, true, false);
    ASSERT_EQ(q.scales.size(), size_t(3 * n));
    EXPECT_TRUE(q.zeroPoints.empty());
    int qmax = (1 << (bits - 1)) - 1;
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; ++c) {
        int v = q.values[r * n + c];
        EXPECT_GE(v, -qmax - 1);
        EXPECT_LE(v, qmax);
        float s = q.scales[(r / g) * n + c];
        // Nothing clips at the full range: error at most half a step.
        EXPECT_LE(std::fabs(dequant(q, r, c, n, g, true) - w[r * n + c]),
                  0.5f * s * (1 + 1e-5f));
      }
    // The largest magnitude of a group maps to +-qmax exactly.
    for (int64_t c = 0; c < n; ++c) {
      float amax = 0.0f;
      for (int64_t r = 0; r < g; ++r)
        amax = std::max(amax, std::fabs(w[r * n + c]));
      EXPECT_FLOAT_EQ(q.scales[c], amax / float(qmax));
    }
  }
}

TEST(WeightQuantization, AsymmetricZeroPoints) {
  const int64_t k = 64, n = 3, g = 16;
  std::vector<float> w = gaussian(k * n, 2);
  for (float &x : w)
    x += 0.7f; // mostly positive: the zero point moves off the middle
  QuantizedWeights q = quantizeWeights(w, k, n, 4, g, false, false);
  ASSERT_EQ(q.zeroPoints.size(), size_t(4 * n));
  for (int8_t z : q.zeroPoints)
    EXPECT_LE(int(uint8_t(z)), 15);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      EXPECT_LE(int(uint8_t(q.values[r * n + c])), 15);
      float s = q.scales[(r / g) * n + c];
      // The zero point is rounded, so one end may clip by up to half a step.
      EXPECT_LE(std::fabs(dequant(q, r, c, n, g, false) - w[r * n + c]),
                s * (1 + 1e-5f));
    }
}

TEST(WeightQuantization, ZeroGroupsGetUnitScale) {
  std::vector<float> w(32 * 2, 0.0f);
  QuantizedWeights q = quantizeWeights(w, 32, 2, 4, 32, true, true);
  for (float s : q.scales)
    EXPECT_EQ(s, 1.0f);
  for (int8_t v : q.values)
    EXPECT_EQ(v, 0);
}

TEST(WeightQuantization, ClippingSearchNeverLoses) {
  const int64_t k = 256, n = 64, g = 32;
  std::vector<float> w = gaussian(k * n, 3);
  for (bool symmetric : {true, false}) {
    QuantizedWeights full = quantizeWeights(w, k, n, 4, g, symmetric, false);
    QuantizedWeights mse = quantizeWeights(w, k, n, 4, g, symmetric, true);
    std::vector<double> ef = groupErrors(w, full, k, n, g, symmetric);
    std::vector<double> em = groupErrors(w, mse, k, n, g, symmetric);
    double sumFull = 0, sumMse = 0;
    int shrunk = 0;
    for (size_t i = 0; i < ef.size(); ++i) {
      EXPECT_LE(em[i], ef[i] * (1 + 1e-9)) << "group " << i;
      sumFull += ef[i];
      sumMse += em[i];
      shrunk += mse.scales[i] < full.scales[i];
    }
    // On Gaussian groups of 32 a shrunk range often wins.
    EXPECT_LT(sumMse, 0.95 * sumFull) << "symmetric " << symmetric;
    EXPECT_GT(shrunk, int(ef.size() / 4)) << "symmetric " << symmetric;
  }
}

TEST(WeightQuantization, RoundToHalf) {
  EXPECT_EQ(roundToHalf(1.0f), 1.0f);
  EXPECT_EQ(roundToHalf(8.0f / 15.0f), 0.533203125f); // 0x3844
  EXPECT_EQ(roundToHalf(1.0f + 1.0f / 4096.0f), 1.0f); // below half an ulp
  EXPECT_EQ(roundToHalf(1.0f + 3.0f / 2048.0f), 1.0f + 2.0f / 1024.0f); // tie to even
  EXPECT_EQ(roundToHalf(1e6f), 65504.0f);                // saturates
  EXPECT_EQ(roundToHalf(std::ldexp(1.0f, -24)), std::ldexp(1.0f, -24)); // subnormal
  EXPECT_EQ(roundToHalf(std::ldexp(1.0f, -26)), 0.0f);
}

TEST(WeightQuantization, Mixed24) {
  const int64_t k = 128, n = 64, g = 32, tile = 16;
  std::vector<float> w = gaussian(k * n, 4);
  QuantizedWeights q = quantizeMixed24(w, k, n, g, tile, 0.25, false);
  ASSERT_EQ(q.zeroPoints.size(), size_t(4 * n));
  int wide = 0;
  for (int64_t gi = 0; gi < 4; ++gi)
    for (int64_t t = 0; t < n / tile; ++t) {
      int maxValue = 0;
      for (int64_t r = gi * g; r < (gi + 1) * g; ++r)
        for (int64_t c = t * tile; c < (t + 1) * tile; ++c)
          maxValue = std::max(maxValue, int(uint8_t(q.values[r * n + c])));
      EXPECT_LE(maxValue, 15);
      wide += maxValue > 3; // a 2-bit block never exceeds 3
    }
  EXPECT_EQ(wide, 4); // a quarter of the 16 blocks
  for (float s : q.scales)
    EXPECT_EQ(roundToHalf(s), s);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      float s = q.scales[(r / g) * n + c];
      EXPECT_LE(std::fabs(dequant(q, r, c, n, g, false) - w[r * n + c]),
                s * (1 + 1e-5f));
    }
}

} // namespace
