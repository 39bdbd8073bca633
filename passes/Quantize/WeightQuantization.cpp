//===- WeightQuantization.cpp - group-wise weight quantization ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/WeightQuantization.h"

#include <algorithm>
#include <cmath>

using namespace mlir::kiln;

namespace {

/// One group of one column quantized with its range shrunk by `shrink`.
struct GroupChoice {
  float scale = 1.0f, zero = 0.0f;
  double error = 0.0; // sum of squared dequantization errors
};

// rint: round half to even in the default rounding mode.
float clampRound(float x, float lo, float hi) {
  return std::isnan(x) ? 0.0f : std::min(std::max(std::rint(x), lo), hi);
}

} // namespace

QuantizedWeights mlir::kiln::quantizeWeights(const std::vector<float> &w,
                                             int64_t k, int64_t n,
                                             unsigned bits, int64_t groupSize,
                                             bool symmetric,
                                             bool searchClipping) {
  int64_t groups = (k + groupSize - 1) / groupSize;
  QuantizedWeights q;
  q.values.resize(k * n);
  q.scales.resize(groups * n);
  if (!symmetric)
    q.zeroPoints.resize(groups * n);
  float qlo = symmetric ? -float(1 << (bits - 1)) : 0.0f;
  float qhi = symmetric ? float((1 << (bits - 1)) - 1) : float((1 << bits) - 1);
  for (int64_t g = 0; g < groups; ++g) {
    int64_t k0 = g * groupSize, k1 = std::min(k, k0 + groupSize);
    for (int64_t c = 0; c < n; ++c) {
      float lo = 0.0f, hi = 0.0f;
      for (int64_t r = k0; r < k1; ++r) {
        lo = std::min(lo, w[r * n + c]);
        hi = std::max(hi, w[r * n + c]);
      }
      auto choose = [&](float shrink) {
        GroupChoice ch;
        float l = lo * shrink, h = hi * shrink;
        ch.scale = symmetric ? std::max(-l, h) / qhi : (h - l) / qhi;
        if (!(ch.scale > 0.0f) || !std::isfinite(ch.scale))
          ch.scale = 1.0f;
        if (!symmetric)
          ch.zero = clampRound(-l / ch.scale, qlo, qhi);
        for (int64_t r = k0; r < k1; ++r) {
          float v = clampRound(w[r * n + c] / ch.scale, qlo - ch.zero,
                               qhi - ch.zero);
          double d = double(v * ch.scale) - double(w[r * n + c]);
          ch.error += d * d;
        }
        return ch;
      };
      GroupChoice best = choose(1.0f);
      // Clipping the range trades the few largest weights' error for a
      // finer step for all the others; keep the shrink with the least
      // squared error (strictly: ties keep the wider range). (Shrinking the
      // two ends of an asymmetric range separately measured no better on
      // MiniLM.)
      for (int i = 1; searchClipping && i < kClippingSteps; ++i) {
        GroupChoice ch = choose(1.0f - 0.05f * float(i));
        if (ch.error < best.error)
          best = ch;
      }
      if (!symmetric)
        q.zeroPoints[g * n + c] = int8_t(uint8_t(best.zero));
      q.scales[g * n + c] = best.scale;
      for (int64_t r = k0; r < k1; ++r) {
        float v = clampRound(w[r * n + c] / best.scale, qlo - best.zero,
                             qhi - best.zero);
        q.values[r * n + c] = int8_t(uint8_t(int(v + best.zero)));
      }
    }
  }
  return q;
}
