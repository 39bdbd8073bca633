//===- calibration_test.cpp - activation statistics for static w8a8 -------===//
//
// Part of kiln. ActivationStats (the ranges kiln compile --calibration
// records: max |x|, nearest-rank percentiles of |x|, channel maxima, the
// strided subset kept past kMaxKept values) and SmoothQuant's factors.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/Calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace mlir::kiln;

namespace {

TEST(ActivationStats, MaxAndChannelMax) {
  ActivationStats s(3, /*keepValues=*/false);
  const float x[] = {1, -5, 0.5f, -2, 4, 0.25f};
  s.observe(x, 2);
  EXPECT_EQ(s.range(CalibrationMethod::MinMax, 0), 5.0f);
  EXPECT_EQ(s.channelMax(), (std::vector<float>{2, 5, 0.5f}));
  // Without kept values a percentile is the maximum.
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 50), 5.0f);
}

TEST(ActivationStats, NearestRankPercentile) {
  ActivationStats s(1, /*keepValues=*/true);
  std::vector<float> x;
  for (int i = 1; i <= 100; ++i)
    x.push_back(i % 2 ? float(i) : -float(i)); // |x| = 1..100
  s.observe(x.data(), 100);
  // The smallest value with at least p% of the values <= it.
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 99), 99.0f);
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 99.5), 100.0f);
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 50), 50.0f);
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 100), 100.0f);
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 0.001), 1.0f);
  EXPECT_EQ(s.range(CalibrationMethod::MinMax, 0), 100.0f);
}

TEST(ActivationStats, NaNIgnoredNothingSeenIsZero) {
  ActivationStats s(2, /*keepValues=*/true);
  EXPECT_EQ(s.range(CalibrationMethod::MinMax, 0), 0.0f);
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 99), 0.0f);
  const float x[] = {std::numeric_limits<float>::quiet_NaN(), -3};
  s.observe(x, 1);
  EXPECT_EQ(s.range(CalibrationMethod::MinMax, 0), 3.0f);
  EXPECT_EQ(s.range(CalibrationMethod::Percentile, 1), 3.0f);
  EXPECT_EQ(s.channelMax(), (std::vector<float>{0, 3}));
}

TEST(ActivationStats, StridedSubsetPastTheCap) {
  // 3 * kMaxKept values 0, 1, 2, ... (|x| uniform): the kept subset stays
  // evenly spread, so the median stays near the middle, and the maximum
  // is exact whatever was dropped.
  size_t count = 3 * ActivationStats::kMaxKept;
  ActivationStats s(1, /*keepValues=*/true);
  std::vector<float> chunk(1 << 16);
  for (size_t start = 0; start < count; start += chunk.size()) {
    for (size_t i = 0; i < chunk.size(); ++i)
      chunk[i] = float(start + i);
    s.observe(chunk.data(), int64_t(chunk.size()));
  }
  EXPECT_EQ(s.range(CalibrationMethod::MinMax, 0), float(count - 1));
  float median = s.range(CalibrationMethod::Percentile, 50);
  EXPECT_NEAR(median / float(count), 0.5, 1e-3);
}

TEST(SmoothingFactors, Formula) {
  // s_j = x^a / w^(1 - a).
  std::vector<float> s = smoothingFactors({4, 1, 9}, {1, 4, 1}, 0.5);
  EXPECT_FLOAT_EQ(s[0], 2.0f);
  EXPECT_FLOAT_EQ(s[1], 0.5f);
  EXPECT_FLOAT_EQ(s[2], 3.0f);
  // alpha 1: s = max|X|; alpha 0: s = 1 / max|W|.
  EXPECT_FLOAT_EQ(smoothingFactors({8}, {2}, 1.0)[0], 8.0f);
  EXPECT_FLOAT_EQ(smoothingFactors({8}, {2}, 0.0)[0], 0.5f);
}

TEST(SmoothingFactors, ZerosAndClamps) {
  // A channel never seen (max 0) or an all-zero weight row keeps s = 1.
  std::vector<float> s = smoothingFactors({0, 3}, {2, 0}, 0.5);
  EXPECT_EQ(s, (std::vector<float>{1, 1}));
  // Weight maxima clamp to >= 1e-5 and factors to >= 1e-5 (smooth.py).
  EXPECT_FLOAT_EQ(smoothingFactors({1}, {1e-9f}, 0.5)[0],
                  float(1 / std::sqrt(1e-5)));
  EXPECT_FLOAT_EQ(smoothingFactors({1e-12f}, {1}, 0.5)[0], 1e-5f);
}

} // namespace
