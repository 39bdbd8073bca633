//===- KilnOpsQuant.cpp - kiln quantized ops ------------------------------===//
//
// Part of kiln. Type inference and verifier of kiln.quantized_matmul, and
// the result type every weight matmul shares (KilnOpsMatMul.h).
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/KilnOpsMatMul.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::kiln;

LogicalResult mlir::kiln::inferWeightMatMulType(
    std::optional<Location> loc, StringRef opName, StringRef lhsName,
    Type lhs, Type weights, Type element, SmallVectorImpl<Type> &inferred) {
  auto lt = dyn_cast<RankedTensorType>(lhs);
  auto wt = dyn_cast<RankedTensorType>(weights);
  if (!lt || !wt || lt.getRank() < 2 || wt.getRank() != 2) {
    if (loc)
      return mlir::emitError(*loc)
             << opName << " needs " << lhsName
             << " of rank >= 2 and weights of rank 2";
    return failure();
  }
  SmallVector<int64_t> shape(lt.getShape());
  shape.back() = wt.getShape()[1];
  inferred.push_back(
      RankedTensorType::get(shape, element ? element : lt.getElementType()));
  return success();
}

LogicalResult QuantizedMatMulOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  return inferWeightMatMulType(loc, "quantized_matmul", "lhs",
                               adaptor.getLhs().getType(),
                               adaptor.getWeights().getType(), Type(),
                               inferred);
}

LogicalResult QuantizedMatMulOp::verify() {
  auto lt = cast<RankedTensorType>(getLhs().getType());
  auto wt = cast<RankedTensorType>(getWeights().getType());
  auto st = cast<RankedTensorType>(getScales().getType());
  WeightQuantAttr quant = getQuant();
  auto wElt = dyn_cast<IntegerType>(wt.getElementType());
  if (!wElt || wElt.getWidth() != 8)
    return emitOpError("weights must be 8-bit integers, got ")
           << wt.getElementType();
  int64_t k = wt.getShape()[0], n = wt.getShape()[1];
  if (lt.getShape().back() != k)
    return emitOpError("lhs reduction dim ")
           << lt.getShape().back() << " differs from the weights' K " << k;
  if (st.getElementType() != lt.getElementType())
    return emitOpError("scales must have lhs's element type ")
           << lt.getElementType();
  int64_t groups = (k + quant.getGroup() - 1) / quant.getGroup();
  if (st.getRank() != 2 || st.getShape()[0] != groups ||
      st.getShape()[1] != n)
    return emitOpError("scales must be ")
           << groups << "x" << n << " (ceil(K / group) x N), got "
           << st;
  if (Value zp = getZeroPoints()) {
    auto zt = cast<RankedTensorType>(zp.getType());
    if (zt.getShape() != st.getShape() ||
        zt.getElementType() != wt.getElementType())
      return emitOpError("zero points must match the scales' shape and the "
                         "weights' type, got ")
             << zt;
  }
  return success();
}
