//===- WeightQuantize.cpp - kiln-weight-quantize --------------------------===//
//
// Part of kiln. Turns float matmuls with constant weights into
// kiln.quantized_matmul (see Passes.td for the formulas).
//
//===----------------------------------------------------------------------===//

#include "passes/Constants.h"
#include "passes/Quantize/Passes.h"
#include "passes/Quantize/WeightQuantization.h"

#include "dialects/Kiln/KilnOps.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNWEIGHTQUANTIZEPASS
#include "passes/Quantize/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct KilnWeightQuantizePass
    : kiln::impl::KilnWeightQuantizePassBase<KilnWeightQuantizePass> {
  using KilnWeightQuantizePassBase::KilnWeightQuantizePassBase;

  void runOnOperation() override {
    if (clipping != "none" && clipping != "mse") {
      getOperation()->emitError("kiln-weight-quantize: clipping must be none "
                                "or mse, got '")
          << clipping << "'";
      return signalPassFailure();
    }
    if (wideFraction < 0.0 || wideFraction > 1.0 || tileColumns < 1) {
      getOperation()->emitError("kiln-weight-quantize: wide-fraction must be "
                                "in [0, 1] and tile-columns positive");
      return signalPassFailure();
    }
    if (bits < 2 || bits > 8 || groupSize < 1) {
      getOperation()->emitError("kiln-weight-quantize: bits must be 2..8 and "
                                "group-size positive, got bits=")
          << bits << " group-size=" << groupSize;
      return signalPassFailure();
    }
    SmallVector<MatMulOp> candidates;
    getOperation()->walk([&](MatMulOp op) { candidates.push_back(op); });
    for (MatMulOp op : candidates)
      quantize(op);
  }

  void quantize(MatMulOp op) {
    auto lt = cast<RankedTensorType>(op.getLhs().getType());
    auto rt = cast<RankedTensorType>(op.getRhs().getType());
    if (op.getLmulAttr() || rt.getRank() != 2 || !lt.getElementType().isF32() ||
        rt.getNumElements() < minWeights)
      return;
    std::optional<std::vector<float>> w = constantF32Values(op.getRhs());
    if (!w)
      return;
    int64_t k = rt.getDimSize(0), n = rt.getDimSize(1);
    bool mixed = bits == 2 && wideFraction > 0.0;
    bool isSymmetric = symmetric && !mixed;
    QuantizedWeights q =
        mixed ? quantizeMixed24(*w, k, n, groupSize, tileColumns, wideFraction,
                                clipping == "mse")
              : quantizeWeights(*w, k, n, bits, groupSize, symmetric,
                                clipping == "mse");
    OpBuilder b(op);
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type valueType = IntegerType::get(
        ctx, 8, isSymmetric ? IntegerType::Signless : IntegerType::Unsigned);
    int64_t groups = (k + groupSize - 1) / groupSize;
    Value values = createConstant(
        b, loc, RankedTensorType::get({k, n}, valueType), q.values,
        "quantized_weights");
    Value scales = createConstant(
        b, loc, RankedTensorType::get({groups, n}, b.getF32Type()), q.scales,
        "weight_scales");
    Value zeros;
    if (!isSymmetric)
      zeros = createConstant(b, loc,
                             RankedTensorType::get({groups, n}, valueType),
                             q.zeroPoints, "weight_zero_points");
    auto quantized = QuantizedMatMulOp::create(
        b, loc, op.getType(), op.getLhs(), values, scales, zeros,
        WeightQuantAttr::get(ctx, mixed ? 4 : bits, groupSize));
    op.replaceAllUsesWith(quantized.getResult());
    op.erase();
    ++numQuantized;
  }
};

} // namespace
