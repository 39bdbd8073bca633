//===- KilnOpsMath.cpp - kiln math, reduction and index ops ---------------===//
//
// Part of kiln. Type inference and verifiers of the ops in the "ONNX
// coverage" section of KilnOps.td: integer arithmetic (mod, bit_shift,
// xor), reduce_min/reduce_prod, arg_max/arg_min and top_k.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
LogicalResult fail(std::optional<Location> loc, const Twine &message) {
  if (loc)
    return emitError(*loc, message);
  return failure();
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

/// Same element type, numpy-broadcast shapes; the result has the operands'
/// element type.
LogicalResult inferSameTypeBinary(std::optional<Location> loc, Value lhs,
                                  Value rhs, SmallVectorImpl<Type> &inferred) {
  auto lt = dyn_cast<RankedTensorType>(lhs.getType());
  auto rt = dyn_cast<RankedTensorType>(rhs.getType());
  if (!lt || !rt)
    return fail(loc, "expected ranked tensor operands");
  if (lt.getElementType() != rt.getElementType())
    return fail(loc, "operand element types differ");
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(lt.getShape(), rt.getShape(), shape))
    return fail(loc, "shapes " + shapeString(lt.getShape()) + " and " +
                         shapeString(rt.getShape()) +
                         " are not broadcast-compatible");
  inferred.push_back(RankedTensorType::get(shape, lt.getElementType()));
  return success();
}

bool isInteger(Type t) { return isa<IntegerType>(t); }

/// Shape of `in` with `axes` (sorted, in range) removed or kept as 1.
SmallVector<int64_t> reducedShape(ArrayRef<int64_t> in, ArrayRef<int64_t> axes,
                                  bool keepdims) {
  SmallVector<int64_t> shape;
  for (int64_t d = 0, e = in.size(); d < e; ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(in[d]);
    else if (keepdims)
      shape.push_back(1);
  }
  return shape;
}

LogicalResult inferReduceAxes(std::optional<Location> loc, Value input,
                              ArrayRef<int64_t> axes, bool keepdims,
                              SmallVectorImpl<Type> &inferred) {
  auto in = dyn_cast<RankedTensorType>(input.getType());
  if (!in)
    return fail(loc, "expected a ranked tensor");
  if (axes.empty())
    return fail(loc, "axes must not be empty");
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (a < 0 || a >= in.getRank())
      return fail(loc, "axis " + std::to_string(a) + " out of range for rank " +
                           std::to_string(in.getRank()));
    if (i > 0 && axes[i - 1] >= a)
      return fail(loc, "axes must be sorted and unique");
  }
  inferred.push_back(RankedTensorType::get(
      reducedShape(in.getShape(), axes, keepdims), in.getElementType()));
  return success();
}

LogicalResult inferArgReduce(MLIRContext *ctx, std::optional<Location> loc,
                             Value input, int64_t axis, bool keepdims,
                             SmallVectorImpl<Type> &inferred) {
  auto in = dyn_cast<RankedTensorType>(input.getType());
  if (!in || in.getRank() == 0)
    return fail(loc, "expected a ranked tensor of rank >= 1");
  if (!isa<FloatType, IntegerType>(in.getElementType()))
    return fail(loc, "expected a float or integer tensor");
  if (axis < 0 || axis >= in.getRank())
    return fail(loc, "axis " + std::to_string(axis) + " out of range for rank " +
                         std::to_string(in.getRank()));
  if (in.getDimSize(axis) == 0)
    return fail(loc, "the reduced dim is empty");
  inferred.push_back(
      RankedTensorType::get(reducedShape(in.getShape(), {axis}, keepdims),
                            IntegerType::get(ctx, 64)));
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Integer arithmetic
//===----------------------------------------------------------------------===//

#define KILN_SAME_TYPE_BINARY_INFER(OP)                                        \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    return inferSameTypeBinary(loc, adaptor.getLhs(), adaptor.getRhs(),        \
                               inferred);                                      \
  }
KILN_SAME_TYPE_BINARY_INFER(ModOp)
KILN_SAME_TYPE_BINARY_INFER(BitShiftOp)
KILN_SAME_TYPE_BINARY_INFER(XorOp)
#undef KILN_SAME_TYPE_BINARY_INFER

LogicalResult ModOp::verify() {
  Type t = getElementTypeOrSelf(getLhs().getType());
  if (t.isInteger(1) || !isa<FloatType, IntegerType>(t))
    return emitOpError("expects float or non-bool integer operands, got ")
           << t;
  return success();
}

LogicalResult BitShiftOp::verify() {
  Type t = getElementTypeOrSelf(getLhs().getType());
  if (!isInteger(t) || t.isInteger(1))
    return emitOpError("expects non-bool integer operands, got ") << t;
  if (getDirection() != "left" && getDirection() != "right")
    return emitOpError("direction must be \"left\" or \"right\", got \"")
           << getDirection() << "\"";
  return success();
}

LogicalResult XorOp::verify() {
  Type t = getElementTypeOrSelf(getLhs().getType());
  if (!isInteger(t))
    return emitOpError("expects integer or i1 operands, got ") << t;
  return success();
}

LogicalResult CastOp::verify() {
  StringRef mode = getRoundMode();
  if (mode != "up" && mode != "down" && mode != "nearest")
    return emitOpError("round_mode must be \"up\", \"down\" or \"nearest\", "
                       "got \"")
           << mode << "\"";
  return success();
}

LogicalResult BitcastOp::verify() {
  auto storageBits = [](Type t) -> unsigned {
    if (!t.isIntOrFloat())
      return 0;
    unsigned w = t.getIntOrFloatBitWidth();
    return w == 1 ? 8 : w;
  };
  Type from = getElementTypeOrSelf(getInput().getType());
  Type to = getElementTypeOrSelf(getType());
  if (!storageBits(from) || storageBits(from) != storageBits(to))
    return emitOpError("element types ")
           << from << " and " << to << " differ in size";
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

#define KILN_REDUCE_AXES_INFER(OP)                                             \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    return inferReduceAxes(loc, adaptor.getInput(), adaptor.getAxes(),         \
                           adaptor.getKeepdims(), inferred);                   \
  }
KILN_REDUCE_AXES_INFER(ReduceMinOp)
KILN_REDUCE_AXES_INFER(ReduceProdOp)
#undef KILN_REDUCE_AXES_INFER

LogicalResult ArgMaxOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return inferArgReduce(ctx, loc, adaptor.getInput(), adaptor.getAxis(),
                        adaptor.getKeepdims(), inferred);
}

LogicalResult ArgMinOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return inferArgReduce(ctx, loc, adaptor.getInput(), adaptor.getAxis(),
                        adaptor.getKeepdims(), inferred);
}

LogicalResult TopKOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto in = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!in || in.getRank() == 0)
    return fail(loc, "expected a ranked tensor of rank >= 1");
  if (!isa<FloatType, IntegerType>(in.getElementType()) ||
      in.getElementType().isInteger(1))
    return fail(loc, "expected a float or non-bool integer tensor");
  int64_t axis = adaptor.getAxis(), k = adaptor.getK();
  if (axis < 0 || axis >= in.getRank())
    return fail(loc, "axis " + std::to_string(axis) + " out of range for rank " +
                         std::to_string(in.getRank()));
  if (k < 0 || k > in.getDimSize(axis))
    return fail(loc, "k = " + std::to_string(k) + " is not in [0, " +
                         std::to_string(in.getDimSize(axis)) + "]");
  SmallVector<int64_t> shape(in.getShape());
  shape[axis] = k;
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  inferred.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  return success();
}
