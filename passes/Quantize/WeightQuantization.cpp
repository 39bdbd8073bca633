//===- WeightQuantization.cpp - group-wise weight quantization ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/WeightQuantization.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

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

float mlir::kiln::roundToHalf(float x) {
  if (!std::isfinite(x) || x == 0.0f)
    return x;
  int exp;
  std::frexp(x, &exp); // x = m * 2^exp, 0.5 <= |m| < 1
  // fp16 keeps 11 significant bits down to 2^-14, fewer below (subnormal).
  int bitsKept = 11 - std::max(0, -14 - (exp - 1));
  if (bitsKept <= 0)
    return 0.0f;
  float step = std::ldexp(1.0f, exp - bitsKept);
  float r = std::nearbyint(x / step) * step;
  return std::fabs(r) > 65504.0f ? std::copysign(65504.0f, r) : r;
}

namespace {

/// Quantizes column `c` of rows [k0, k1) of `w` ([k, n]) into `q` at group
/// index `gi`: `bits`, symmetric or not, optionally searching the clipping,
/// optionally with the scale rounded to fp16.
void quantizeGroup(const std::vector<float> &w, int64_t n, int64_t k0,
                   int64_t k1, int64_t c, int64_t gi, unsigned bits,
                   bool symmetric, bool searchClipping, bool halfScale,
                   QuantizedWeights &q) {
  float qlo = symmetric ? -float(1 << (bits - 1)) : 0.0f;
  float qhi = symmetric ? float((1 << (bits - 1)) - 1) : float((1 << bits) - 1);
  float lo = 0.0f, hi = 0.0f;
  for (int64_t r = k0; r < k1; ++r) {
    lo = std::min(lo, w[r * n + c]);
    hi = std::max(hi, w[r * n + c]);
  }
  // Weight r in steps of the choice's scale, relative to its zero point.
  auto centered = [&](int64_t r, const GroupChoice &ch) {
    return clampRound(w[r * n + c] / ch.scale, qlo - ch.zero, qhi - ch.zero);
  };
  auto choose = [&](float shrink) {
    GroupChoice ch;
    float l = lo * shrink, h = hi * shrink;
    ch.scale = symmetric ? std::max(-l, h) / qhi : (h - l) / qhi;
    if (halfScale)
      ch.scale = roundToHalf(ch.scale);
    if (!(ch.scale > 0.0f) || !std::isfinite(ch.scale))
      ch.scale = 1.0f;
    if (!symmetric)
      ch.zero = clampRound(-l / ch.scale, qlo, qhi);
    for (int64_t r = k0; r < k1; ++r) {
      double d = double(centered(r, ch) * ch.scale) - double(w[r * n + c]);
      ch.error += d * d;
    }
    return ch;
  };
  GroupChoice best = choose(1.0f);
  // Clipping the range trades the few largest weights' error for a finer
  // step for all the others; keep the shrink with the least squared error
  // (strictly: ties keep the wider range). (Shrinking the two ends of an
  // asymmetric range separately measured no better on MiniLM.)
  for (int i = 1; searchClipping && i < kClippingSteps; ++i) {
    GroupChoice ch = choose(1.0f - 0.05f * float(i));
    if (ch.error < best.error)
      best = ch;
  }
  if (!symmetric)
    q.zeroPoints[gi * n + c] = int8_t(uint8_t(best.zero));
  q.scales[gi * n + c] = best.scale;
  for (int64_t r = k0; r < k1; ++r)
    q.values[r * n + c] = int8_t(uint8_t(int(centered(r, best) + best.zero)));
}

QuantizedWeights allocate(int64_t k, int64_t n, int64_t groups,
                          bool symmetric) {
  QuantizedWeights q;
  q.values.resize(k * n);
  q.scales.resize(groups * n);
  if (!symmetric)
    q.zeroPoints.resize(groups * n);
  return q;
}

} // namespace

QuantizedWeights mlir::kiln::quantizeWeights(const std::vector<float> &w,
                                             int64_t k, int64_t n,
                                             unsigned bits, int64_t groupSize,
                                             bool symmetric,
                                             bool searchClipping) {
  int64_t groups = (k + groupSize - 1) / groupSize;
  QuantizedWeights q = allocate(k, n, groups, symmetric);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t c = 0; c < n; ++c)
      quantizeGroup(w, n, g * groupSize, std::min(k, (g + 1) * groupSize), c,
                    g, bits, symmetric, searchClipping, false, q);
  return q;
}

QuantizedWeights mlir::kiln::quantizeMixed24(const std::vector<float> &w,
                                             int64_t k, int64_t n,
                                             int64_t groupSize,
                                             int64_t tileColumns,
                                             double wideFraction,
                                             bool searchClipping) {
  int64_t groups = (k + groupSize - 1) / groupSize;
  int64_t tiles = (n + tileColumns - 1) / tileColumns;
  // Range of each block (group g, tile t).
  std::vector<float> range(groups * tiles);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t t = 0; t < tiles; ++t) {
      float lo = 0.0f, hi = 0.0f;
      for (int64_t r = g * groupSize; r < std::min(k, (g + 1) * groupSize); ++r)
        for (int64_t c = t * tileColumns; c < std::min(n, (t + 1) * tileColumns);
             ++c) {
          lo = std::min(lo, w[r * n + c]);
          hi = std::max(hi, w[r * n + c]);
        }
      range[g * tiles + t] = hi - lo;
    }
  std::vector<int64_t> order(range.size());
  std::iota(order.begin(), order.end(), 0);
  // Widest first; equal ranges keep block order, so the choice is stable.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return range[a] > range[b];
  });
  size_t wide = size_t(std::llround(wideFraction * double(order.size())));
  std::vector<bool> isWide(range.size(), false);
  for (size_t i = 0; i < std::min(wide, order.size()); ++i)
    isWide[order[i]] = true;
  QuantizedWeights q = allocate(k, n, groups, /*symmetric=*/false);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t c = 0; c < n; ++c)
      quantizeGroup(w, n, g * groupSize, std::min(k, (g + 1) * groupSize), c,
                    g, isWide[g * tiles + c / tileColumns] ? 4 : 2,
                    /*symmetric=*/false, searchClipping, /*halfScale=*/true,
                    q);
  return q;
}

double mlir::kiln::relativeError(const std::vector<float> &w,
                                 const QuantizedWeights &q, int64_t k,
                                 int64_t n, int64_t groupSize) {
  bool asymmetric = !q.zeroPoints.empty();
  double diff = 0, norm = 0;
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      int64_t gi = (r / groupSize) * n + c;
      int v = asymmetric ? int(uint8_t(q.values[r * n + c]))
                         : int(q.values[r * n + c]);
      int z = asymmetric ? int(uint8_t(q.zeroPoints[gi])) : 0;
      double d = double(v - z) * q.scales[gi] - w[r * n + c];
      diff += d * d;
      norm += double(w[r * n + c]) * w[r * n + c];
    }
  return norm > 0 ? std::sqrt(diff / norm) : 0.0;
}
