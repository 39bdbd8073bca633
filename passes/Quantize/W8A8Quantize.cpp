//===- W8A8Quantize.cpp - kiln-w8a8-quantize ------------------------------===//
//
// Part of kiln. Turns float matmuls with constant weights into
// kiln.dynamic_quantized_matmul: int8 weights with one scale per output
// column, int8 activations quantized per row at run time, or with a
// static per-tensor scale from calibrated ranges (see Passes.td for the
// formulas).
//
//===----------------------------------------------------------------------===//

#include "passes/Constants.h"
#include "passes/Quantize/W8A8Candidates.h"
#include "passes/Quantize/Passes.h"

#include "dialects/Kiln/KilnOps.h"

#include <algorithm>
#include <cmath>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNW8A8QUANTIZEPASS
#include "passes/Quantize/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Per-column symmetric int8 quantization of a row-major [k, n] matrix.
void quantizeColumns(const std::vector<float> &w, int64_t k, int64_t n,
                     std::vector<int8_t> &values, std::vector<float> &scales) {
  values.assign(k * n, 0);
  scales.assign(n, 1.0f);
  for (int64_t c = 0; c < n; ++c) {
    float amax = 0.0f;
    for (int64_t r = 0; r < k; ++r)
      amax = std::max(amax, std::fabs(w[r * n + c]));
    float scale = amax / 127.0f;
    if (!(scale > 0.0f) || !std::isfinite(scale))
      scale = 1.0f;
    scales[c] = scale;
    for (int64_t r = 0; r < k; ++r) {
      float x = w[r * n + c] / scale;
      // rint: round half to even in the default rounding mode.
      float q = std::isnan(x)
                    ? 0.0f
                    : std::min(std::max(std::rint(x), -127.0f), 127.0f);
      values[r * n + c] = int8_t(q);
    }
  }
}

struct KilnW8A8QuantizePass
    : kiln::impl::KilnW8A8QuantizePassBase<KilnW8A8QuantizePass> {
  using KilnW8A8QuantizePassBase::KilnW8A8QuantizePassBase;

  void runOnOperation() override {
    SmallVector<MatMulOp> candidates =
        w8a8Candidates(getOperation(), minWeights);
    if (!activationRanges.empty() &&
        activationRanges.size() != candidates.size()) {
      getOperation()->emitError()
          << "kiln-w8a8-quantize: activation-ranges has "
          << activationRanges.size() << " ranges but the module has "
          << candidates.size()
          << " matmuls to quantize; calibrate the same module with the same "
             "min-weights";
      return signalPassFailure();
    }
    for (auto [i, op] : llvm::enumerate(candidates))
      quantize(op, activationRanges.empty()
                       ? std::nullopt
                       : std::optional<double>(activationRanges[i]));
  }

  void quantize(MatMulOp op, std::optional<double> range) {
    auto rt = cast<RankedTensorType>(op.getRhs().getType());
    std::optional<std::vector<float>> w = constantF32Values(op.getRhs());
    if (!w)
      return;
    int64_t k = rt.getDimSize(0), n = rt.getDimSize(1);
    std::vector<int8_t> values;
    std::vector<float> scales;
    quantizeColumns(*w, k, n, values, scales);
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value q = createConstant(b, loc,
                             RankedTensorType::get({k, n}, b.getIntegerType(8)),
                             values, "w8a8_weights");
    Value s = createConstant(b, loc, RankedTensorType::get({n}, b.getF32Type()),
                             scales, "w8a8_scales");
    FloatAttr inputScale;
    if (range) {
      // f32 arithmetic, as a reference reproduces it: f32(range) / 127.
      float scale = float(*range) / 127.0f;
      if (!(scale > 0.0f) || !std::isfinite(scale))
        scale = 1.0f;
      inputScale = b.getF32FloatAttr(scale);
    }
    auto quantized = DynamicQuantizedMatMulOp::create(b, loc, op.getLhs(), q,
                                                      s, inputScale);
    op.replaceAllUsesWith(quantized.getResult());
    op.erase();
    ++numQuantized;
  }
};

} // namespace
