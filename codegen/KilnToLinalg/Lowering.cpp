//===- Lowering.cpp - shared helpers of the kiln -> linalg lowering -------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <limits>

using namespace mlir;

namespace mlir::kiln::lowering {

AffineMap broadcastMap(ArrayRef<int64_t> operand, ArrayRef<int64_t> result,
                       MLIRContext *context) {
  int64_t offset = result.size() - operand.size();
  assert(offset >= 0 && "operand rank exceeds result rank");
  SmallVector<AffineExpr> exprs;
  for (auto [i, size] : llvm::enumerate(operand)) {
    int64_t dim = offset + i;
    if (size == 1 && result[dim] != 1)
      exprs.push_back(getAffineConstantExpr(0, context));
    else
      exprs.push_back(getAffineDimExpr(dim, context));
  }
  return AffineMap::get(result.size(), 0, exprs, context);
}

SmallVector<utils::IteratorType> parallelIterators(unsigned n) {
  return SmallVector<utils::IteratorType>(n, utils::IteratorType::parallel);
}

Value scalarIndex(OpBuilder &b, Location loc, Value tensor) {
  return arith::IndexCastOp::create(
      b, loc, b.getIndexType(),
      tensor::ExtractOp::create(b, loc, tensor, ValueRange{}));
}

Value tagRingSlots(OpBuilder &b, Location loc, Value tags, Value position,
                   int64_t first, int64_t rows, int64_t ring) {
  auto index = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  return scf::ForOp::create(
             b, loc, index(b, first), index(b, rows), index(b, 1),
             ValueRange{tags},
             [&](OpBuilder &rb, Location l, Value r, ValueRange state) {
               Value t = arith::AddIOp::create(rb, l, position, r);
               Value slot = arith::RemUIOp::create(rb, l, t, index(rb, ring));
               Value tag =
                   arith::IndexCastOp::create(rb, l, rb.getI64Type(), t);
               scf::YieldOp::create(
                   rb, l,
                   ValueRange{tensor::InsertOp::create(rb, l, tag, state[0],
                                                       ValueRange{slot})});
             })
      .getResult(0);
}

Value gatherLanes(OpBuilder &b, Location loc, Value vec, Value indices,
                  ValueRange prefix, int64_t count, int64_t width) {
  auto index = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  Value zeros = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({width}, b.getF32Type()), 0.0f));
  return scf::ForOp::create(
             b, loc, index(b, 0), index(b, count), index(b, 1),
             ValueRange{zeros},
             [&](OpBuilder &gb, Location l, Value t, ValueRange acc) {
               SmallVector<Value> at(prefix);
               at.push_back(t);
               Value lane = arith::IndexCastOp::create(
                   gb, l, gb.getIndexType(),
                   tensor::ExtractOp::create(gb, l, indices, at));
               Value v =
                   vector::ExtractOp::create(gb, l, vec, OpFoldResult(lane));
               scf::YieldOp::create(
                   gb, l,
                   ValueRange{vector::InsertOp::create(gb, l, v, acc[0],
                                                       OpFoldResult(t))});
             })
      .getResult(0);
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  auto it = cast<IntegerType>(type);
  if (it.isUnsigned()) {
    // arith constants are signless; values above INT64_MAX wrap.
    Type signless = signlessType(it);
    APInt bits(it.getWidth(),
               value >= 9.2233720368547758e18
                   ? static_cast<uint64_t>(value)
                   : static_cast<uint64_t>(static_cast<int64_t>(value)));
    return fromSignless(
        b, loc,
        arith::ConstantOp::create(b, loc, b.getIntegerAttr(signless, bits)),
        it);
  }
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(it, static_cast<int64_t>(value)));
}

Type signlessType(Type type) {
  if (auto it = dyn_cast<IntegerType>(type))
    if (!it.isSignless())
      return IntegerType::get(type.getContext(), it.getWidth());
  return type;
}

Value toSignless(OpBuilder &b, Location loc, Value value) {
  Type signless = signlessType(value.getType());
  if (signless == value.getType())
    return value;
  return UnrealizedConversionCastOp::create(b, loc, signless, value)
      .getResult(0);
}

Value fromSignless(OpBuilder &b, Location loc, Value value, Type to) {
  if (value.getType() == to)
    return value;
  return UnrealizedConversionCastOp::create(b, loc, to, value).getResult(0);
}

