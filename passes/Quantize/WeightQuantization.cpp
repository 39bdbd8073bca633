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

// rint: round half to even in the default rounding mode.
float clampRound(float x, float lo, float hi) {
  return std::isnan(x) ? 0.0f : std::min(std::max(std::rint(x), lo), hi);
}

} // namespace

float GroupQuantizer::centered(float w) const {
  return clampRound(w / scale, qlo - zero, qhi - zero);
}

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

GroupQuantizer mlir::kiln::fitGroup(const float *w, int64_t stride,
                                    int64_t count, unsigned bits,
                                    bool symmetric, bool searchClipping,
                                    bool halfScale) {
  GroupQuantizer base;
  base.qlo = symmetric ? -float(1 << (bits - 1)) : 0.0f;
  base.qhi =
      symmetric ? float((1 << (bits - 1)) - 1) : float((1 << bits) - 1);
  float lo = 0.0f, hi = 0.0f;
  for (int64_t r = 0; r < count; ++r) {
    lo = std::min(lo, w[r * stride]);
    hi = std::max(hi, w[r * stride]);
  }
  // The quantizer of the range shrunk by `shrink`, and its squared error.
  auto choose = [&](float shrink, double &error) {
    GroupQuantizer ch = base;
    float l = lo * shrink, h = hi * shrink;
    ch.scale = symmetric ? std::max(-l, h) / ch.qhi : (h - l) / ch.qhi;
    if (halfScale)
      ch.scale = roundToHalf(ch.scale);
    if (!(ch.scale > 0.0f) || !std::isfinite(ch.scale))
      ch.scale = 1.0f;
    if (!symmetric)
      ch.zero = clampRound(-l / ch.scale, ch.qlo, ch.qhi);
    error = 0.0;
    for (int64_t r = 0; r < count; ++r) {
      double d = double(ch.dequantized(w[r * stride])) - double(w[r * stride]);
      error += d * d;
    }
    return ch;
  };
  double bestError;
  GroupQuantizer best = choose(1.0f, bestError);
  // Clipping the range trades the few largest weights' error for a finer
  // step for all the others; keep the shrink with the least squared error
  // (strictly: ties keep the wider range). (Shrinking the two ends of an
  // asymmetric range separately measured no better on MiniLM.)
  for (int i = 1; searchClipping && i < kClippingSteps; ++i) {
    double error;
    GroupQuantizer ch = choose(1.0f - 0.05f * float(i), error);
    if (error < bestError) {
      best = ch;
      bestError = error;
    }
  }
  return best;
}

namespace {

/// Quantizes column `c` of rows [k0, k1) of `w` ([k, n]) into `q` at group
/// index `gi`.
void quantizeGroup(const std::vector<float> &w, int64_t n, int64_t k0,
                   int64_t k1, int64_t c, int64_t gi, unsigned bits,
                   bool symmetric, bool searchClipping, bool halfScale,
                   QuantizedWeights &q) {
  GroupQuantizer g = fitGroup(&w[k0 * n + c], n, k1 - k0, bits, symmetric,
                              searchClipping, halfScale);
  if (!symmetric)
    q.zeroPoints[gi * n + c] = int8_t(uint8_t(g.zero));
  q.scales[gi * n + c] = g.scale;
  for (int64_t r = k0; r < k1; ++r)
    q.values[r * n + c] = int8_t(uint8_t(g.code(w[r * n + c])));
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

std::vector<uint8_t> mlir::kiln::mixedBlockBits(const std::vector<float> &w,
                                                int64_t k, int64_t n,
                                                int64_t groupSize,
                                                int64_t tileColumns,
                                                double wideFraction) {
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
  std::vector<uint8_t> bits(range.size(), 2);
  for (size_t i = 0; i < std::min(wide, order.size()); ++i)
    bits[order[i]] = 4;
  return bits;
}

QuantizedWeights mlir::kiln::quantizeMixed24(const std::vector<float> &w,
                                             int64_t k, int64_t n,
                                             int64_t groupSize,
                                             int64_t tileColumns,
                                             double wideFraction,
                                             bool searchClipping) {
  int64_t groups = (k + groupSize - 1) / groupSize;
  int64_t tiles = (n + tileColumns - 1) / tileColumns;
  std::vector<uint8_t> bits =
      mixedBlockBits(w, k, n, groupSize, tileColumns, wideFraction);
  QuantizedWeights q = allocate(k, n, groups, /*symmetric=*/false);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t c = 0; c < n; ++c)
      quantizeGroup(w, n, g * groupSize, std::min(k, (g + 1) * groupSize), c,
                    g, bits[g * tiles + c / tileColumns], /*symmetric=*/false,
                    searchClipping, /*halfScale=*/true, q);
  return q;
}

double mlir::kiln::dequantizedWeight(const QuantizedWeights &q, int64_t r,
                                     int64_t c, int64_t n,
                                     int64_t groupSize) {
  int64_t gi = (r / groupSize) * n + c;
  if (q.zeroPoints.empty())
    return double(q.values[r * n + c]) * q.scales[gi];
  int v = int(uint8_t(q.values[r * n + c]));
  int z = int(uint8_t(q.zeroPoints[gi]));
  return double(v - z) * q.scales[gi];
}

double mlir::kiln::relativeError(const std::vector<float> &w,
                                 const QuantizedWeights &q, int64_t k,
                                 int64_t n, int64_t groupSize) {
  double diff = 0, norm = 0;
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double d = dequantizedWeight(q, r, c, n, groupSize) - w[r * n + c];
      diff += d * d;
      norm += double(w[r * n + c]) * w[r * n + c];
    }
  return norm > 0 ? std::sqrt(diff / norm) : 0.0;
}
