//===- WeightQuantization.h - group-wise weight quantization ------*- C++ -*-===//
//
// Part of kiln. The round-to-nearest quantizer of kiln-weight-quantize, on
// host arrays, so that tests and tools can reproduce it exactly.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZE_WEIGHTQUANTIZATION_H
#define KILN_PASSES_QUANTIZE_WEIGHTQUANTIZATION_H

#include <cstdint>
#include <vector>

namespace mlir::kiln {

/// A [K, N] matrix quantized in groups of `groupSize` rows per column.
struct QuantizedWeights {
  std::vector<int8_t> values;     // [K, N]; unsigned (0..2^b-1) if asymmetric
  std::vector<float> scales;      // [groups, N]
  std::vector<int8_t> zeroPoints; // [groups, N]; empty when symmetric
};

/// The scale (and zero point) of one group, and how it rounds a weight.
struct GroupQuantizer {
  float scale = 1.0f, zero = 0.0f;
  float qlo = 0.0f, qhi = 0.0f; // the code range
  /// w's code relative to the zero point: clamp(rint(w / scale)).
  float centered(float w) const;
  /// The stored code (unsigned when asymmetric).
  int code(float w) const { return int(centered(w) + zero); }
  float dequantized(float w) const { return centered(w) * scale; }
};

/// Range shrinks tried by the clipping search: 1, 0.95, ..., 0.55.
constexpr int kClippingSteps = 10;

/// The quantizer of the `count` weights w[0], w[stride], ... (one group of
/// one column): `bits`, symmetric or not, the range optionally shrunk by
/// the clipping search, the scale optionally rounded to fp16 first.
GroupQuantizer fitGroup(const float *w, int64_t stride, int64_t count,
                        unsigned bits, bool symmetric, bool searchClipping,
                        bool halfScale);

/// Quantizes row-major `w` [k, n] (see KilnWeightQuantizePass's formulas).
/// With `searchClipping`, each group's range (max |w|, or [lo, hi]) is
/// scaled by the factor in {1, 0.95, ..., 0.55} that minimizes the group's
/// squared dequantization error.
QuantizedWeights quantizeWeights(const std::vector<float> &w, int64_t k,
                                 int64_t n, unsigned bits, int64_t groupSize,
                                 bool symmetric, bool searchClipping);

/// Mixed 2/4-bit (techniques.md section 5): asymmetric groups of
/// `groupSize` along K; the weights are cut into blocks of one group by
/// `tileColumns` columns, and the `wideFraction` of blocks with the largest
/// range (max - min) are quantized to 4 bits, the rest to 2 bits, so that a
/// kernel reading tiles of `tileColumns` columns (or a divisor of it) sees
/// one width per block. Scales are rounded to the nearest fp16 value first
/// (a kernel stores them in 16 bits). Values and zero points are unsigned.
QuantizedWeights quantizeMixed24(const std::vector<float> &w, int64_t k,
                                 int64_t n, int64_t groupSize,
                                 int64_t tileColumns, double wideFraction,
                                 bool searchClipping);

/// The widths of mixed 2/4-bit (quantizeMixed24): 4 or 2 bits per block
/// (group g, tile t), [groups, tiles] row-major.
std::vector<uint8_t> mixedBlockBits(const std::vector<float> &w, int64_t k,
                                    int64_t n, int64_t groupSize,
                                    int64_t tileColumns, double wideFraction);

/// Weight (r, c) of `q` ([k, n], groups of `groupSize` rows) as it
/// dequantizes: (value - zero point) * scale, in double.
double dequantizedWeight(const QuantizedWeights &q, int64_t r, int64_t c,
                         int64_t n, int64_t groupSize);

/// ||W - dequant(q)||_F / ||W||_F for `q` quantized from `w` ([k, n],
/// groups of `groupSize`; values signed when there are no zero points).
/// For activations with uncorrelated, equal-variance features this is the
/// expected relative error of x * W.
double relativeError(const std::vector<float> &w, const QuantizedWeights &q,
                     int64_t k, int64_t n, int64_t groupSize);

/// `x` rounded to the nearest fp16 value (ties to even), as a float.
float roundToHalf(float x);

} // namespace mlir::kiln

#endif // KILN_PASSES_QUANTIZE_WEIGHTQUANTIZATION_H
