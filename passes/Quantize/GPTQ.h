//===- GPTQ.h - Hessian-aware rounding of group-wise weights ------*- C++ -*-===//
//
// Part of kiln. GPTQ (techniques.md 11.1; Frantar et al. 2022) for the
// layouts of WeightQuantization.h: the rows of W [K, N] (input channels)
// are rounded one at a time, and each row's rounding error is spread over
// the rows not yet rounded so as to minimize the layer's output error on
// the calibration inputs, tr(dW^T H dW) with H = sum x x^T. The stored
// layout (codes, scales, zero points) is the same as round-to-nearest's;
// only which codes are chosen differs.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZE_GPTQ_H
#define KILN_PASSES_QUANTIZE_GPTQ_H

#include "passes/Quantize/WeightQuantization.h"

#include <functional>
#include <vector>

namespace mlir::kiln {

/// The quantizer of group `group` of column `column`, fitted to the
/// `count` current weights w[0], w[stride], ...
using GroupFitter = std::function<GroupQuantizer(
    const float *w, int64_t stride, int64_t count, int64_t group,
    int64_t column)>;

struct GPTQSettings {
  /// Added to H's diagonal, as a fraction of its mean (GPTQ's percdamp,
  /// 0.01 there, for 128 x 2048 calibration tokens). kiln's default is
  /// larger: with a few hundred rows, H is a noisy estimate, and on
  /// all-MiniLM-L6-v2 (256 rows) 0.1 held out better than 0.01 (w4 g32
  /// mean cosine 0.988 vs 0.984).
  double damp = 0.1;
  /// Rows rounded between two updates of the rest (a multiple of the
  /// group size is used, so that a group is fitted on current weights).
  int64_t blockRows = 128;
  /// GPTQ's act order (desc_act) with static groups: rows rounded by
  /// decreasing H[i][i], every group's quantizer fitted on the float
  /// weights before any rounding (the layout keeps groups of consecutive
  /// rows). On all-MiniLM-L6-v2 it held out better in every layout tried
  /// (w4 g32 mean cosine 0.9887 vs 0.9876, g128 0.9841 vs 0.9813).
  bool actOrder = true;
};

/// What GPTQ needs of a Hessian, the same for every layout of the matrix:
/// the order the rows are rounded in, and U (upper triangular, H^-1 =
/// U^T U, with H permuted to that order and damped).
struct GPTQFactor {
  std::vector<int64_t> order;
  std::vector<double> u;
  /// H (plus damping, raised up to 1000x when needed) was not positive
  /// definite: U = I, i.e. round to nearest.
  bool rounding = false;
};

/// The factor of the full K x K `hessian`.
GPTQFactor factorGPTQ(const std::vector<double> &hessian, int64_t k,
                      const GPTQSettings &settings);

/// GPTQ of row-major `w` [k, n] with groups of `groupSize` rows, each group
/// of each column quantized by `fit` when its first row comes up (on the
/// weights as updated by the rows before; under act order, on the float
/// weights, before rounding starts). `factor` comes from factorGPTQ with
/// the same settings.
QuantizedWeights quantizeGPTQ(const std::vector<float> &w, int64_t k,
                              int64_t n, int64_t groupSize, bool symmetric,
                              const GroupFitter &fit, const GPTQFactor &factor,
                              const GPTQSettings &settings);

/// factorGPTQ then quantizeGPTQ; `usedRounding` says whether the factor
/// fell back to round to nearest.
QuantizedWeights quantizeGPTQ(const std::vector<float> &w, int64_t k,
                              int64_t n, int64_t groupSize, bool symmetric,
                              const GroupFitter &fit,
                              const std::vector<double> &hessian,
                              const GPTQSettings &settings,
                              bool *usedRounding = nullptr);

/// The relative output error of `q` on the calibration inputs:
/// sqrt(sum_c dW_c^T H dW_c / sum_c W_c^T H W_c), dW = dequant(q) - W.
double relativeOutputError(const std::vector<float> &w,
                           const QuantizedWeights &q, int64_t k, int64_t n,
                           int64_t groupSize,
                           const std::vector<double> &hessian);

/// Lower Cholesky factor of the symmetric K x K `a` in place (the upper
/// triangle is left as it was); false when `a` is not positive definite.
bool choleskyLower(std::vector<double> &a, int64_t k);

} // namespace mlir::kiln

#endif // KILN_PASSES_QUANTIZE_GPTQ_H
