//===- Reductions.cpp - kiln reduce_{sum,mean,max} -> linalg.generic ------===//
//
// Part of kiln. One linalg.generic with reduction iterators on `axes`
// (sums accumulate in f32 or wider; max starts at -inf or the integer
// minimum); mean divides by the element count; keepdims re-inserts the
// unit dims with tensor.expand_shape.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

enum class ReduceKind { Sum, Mean, Max };

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
    if (!isa<FloatType, IntegerType>(element) ||
        (element.isInteger(1) && Kind != ReduceKind::Max))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    bool isFloat = isa<FloatType>(element);
    ArrayRef<int64_t> axes = op.getAxes();
    Type acc = Kind == ReduceKind::Max ? element : accumulatorType(element);

    Value init = Kind == ReduceKind::Max
                     ? lowestValue(rewriter, loc, element)
                     : scalarConstant(rewriter, loc, acc, 0.0);
    Value reduced = buildReduction(
        rewriter, loc, x, axes, init,
        [&](OpBuilder &b, Location l, ValueRange v, Value a) -> Value {
          Value e = convertScalar(b, l, v[0], acc);
          if (Kind == ReduceKind::Max) {
            if (isFloat)
              return arith::MaximumFOp::create(b, l, a, e);
            if (element.isInteger(1))
              return arith::OrIOp::create(b, l, a, e);
            return arith::MaxSIOp::create(b, l, a, e);
          }
          if (isFloat)
            return arith::AddFOp::create(b, l, a, e);
          return arith::AddIOp::create(b, l, a, e);
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
              r = isFloat ? arith::DivFOp::create(b, l, r, n).getResult()
                          : arith::DivSIOp::create(b, l, r, n).getResult();
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
               ReduceLowering<ReduceMaxOp, ReduceKind::Max>>(
      patterns.getContext());
}