Value lowestValue(OpBuilder &b, Location loc, Type type) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc,
        b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(),
                                           /*Negative=*/true)));
  auto it = cast<IntegerType>(type);
  APInt lowest = it.getWidth() == 1 || it.isUnsigned()
                     ? APInt(it.getWidth(), 0)
                     : APInt::getSignedMinValue(it.getWidth());
  return fromSignless(b, loc,
                      arith::ConstantOp::create(
                          b, loc, b.getIntegerAttr(signlessType(it), lowest)),
                      it);
}

Type accumulatorType(Type element) {
  if (auto ft = dyn_cast<FloatType>(element))
    if (ft.getWidth() < 32)
      return Float32Type::get(element.getContext());
  return element;
}

/// Float to a signless integer type, truncating toward zero. Narrower
/// targets convert through i64 and wrap (as numpy's astype does on x86),
/// so out-of-range values give their low bits, not poison.
static Value floatToInt(OpBuilder &b, Location loc, Value value, Type to,
                        bool isUnsigned) {
  if (to.getIntOrFloatBitWidth() >= 64)
    return isUnsigned ? arith::FPToUIOp::create(b, loc, to, value).getResult()
                      : arith::FPToSIOp::create(b, loc, to, value).getResult();
  Value wide = arith::FPToSIOp::create(b, loc, b.getI64Type(), value);
  return arith::TruncIOp::create(b, loc, to, wide);
}

Value convertScalar(OpBuilder &b, Location loc, Value value, Type to,
                    bool saturate, StringRef roundMode) {
  if (value.getType() == to)
    return value;
  // 8- and 4-bit floats: through f32.
  if (isSmallFloat(value.getType()))
    return convertScalar(b, loc, smallFloatToF32(b, loc, value), to, saturate,
                         roundMode);
  if (isSmallFloat(to))
    return f32ToSmallFloat(b, loc, convertScalar(b, loc, value, b.getF32Type()),
                           to, saturate, roundMode);
  // Unsigned integers: convert the signless bits, choosing the unsigned
  // conversions (uitofp, fptoui, extui).
  auto fromInt = dyn_cast<IntegerType>(value.getType());
  auto toInt = dyn_cast<IntegerType>(to);
  bool fromUnsigned = fromInt && fromInt.isUnsigned();
  bool toUnsigned = toInt && toInt.isUnsigned();
  if (fromUnsigned || toUnsigned) {
    Value v = toSignless(b, loc, value);
    Type from = v.getType(), target = signlessType(to);
    Value r;
    if (from == target)
      r = v;
    else if (target.isInteger(1))
      r = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v,
                                scalarConstant(b, loc, from, 0.0));
    else if (isa<FloatType>(target))
      r = arith::UIToFPOp::create(b, loc, target, v);
    else if (isa<FloatType>(from))
      r = floatToInt(b, loc, v, target, /*isUnsigned=*/true);
    else if (from.getIntOrFloatBitWidth() < target.getIntOrFloatBitWidth())
      r = fromUnsigned || from.isInteger(1)
              ? arith::ExtUIOp::create(b, loc, target, v).getResult()
              : arith::ExtSIOp::create(b, loc, target, v).getResult();
    else if (from.getIntOrFloatBitWidth() > target.getIntOrFloatBitWidth())
      r = arith::TruncIOp::create(b, loc, target, v);
    else
      r = v;
    return fromSignless(b, loc, r, to);
  }
  Type from = value.getType();
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (to.isInteger(1)) {
    if (fromFloat)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, value,
                                   scalarConstant(b, loc, from, 0.0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, value,
                                 scalarConstant(b, loc, from, 0.0));
  }
  if (fromFloat && toFloat) {
    if (fromFloat.getWidth() < toFloat.getWidth())
      return arith::ExtFOp::create(b, loc, to, value);
    if (fromFloat.getWidth() > toFloat.getWidth())
      return arith::TruncFOp::create(b, loc, to, value);
    // Same width, other format (bf16 <-> f16): go through f32.
    Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
    return arith::TruncFOp::create(b, loc, to, wide);
  }
  if (toFloat) {
    if (from.isInteger(1))
      return arith::UIToFPOp::create(b, loc, to, value);
    return arith::SIToFPOp::create(b, loc, to, value);
  }
  if (fromFloat)
    return floatToInt(b, loc, value, to, /*isUnsigned=*/false);
  unsigned fromWidth = from.getIntOrFloatBitWidth();
  unsigned toWidth = to.getIntOrFloatBitWidth();
  if (fromWidth < toWidth) {
    if (fromWidth == 1)
      return arith::ExtUIOp::create(b, loc, to, value);
    return arith::ExtSIOp::create(b, loc, to, value);
  }
  return arith::TruncIOp::create(b, loc, to, value);
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type element) {
  return tensor::EmptyOp::create(b, loc, shape, element);
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Value value) {
  Value empty = emptyTensor(b, loc, shape, value.getType());
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                       ValueRange inputs, ScalarFn body) {
  MLIRContext *context = b.getContext();
  ArrayRef<int64_t> shape = resultType.getShape();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(broadcastMap(
        cast<RankedTensorType>(input.getType()).getShape(), shape, context));
  maps.push_back(b.getMultiDimIdentityMap(shape.size()));
  Value init = emptyTensor(b, loc, shape, resultType.getElementType());
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
      parallelIterators(shape.size()),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value result = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, result);
      });
  return generic.getResult(0);
}

