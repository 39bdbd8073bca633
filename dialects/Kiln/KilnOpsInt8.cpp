//===- KilnOpsInt8.cpp - kiln int8 x int8 ops -----------------------------===//
//
// Part of kiln. Type inference and verifiers of
// kiln.dynamic_quantized_matmul (dynamic or static activation scale) and
// kiln.integer_matmul (quantized activations with a zero point).
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/KilnOpsMatMul.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;

LogicalResult DynamicQuantizedMatMulOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  return inferWeightMatMulType(loc, "dynamic_quantized_matmul", "an input",
                               adaptor.getInput().getType(),
                               adaptor.getWeights().getType(), Type(),
                               inferred);
}

LogicalResult DynamicQuantizedMatMulOp::verify() {
  auto xt = cast<RankedTensorType>(getInput().getType());
  auto wt = cast<RankedTensorType>(getWeights().getType());
  auto st = cast<RankedTensorType>(getScales().getType());
  if (!xt.getElementType().isF32())
    return emitOpError("input must be f32, got ") << xt.getElementType();
  if (!wt.getElementType().isSignlessInteger(8))
    return emitOpError("weights must be signless i8, got ")
           << wt.getElementType();
  int64_t k = wt.getShape()[0], n = wt.getShape()[1];
  if (xt.getShape().back() != k)
    return emitOpError("input reduction dim ")
           << xt.getShape().back() << " differs from the weights' K " << k;
  if (!st.getElementType().isF32() || st.getRank() != 1 ||
      st.getShape()[0] != n)
    return emitOpError("scales must be f32 [")
           << n << "] (one per output column), got " << st;
  if (std::optional<APFloat> s = getInputScale()) {
    float v = s->convertToFloat();
    if (!(v > 0.0f) || !std::isfinite(v))
      return emitOpError("input_scale must be a positive finite f32 (the "
                         "calibrated activation range / 127), got ")
             << v;
  }
  return success();
}

LogicalResult IntegerMatMulOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  return inferWeightMatMulType(loc, "integer_matmul", "an lhs",
                               adaptor.getLhs().getType(),
                               adaptor.getRhs().getType(),
                               IntegerType::get(ctx, 32), inferred);
}

LogicalResult IntegerMatMulOp::verify() {
  auto xt = cast<RankedTensorType>(getLhs().getType());
  auto wt = cast<RankedTensorType>(getRhs().getType());
  auto xe = dyn_cast<IntegerType>(xt.getElementType());
  if (!xe || xe.getWidth() != 8 || xe.isSigned())
    return emitOpError("lhs must be ui8 or i8, got ") << xt.getElementType();
  if (!wt.getElementType().isSignlessInteger(8))
    return emitOpError("rhs must be signless i8, got ") << wt.getElementType();
  if (xt.getShape().back() != wt.getShape()[0])
    return emitOpError("lhs reduction dim ")
           << xt.getShape().back() << " differs from the rhs's K "
           << wt.getShape()[0];
  if (Value zp = getLhsZeroPoint()) {
    auto zt = cast<RankedTensorType>(zp.getType());
    if (zt.getElementType() != xt.getElementType() || zt.getRank() != 0)
      return emitOpError("lhs_zero_point must be a scalar (rank 0) of the "
                         "lhs's type ")
             << xt.getElementType() << ", got " << zt;
  }
  return success();
}
