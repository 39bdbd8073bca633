//===- Reductions.cpp - kiln reduce_* -> linalg.generic -------------------===//
//
// Part of kiln. One linalg.generic with reduction iterators on `axes`
// (sums and products accumulate in f32 or wider; max starts at -inf or the
// integer minimum, min at +inf or the maximum); mean divides by the element
// count; keepdims re-inserts the unit dims with tensor.expand_shape.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

enum class ReduceKind { Sum, Mean, Max, Min, Prod };

/// The identity of min: +inf for floats, the signed (unsigned) maximum for
/// integers, true for i1.
Value highestValue(OpBuilder &b, Location loc, Type type) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc,
        b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(),
                                           /*Negative=*/false)));
  auto it = cast<IntegerType>(type);
  unsigned w = it.getWidth();
  APInt highest = w == 1 || it.isUnsigned() ? APInt::getMaxValue(w)
                                            : APInt::getSignedMaxValue(w);
  return fromSignless(
      b, loc,
      arith::ConstantOp::create(b, loc,
                                b.getIntegerAttr(signlessType(it), highest)),
      it);
}

template <typename OpTy, ReduceKind Kind>
struct ReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto inType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    Type element = inType.getElementType();
    bool isMinMax = Kind == ReduceKind::Max || Kind == ReduceKind::Min;
    if (!isa<FloatType, IntegerType>(element) ||
        (element.isInteger(1) && !isMinMax))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    bool isFloat = isa<FloatType>(element);
    bool isUnsigned = element.isUnsignedInteger();
    ArrayRef<int64_t> axes = op.getAxes();
    // Accumulate in f32 for narrow floats; unsigned integers accumulate in
    // their own (unsigned) type, computed on the signless bits.
    Type acc = isMinMax ? element : accumulatorType(element);

    Value init;
    if (Kind == ReduceKind::Max)
      init = lowestValue(rewriter, loc, element);
    else if (Kind == ReduceKind::Min)
      init = highestValue(rewriter, loc, element);
    else
      init = scalarConstant(rewriter, loc, acc,
                            Kind == ReduceKind::Prod ? 1.0 : 0.0);
    Value reduced = buildReduction(
        rewriter, loc, x, axes, init,
        [&](OpBuilder &b, Location l, ValueRange v, Value aIn) -> Value {
          Value e = toSignless(b, l, convertScalar(b, l, v[0], acc));
          Value a = toSignless(b, l, aIn);
          Value r;
          if (Kind == ReduceKind::Max) {
            if (isFloat)
              r = arith::MaximumFOp::create(b, l, a, e);
            else if (element.isInteger(1))
              r = arith::OrIOp::create(b, l, a, e);
            else if (isUnsigned)
              r = arith::MaxUIOp::create(b, l, a, e);
            else
              r = arith::MaxSIOp::create(b, l, a, e);
          } else if (Kind == ReduceKind::Min) {
            if (isFloat)
              r = arith::MinimumFOp::create(b, l, a, e);
            else if (element.isInteger(1))
              r = arith::AndIOp::create(b, l, a, e);
            else if (isUnsigned)
              r = arith::MinUIOp::create(b, l, a, e);
            else
              r = arith::MinSIOp::create(b, l, a, e);
          } else if (Kind == ReduceKind::Prod) {
            r = isFloat ? arith::MulFOp::create(b, l, a, e).getResult()
                        : arith::MulIOp::create(b, l, a, e).getResult();
          } else {
            r = isFloat ? arith::AddFOp::create(b, l, a, e).getResult()
                        : arith::AddIOp::create(b, l, a, e).getResult();
          }
          return fromSignless(b, l, r, aIn.getType());
        });

    auto flatType =
        RankedTensorType::get(dropAxes(inType.getShape(), axes), element);
    if (Kind == ReduceKind::Mean || acc != element) {
      int64_t count = 1;
      for (int64_t a : axes)
        count *= inType.getDimSize(a);
      reduced = buildElementwise(
          rewriter, loc, flatType, reduced,
          [&](OpBuilder &b, Location l, ValueRange v) -> Value {
            Value r = v[0];
            if (Kind == ReduceKind::Mean) {
              Value n = scalarConstant(b, l, acc, double(count));
              if (isFloat)
                r = arith::DivFOp::create(b, l, r, n);
              else
                r = fromSignless(
                    b, l,
                    isUnsigned ? arith::DivUIOp::create(
                                     b, l, toSignless(b, l, r),
                                     toSignless(b, l, n))
                                     .getResult()
                               : arith::DivSIOp::create(b, l, r, n)
                                     .getResult(),
                    acc);
            }
            return convertScalar(b, l, r, element);
          });
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, reduced, resultType));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateReductionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ReduceLowering<ReduceSumOp, ReduceKind::Sum>,
               ReduceLowering<ReduceMeanOp, ReduceKind::Mean>,
               ReduceLowering<ReduceMaxOp, ReduceKind::Max>,
               ReduceLowering<ReduceMinOp, ReduceKind::Min>,
               ReduceLowering<ReduceProdOp, ReduceKind::Prod>>(
      patterns.getContext());
}
