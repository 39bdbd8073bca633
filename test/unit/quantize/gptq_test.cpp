//===- gptq_test.cpp - GPTQ rounding and the calibration Hessians ---------===//
//
// Part of kiln. InputHessian (sum x x^T, its file round trip and the
// reader's errors), the Cholesky factor, and quantizeGPTQ: with an H that
// correlates nothing it is exactly round to nearest; with correlated
// inputs its output error (measured through X, not H) is well below round
// to nearest's; an unusable H falls back to round to nearest.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/GPTQ.h"
#include "passes/Quantize/InputHessian.h"

#include "test/unit/quantize/random_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

using namespace mlir::kiln;

namespace {

/// Rows of correlated inputs: x = z A + 3 z_0 (a shared component), with
/// channel scales from 0.1 to 10, like activations feeding a matmul.
std::vector<float> correlatedInputs(int64_t rows, int64_t k, unsigned seed) {
  std::vector<float> z = gaussian(rows * k, seed), a = gaussian(k * k, seed + 1);
  std::vector<float> x(rows * k, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j) {
      double s = 3.0 * z[r * k];
      for (int64_t p = 0; p < k; ++p)
        s += double(z[r * k + p]) * a[p * k + j] / std::sqrt(double(k));
      x[r * k + j] = float(s * std::pow(10.0, 2.0 * j / (k - 1) - 1.0));
    }
  return x;
}

GroupFitter rounding(unsigned bits, bool symmetric) {
  return [=](const float *w, int64_t stride, int64_t count, int64_t, int64_t) {
    return fitGroup(w, stride, count, bits, symmetric, /*searchClipping=*/true,
                    /*halfScale=*/false);
  };
}

/// ||X (dequant(q) - W)|| / ||X W|| computed from the rows of X.
double measuredOutputError(const std::vector<float> &x, int64_t rows,
                           const std::vector<float> &w,
                           const QuantizedWeights &q, int64_t k, int64_t n,
                           int64_t g) {
  double num = 0, den = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double y = 0, yq = 0;
      for (int64_t j = 0; j < k; ++j) {
        y += double(x[r * k + j]) * w[j * n + c];
        yq += double(x[r * k + j]) * dequantizedWeight(q, j, c, n, g);
      }
      num += (yq - y) * (yq - y);
      den += y * y;
    }
  return std::sqrt(num / den);
}

TEST(InputHessian, SumOfOuterProducts) {
  const int64_t k = 5, rows = 7;
  std::vector<float> x = gaussian(rows * k, 3);
  x[2 * k + 1] = NAN; // counts as 0
  InputHessian h(k);
  h.observe(x.data(), 3);
  h.observe(x.data() + 3 * k, rows - 3);
  EXPECT_EQ(h.rows(), uint64_t(rows));
  std::vector<double> m = h.matrix();
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) {
      double want = 0;
      for (int64_t r = 0; r < rows; ++r) {
        double xa = std::isnan(x[r * k + a]) ? 0 : x[r * k + a];
        double xb = std::isnan(x[r * k + b]) ? 0 : x[r * k + b];
        want += xa * xb;
      }
      EXPECT_NEAR(m[a * k + b], want, 1e-9 * (1 + std::fabs(want)));
    }
}

TEST(InputHessian, FileRoundTripAndErrors) {
  std::string path = ::testing::TempDir() + "kiln_hessians_test.bin";
  std::vector<InputHessian> hs{InputHessian(3), InputHessian(2)};
  std::vector<float> x = gaussian(12, 4);
  hs[0].observe(x.data(), 4);
  hs[1].observe(x.data(), 6);
  std::string error;
  ASSERT_TRUE(writeHessians(path, hs, error)) << error;
  {
    HessianReader reader;
    ASSERT_TRUE(reader.open(path, error)) << error;
    EXPECT_EQ(reader.count(), 2u);
    for (const InputHessian &want : hs) {
      InputHessian got;
      ASSERT_TRUE(reader.next(got, error)) << error;
      EXPECT_EQ(got.k(), want.k());
      EXPECT_EQ(got.rows(), want.rows());
      EXPECT_EQ(got.matrix(), want.matrix());
    }
    InputHessian extra;
    EXPECT_FALSE(reader.next(extra, error));
    EXPECT_NE(error.find("fewer than"), std::string::npos) << error;
  }
  // Truncated: the second Hessian's data is cut.
  {
    std::FILE *f = std::fopen(path.c_str(), "rb");
    std::vector<char> bytes(1 << 12);
    size_t size = std::fread(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    f = std::fopen(path.c_str(), "wb");
    std::fwrite(bytes.data(), 1, size - 8, f);
    std::fclose(f);
    HessianReader reader;
    ASSERT_TRUE(reader.open(path, error)) << error;
    InputHessian got;
    EXPECT_TRUE(reader.next(got, error)) << error;
    EXPECT_FALSE(reader.next(got, error));
    EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  }
  // Not a Hessian file.
  {
    std::FILE *f = std::fopen(path.c_str(), "wb");
    std::fputs("not a kiln file at all", f);
    std::fclose(f);
    HessianReader reader;
    EXPECT_FALSE(reader.open(path, error));
    EXPECT_NE(error.find("not a kiln Hessian file"), std::string::npos);
  }
  std::remove(path.c_str());
  HessianReader missing;
  EXPECT_FALSE(missing.open(path, error));
}

TEST(GPTQ, CholeskyFactor) {
  const int64_t k = 9;
  std::vector<float> x = correlatedInputs(40, k, 5);
  InputHessian h(k);
  h.observe(x.data(), 40);
  std::vector<double> a = h.matrix(), l = a;
  ASSERT_TRUE(choleskyLower(l, k));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t p = 0; p <= j; ++p)
        s += l[i * k + p] * l[j * k + p];
      EXPECT_NEAR(s, a[i * k + j], 1e-9 * std::fabs(a[i * k + i]));
    }
  std::vector<double> notPositive{1, 2, 2, 1};
  EXPECT_FALSE(choleskyLower(notPositive, 2));
}