Value reshapeTo(OpBuilder &b, Location loc, Value value,
                RankedTensorType target) {
  auto source = cast<RankedTensorType>(value.getType());
  if (source == target)
    return value;
  int64_t srcRank = source.getRank(), dstRank = target.getRank();
  // Rank 0 <-> all-ones shapes: empty reassociation.
  if (dstRank == 0)
    return tensor::CollapseShapeOp::create(b, loc, target, value,
                                           ArrayRef<ReassociationIndices>{});
  if (srcRank == 0)
    return tensor::ExpandShapeOp::create(b, loc, target, value,
                                         ArrayRef<ReassociationIndices>{});
  if (srcRank > dstRank) {
    if (auto r = getReassociationIndicesForCollapse(source.getShape(),
                                                    target.getShape()))
      return tensor::CollapseShapeOp::create(b, loc, target, value, *r);
  } else if (srcRank < dstRank) {
    if (auto r = getReassociationIndicesForCollapse(target.getShape(),
                                                    source.getShape()))
      return tensor::ExpandShapeOp::create(b, loc, target, value, *r);
  }
  // General case: through a 1-D tensor.
  auto flat =
      RankedTensorType::get({source.getNumElements()}, source.getElementType());
  Value collapsed = value;
  if (srcRank != 1) {
    ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, srcRank));
    collapsed = tensor::CollapseShapeOp::create(
        b, loc, flat, value, ArrayRef<ReassociationIndices>{all});
  }
  if (dstRank == 1)
    return collapsed;
  ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, dstRank));
  return tensor::ExpandShapeOp::create(b, loc, target, collapsed,
                                       ArrayRef<ReassociationIndices>{all});
}

AffineMap keptDimsMap(unsigned rank, ArrayRef<int64_t> axes,
                      MLIRContext *context) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      exprs.push_back(getAffineDimExpr(d, context));
  return AffineMap::get(rank, 0, exprs, context);
}

SmallVector<int64_t> dropAxes(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> kept;
  for (auto [d, size] : llvm::enumerate(shape))
    if (!llvm::is_contained(axes, static_cast<int64_t>(d)))
      kept.push_back(size);
  return kept;
}

Value buildReduction(OpBuilder &b, Location loc, ValueRange inputs,
                     ArrayRef<int64_t> axes, Value init, CombineFn combine) {
  MLIRContext *context = b.getContext();
  auto full = cast<RankedTensorType>(inputs.front().getType());
  unsigned rank = full.getRank();
  SmallVector<int64_t> reduced = dropAxes(full.getShape(), axes);
  AffineMap kept = keptDimsMap(rank, axes, context);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  for (size_t i = 1; i < inputs.size(); ++i)
    maps.push_back(kept);
  maps.push_back(kept);
  SmallVector<utils::IteratorType> iterators = parallelIterators(rank);
  for (int64_t a : axes)
    iterators[a] = utils::IteratorType::reduction;
  Value acc = filledTensor(b, loc, reduced, init);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{acc.getType()}, inputs, ValueRange{acc}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value next = combine(nb, nloc, args.drop_back(), args.back());
        linalg::YieldOp::create(nb, nloc, next);
      });
  return generic.getResult(0);
}

Value padTensor(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> low,
                ArrayRef<int64_t> high, Value padValue) {
  if (llvm::all_of(low, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(high, [](int64_t p) { return p == 0; }))
    return value;
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<OpFoldResult> lowOfr, highOfr;
  for (size_t d = 0; d < shape.size(); ++d) {
    shape[d] += low[d] + high[d];
    lowOfr.push_back(b.getIndexAttr(low[d]));
    highOfr.push_back(b.getIndexAttr(high[d]));
  }
  auto padded = RankedTensorType::get(shape, type.getElementType());
  return tensor::PadOp::create(b, loc, padded, value, lowOfr, highOfr,
                               padValue);
}

} // namespace mlir::kiln::lowering
