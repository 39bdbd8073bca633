//===- IndexReductions.cpp - kiln arg_max/arg_min/top_k -> linalg ---------===//
//
// Part of kiln. Reductions that produce indices.
//
// arg_max / arg_min: one linalg.generic with two accumulators (best value,
// best index) reducing over the axis. The combiner is order-independent:
// a candidate wins when it is strictly better, or equal with a smaller
// (larger, for select_last_index) index, so loop interchange or splitting
// cannot change ties. NaN counts as the extreme (as numpy's argmax/argmin).
//
// top_k: rank each element (how many elements of its row come before it in
// the requested order, ties by index), then gather, for each output slot s
// < k, the element whose rank is s. Both steps are linalg.generics; the cost
// is O(n^2 + n k) per row, fine for the small axes ONNX tests and detection
// heads use.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

Value indexAsI64(OpBuilder &b, Location loc, int64_t dim) {
  Value i = linalg::IndexOp::create(b, loc, dim);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
}

Value i64Constant(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
}

/// `lhs` comes before `rhs` in descending (or ascending) order; NaN counts
/// as the largest value (and the smallest, for ascending order) as in
/// numpy's argmax/argmin. Operands are signless; `isUnsigned` picks the
/// unsigned integer predicates.
Value strictlyBefore(OpBuilder &b, Location loc, Value lhs, Value rhs,
                     bool descending, bool isUnsigned) {
  if (isa<FloatType>(lhs.getType())) {
    Value ordered = arith::CmpFOp::create(
        b, loc,
        descending ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT,
        lhs, rhs);
    Value lhsNan =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, lhs, lhs);
    Value rhsNotNan =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ORD, rhs, rhs);
    return arith::OrIOp::create(
        b, loc, ordered, arith::AndIOp::create(b, loc, lhsNan, rhsNotNan));
  }
  arith::CmpIPredicate pred;
  if (lhs.getType().isInteger(1) || isUnsigned)
    pred = descending ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::ult;
  else
    pred = descending ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::slt;
  return arith::CmpIOp::create(b, loc, pred, lhs, rhs);
}

/// Equality in which NaN equals NaN.
Value sameValue(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  if (isa<FloatType>(lhs.getType())) {
    Value eq =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, lhs, rhs);
    Value bothNan = arith::AndIOp::create(
        b, loc,
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, lhs, lhs),
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, rhs, rhs));
    return arith::OrIOp::create(b, loc, eq, bothNan);
  }
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lhs, rhs);
}

template <typename OpTy, bool IsMax>
struct ArgReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value x = adaptor.getInput();
    auto inType = cast<RankedTensorType>(x.getType());
    Type element = inType.getElementType();
    if (!isa<FloatType, IntegerType>(element))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    bool isUnsigned = element.isUnsignedInteger();
    bool last = op.getSelectLastIndex();
    int64_t axis = op.getAxis();
    unsigned rank = inType.getRank();
    SmallVector<int64_t> axes = {axis};
    SmallVector<int64_t> reduced = dropAxes(inType.getShape(), axes);

    // The first element always wins against these initial values: the
    // value is NaN-free and never strictly better, and the index loses
    // every tie.
    Value initValue = IsMax ? lowestValue(rewriter, loc, element)
                            : scalarConstant(rewriter, loc, element, 0.0);
    if (!IsMax) {
      // +inf or the integer maximum.
      if (auto ft = dyn_cast<FloatType>(element))
        initValue = arith::ConstantOp::create(
            rewriter, loc,
            rewriter.getFloatAttr(
                ft, APFloat::getInf(ft.getFloatSemantics(), false)));
      else {
        unsigned w = element.getIntOrFloatBitWidth();
        APInt top = w == 1 || isUnsigned ? APInt::getMaxValue(w)
                                         : APInt::getSignedMaxValue(w);
        initValue = fromSignless(
            rewriter, loc,
            arith::ConstantOp::create(
                rewriter, loc,
                rewriter.getIntegerAttr(signlessType(element), top)),
            element);
      }
    }
    Value initIndex = i64Constant(
        rewriter, loc, last ? -1 : std::numeric_limits<int64_t>::max());
    Value values = filledTensor(rewriter, loc, reduced, initValue);
    Value indices = filledTensor(rewriter, loc, reduced, initIndex);

    AffineMap kept = keptDimsMap(rank, axes, context);
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(rank), kept,
                                   kept};
    SmallVector<utils::IteratorType> iterators = parallelIterators(rank);
    iterators[axis] = utils::IteratorType::reduction;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{values.getType(), indices.getType()}, x,
        ValueRange{values, indices}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = toSignless(b, l, args[0]);
          Value best = toSignless(b, l, args[1]);
          Value bestIndex = args[2];
          Value index = indexAsI64(b, l, axis);
          Value better = strictlyBefore(b, l, v, best, IsMax, isUnsigned);
          Value tieWins = arith::CmpIOp::create(
              b, l, last ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::slt,
              index, bestIndex);
          Value take = arith::OrIOp::create(
              b, l, better,
              arith::AndIOp::create(b, l, sameValue(b, l, v, best), tieWins));
          Value nextValue = arith::SelectOp::create(b, l, take, args[0], args[1]);
          Value nextIndex = arith::SelectOp::create(b, l, take, index, bestIndex);
          linalg::YieldOp::create(b, l, ValueRange{nextValue, nextIndex});
        });
    auto resultType = cast<RankedTensorType>(op.getType());
    rewriter.replaceOp(
        op, reshapeTo(rewriter, loc, generic.getResult(1), resultType));
    return success();
  }
};