TEST(GPTQ, UncorrelatedInputsRoundToNearest) {
  // A diagonal H spreads no error: every code, scale and zero point is
  // round to nearest's, for both layouts and a partial last group.
  const int64_t k = 70, n = 6, g = 32;
  std::vector<float> w = gaussian(k * n, 6);
  std::vector<double> h(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] = 1.0 + i % 3;
  for (bool symmetric : {true, false})
    for (bool actOrder : {false, true}) {
      QuantizedWeights rtn = quantizeWeights(w, k, n, 4, g, symmetric, true);
      GPTQSettings settings;
      settings.actOrder = actOrder; // a permutation changes nothing here
      bool rounded = true;
      QuantizedWeights q =
          quantizeGPTQ(w, k, n, g, symmetric, rounding(4, symmetric), h,
                       settings, &rounded);
      EXPECT_FALSE(rounded);
      EXPECT_EQ(q.values, rtn.values);
      EXPECT_EQ(q.scales, rtn.scales);
      EXPECT_EQ(q.zeroPoints, rtn.zeroPoints);
    }
}

TEST(GPTQ, CorrelatedInputsLowerOutputError) {
  const int64_t k = 96, n = 24, rows = 400, g = 32;
  std::vector<float> x = correlatedInputs(rows, k, 7);
  std::vector<float> w = gaussian(k * n, 8);
  InputHessian h(k);
  h.observe(x.data(), rows);
  std::vector<double> hm = h.matrix();
  for (unsigned bits : {4u, 2u})
    for (bool symmetric : {true, false}) {
      if (bits == 2 && symmetric)
        continue;
      QuantizedWeights rtn =
          quantizeWeights(w, k, n, bits, g, symmetric, true);
      double eRtn = measuredOutputError(x, rows, w, rtn, k, n, g);
      EXPECT_NEAR(relativeOutputError(w, rtn, k, n, g, hm), eRtn, 1e-6 * eRtn);
      for (bool actOrder : {false, true}) {
        GPTQSettings settings;
        settings.actOrder = actOrder;
        QuantizedWeights q = quantizeGPTQ(
            w, k, n, g, symmetric, rounding(bits, symmetric), hm, settings);
        double eGptq = measuredOutputError(x, rows, w, q, k, n, g);
        // relativeOutputError is that same quantity, through H.
        EXPECT_NEAR(relativeOutputError(w, q, k, n, g, hm), eGptq,
                    1e-6 * eGptq);
        EXPECT_LT(eGptq, 0.7 * eRtn) << bits << " bits, symmetric "
                                     << symmetric << ", act order "
                                     << actOrder;
        // Codes stay in range.
        int lo = symmetric ? -(1 << (bits - 1)) : 0;
        int hi = symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
        for (int8_t v : q.values) {
          int code = symmetric ? int(v) : int(uint8_t(v));
          EXPECT_GE(code, lo);
          EXPECT_LE(code, hi);
        }
      }
    }
}

TEST(GPTQ, UnusableHessianFallsBackToRounding) {
  const int64_t k = 32, n = 4;
  std::vector<float> w = gaussian(k * n, 9);
  std::vector<double> zero(k * k, 0.0);
  bool rounded = false;
  QuantizedWeights q =
      quantizeGPTQ(w, k, n, 32, true, rounding(4, true), zero, {}, &rounded);
  EXPECT_TRUE(rounded);
  EXPECT_EQ(q.values, quantizeWeights(w, k, n, 4, 32, true, true).values);
}

} // namespace
