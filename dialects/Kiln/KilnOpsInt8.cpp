//===- KilnOpsInt8.cpp - kiln int8 x int8 ops -----------------------------===//
//
// Part of kiln. Type inference and verifier of
// kiln.dynamic_quantized_matmul (dynamic or static activation scale).
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;

LogicalResult DynamicQuantizedMatMulOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  auto xt = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  auto wt = dyn_cast<RankedTensorType>(adaptor.getWeights().getType());
  if (!xt || !wt || xt.getRank() < 2 || wt.getRank() != 2) {
    if (loc)
      return mlir::emitError(*loc, "dynamic_quantized_matmul needs an input "
                                   "of rank >= 2 and weights of rank 2");
    return failure();
  }
  SmallVector<int64_t> shape(xt.getShape());
  shape.back() = wt.getShape()[1];
  inferred.push_back(RankedTensorType::get(shape, xt.getElementType()));
  return success();
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