struct TopKLowering : OpConversionPattern<TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TopKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value x = adaptor.getInput();
    auto inType = cast<RankedTensorType>(x.getType());
    Type element = inType.getElementType();
    if (!isa<FloatType, IntegerType>(element) || element.isInteger(1))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    bool isUnsigned = element.isUnsignedInteger();
    bool largest = op.getLargest();
    int64_t axis = op.getAxis();
    unsigned rank = inType.getRank();
    Type i64 = rewriter.getI64Type();

    // Maps over rank + 1 loops: d0..d(rank-1) the element (or output slot)
    // position, d(rank) the other position along the axis.
    SmallVector<AffineExpr> idExprs;
    for (unsigned d = 0; d < rank; ++d)
      idExprs.push_back(getAffineDimExpr(d, context));
    AffineMap identity = AffineMap::get(rank + 1, 0, idExprs, context);
    SmallVector<AffineExpr> alongExprs(idExprs);
    alongExprs[axis] = getAffineDimExpr(rank, context);
    AffineMap along = AffineMap::get(rank + 1, 0, alongExprs, context);
    SmallVector<utils::IteratorType> iterators = parallelIterators(rank + 1);
    iterators[rank] = utils::IteratorType::reduction;

    // rank[p] = #{j : x[j] before x[p], or equal with j < p}.
    Value ranks = filledTensor(rewriter, loc, inType.getShape(),
                               i64Constant(rewriter, loc, 0));
    auto rankOp = linalg::GenericOp::create(
        rewriter, loc, TypeRange{ranks.getType()}, ValueRange{x, x},
        ValueRange{ranks}, ArrayRef<AffineMap>{identity, along, identity},
        iterators, [&](OpBuilder &b, Location l, ValueRange args) {
          Value self = toSignless(b, l, args[0]);
          Value other = toSignless(b, l, args[1]);
          Value p = indexAsI64(b, l, axis);
          Value j = indexAsI64(b, l, rank);
          Value before =
              strictlyBefore(b, l, other, self, largest, isUnsigned);
          Value tie = arith::AndIOp::create(
              b, l, sameValue(b, l, other, self),
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, j, p));
          Value counts = arith::OrIOp::create(b, l, before, tie);
          Value inc = arith::ExtUIOp::create(b, l, i64, counts);
          linalg::YieldOp::create(b, l,
                                  ValueRange{arith::AddIOp::create(
                                      b, l, args[2], inc)});
        });
    Value rankTensor = rankOp.getResult(0);

    // out[s] = x[j] for the j whose rank is s.
    auto valuesType = cast<RankedTensorType>(op.getValues().getType());
    auto indicesType = cast<RankedTensorType>(op.getIndices().getType());
    Value values = filledTensor(rewriter, loc, valuesType.getShape(),
                                scalarConstant(rewriter, loc, element, 0.0));
    Value indices = filledTensor(rewriter, loc, indicesType.getShape(),
                                 i64Constant(rewriter, loc, 0));
    auto gather = linalg::GenericOp::create(
        rewriter, loc, TypeRange{valuesType, indicesType},
        ValueRange{x, rankTensor}, ValueRange{values, indices},
        ArrayRef<AffineMap>{along, along, identity, identity}, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value slot = indexAsI64(b, l, axis);
          Value j = indexAsI64(b, l, rank);
          Value match =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, args[1], slot);
          Value v = arith::SelectOp::create(b, l, match, args[0], args[2]);
          Value i = arith::SelectOp::create(b, l, match, j, args[3]);
          linalg::YieldOp::create(b, l, ValueRange{v, i});
        });
    rewriter.replaceOp(op, gather.getResults());
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateIndexReductionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ArgReduceLowering<ArgMaxOp, true>,
               ArgReduceLowering<ArgMinOp, false>, TopKLowering>(
      patterns.getContext());
}
