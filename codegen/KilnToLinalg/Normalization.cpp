//===- Normalization.cpp - kiln softmax / layer_norm / batch_norm ---------===//
//
// Part of kiln. Computed like ONNX Runtime, in f32 (or wider):
//   softmax:    m = max(x); e = exp(x - m); y = e / sum(e)
//   layer_norm: mean = sum(x) / n; var = sum((x - mean)^2) / n;
//               y = (x - mean) / sqrt(var + eps) * scale + bias
//   batch_norm: y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c]
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// A parallel generic over `shape` with explicit indexing maps (the output
/// map is the identity).
Value mapGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
                 ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                 ScalarFn body) {
  unsigned rank = resultType.getRank();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init =
      emptyTensor(b, loc, resultType.getShape(), resultType.getElementType());
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
             parallelIterators(rank),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, body(nb, l, args.drop_back()));
             })
      .getResult(0);
}

struct SoftmaxLowering : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(op.getType());
    Type element = type.getElementType();
    Type acc = accumulatorType(element);
    unsigned rank = type.getRank();
    SmallVector<int64_t> axes = {static_cast<int64_t>(op.getAxis())};
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap kept = keptDimsMap(rank, axes, context);

    Value max = buildReduction(
        rewriter, loc, x, axes, lowestValue(rewriter, loc, element),
        [](OpBuilder &b, Location l, ValueRange v, Value a) -> Value {
          return arith::MaximumFOp::create(b, l, a, v[0]);
        });
    auto accType = RankedTensorType::get(type.getShape(), acc);
    Value e = mapGeneric(rewriter, loc, accType, {x, max}, {identity, kept},
                         [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                           Value diff = arith::SubFOp::create(
                               b, l, convertScalar(b, l, v[0], acc),
                               convertScalar(b, l, v[1], acc));
                           return math::ExpOp::create(b, l, diff);
                         });
    Value sum = buildReduction(
        rewriter, loc, e, axes, scalarConstant(rewriter, loc, acc, 0.0),
        [](OpBuilder &b, Location l, ValueRange v, Value a) -> Value {
          return arith::AddFOp::create(b, l, a, v[0]);
        });
    Value y = mapGeneric(rewriter, loc, type, {e, sum}, {identity, kept},
                         [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                           Value q = arith::DivFOp::create(b, l, v[0], v[1]);
                           return convertScalar(b, l, q, element);
                         });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(op.getType());
    Type element = type.getElementType();
    Type acc = accumulatorType(element);
    int64_t rank = type.getRank(), axis = op.getAxis();
    SmallVector<int64_t> axes = llvm::to_vector(llvm::seq(axis, rank));
    int64_t count = 1;
    for (int64_t a : axes)
      count *= type.getDimSize(a);
    auto statsType =
        RankedTensorType::get(dropAxes(type.getShape(), axes), acc);
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap kept = keptDimsMap(rank, axes, context);
    SmallVector<AffineExpr> innerExprs;
    for (int64_t a : axes)
      innerExprs.push_back(getAffineDimExpr(a, context));
    AffineMap inner = AffineMap::get(rank, 0, innerExprs, context);
    Value zero = scalarConstant(rewriter, loc, acc, 0.0);
    auto divideByCount = [&](Value sum) {
      return buildElementwise(
          rewriter, loc, statsType, sum,
          [&](OpBuilder &b, Location l, ValueRange v) -> Value {
            return arith::DivFOp::create(
                b, l, v[0], scalarConstant(b, l, acc, double(count)));
          });
    };

    Value sum = buildReduction(
        rewriter, loc, x, axes, zero,
        [&](OpBuilder &b, Location l, ValueRange v, Value a) -> Value {
          return arith::AddFOp::create(b, l, a, convertScalar(b, l, v[0], acc));
        });
    Value mean = divideByCount(sum);
    Value squares = buildReduction(
        rewriter, loc, {x, mean}, axes, zero,
        [&](OpBuilder &b, Location l, ValueRange v, Value a) -> Value {
          Value d =
              arith::SubFOp::create(b, l, convertScalar(b, l, v[0], acc), v[1]);
          return arith::AddFOp::create(b, l, a,
                                       arith::MulFOp::create(b, l, d, d));
        });
    Value variance = divideByCount(squares);
    double eps = op.getEpsilon().convertToDouble();
    Value y = mapGeneric(
        rewriter, loc, type,
        {x, mean, variance, adaptor.getScale(), adaptor.getBias()},
        {identity, kept, kept, inner, inner},
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value d =
              arith::SubFOp::create(b, l, convertScalar(b, l, v[0], acc), v[1]);
          Value stddev = math::SqrtOp::create(
              b, l,
              arith::AddFOp::create(b, l, v[2],
                                    scalarConstant(b, l, acc, eps)));
          Value normed = arith::DivFOp::create(b, l, d, stddev);
          Value scaled = arith::MulFOp::create(b, l, normed,
                                               convertScalar(b, l, v[3], acc));
          Value shifted = arith::AddFOp::create(b, l, scaled,
                                                convertScalar(b, l, v[4], acc));
          return convertScalar(b, l, shifted, element);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct BatchNormLowering : OpConversionPattern<BatchNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BatchNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    Type element = type.getElementType();
    Type acc = accumulatorType(element);
    unsigned rank = type.getRank();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap channel = AffineMap::get(rank, 0, getAffineDimExpr(1, context));
    double eps = op.getEpsilon().convertToDouble();
    Value y = mapGeneric(
        rewriter, loc, type,
        {adaptor.getInput(), adaptor.getScale(), adaptor.getBias(),
         adaptor.getMean(), adaptor.getVariance()},
        {identity, channel, channel, channel, channel},
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          auto w = [&](Value s) { return convertScalar(b, l, s, acc); };
          Value d = arith::SubFOp::create(b, l, w(v[0]), w(v[3]));
          Value stddev = math::SqrtOp::create(
              b, l,
              arith::AddFOp::create(b, l, w(v[4]),
                                    scalarConstant(b, l, acc, eps)));
          Value normed = arith::DivFOp::create(b, l, d, stddev);
          Value scaled = arith::MulFOp::create(b, l, normed, w(v[1]));
          Value shifted = arith::AddFOp::create(b, l, scaled, w(v[2]));
          return convertScalar(b, l, shifted, element);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateNormalizationPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SoftmaxLowering, LayerNormLowering, BatchNormLowering>(
      patterns.getContext());
}
