//===- WeightQuantization.cpp - group-wise weight quantization ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/WeightQuantization.h"

#include <algorithm>
#include <cmath>

using namespace mlir::kiln;

QuantizedWeights mlir::kiln::quantizeWeights(const std::vector<float> &w,
                                             int64_t k, int64_t n,
                                             unsigned bits, int64_t groupSize,
                                             bool symmetric) {
  int64_t groups = (k + groupSize - 1) / groupSize;
  QuantizedWeights q;
  q.values.resize(k * n);
  q.scales.resize(groups * n);
  if (!symmetric)
    q.zeroPoints.resize(groups * n);
  // rint: round half to even in the default rounding mode.
  auto clampRound = [](float x, float lo, float hi) {
    return std::min(std::max(std::rint(x), lo), hi);
  };
  for (int64_t g = 0; g < groups; ++g) {
    int64_t k0 = g * groupSize, k1 = std::min(k, k0 + groupSize);
    for (int64_t c = 0; c < n; ++c) {
      float lo = 0.0f, hi = 0.0f;
      for (int64_t r = k0; r < k1; ++r) {
        lo = std::min(lo, w[r * n + c]);
        hi = std::max(hi, w[r * n + c]);
      }
      float scale, zero = 0.0f, qlo, qhi;
      if (symmetric) {
        qhi = float((1 << (bits - 1)) - 1);
        qlo = -qhi - 1.0f;
        scale = std::max(-lo, hi) / qhi;
      } else {
        qlo = 0.0f;
        qhi = float((1 << bits) - 1);
        scale = (hi - lo) / qhi;
      }
      if (!(scale > 0.0f) || !std::isfinite(scale))
        scale = 1.0f;
      if (!symmetric) {
        zero = clampRound(-lo / scale, qlo, qhi);
        q.zeroPoints[g * n + c] = int8_t(uint8_t(zero));
      }
      q.scales[g * n + c] = scale;
      for (int64_t r = k0; r < k1; ++r) {
        float x = w[r * n + c] / scale;
        float v = std::isnan(x) ? 0.0f : clampRound(x, qlo - zero, qhi - zero);
        q.values[r * n + c] = int8_t(uint8_t(int(v + zero)));
      }
    }
  }
  return q;
}
