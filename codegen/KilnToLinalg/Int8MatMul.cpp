//===- Int8MatMul.cpp - int8 x int8 matmuls -> linalg ---------------------===//
//
// Part of kiln. kiln.dynamic_quantized_matmul's reference form, valid for
// any shape (leading input dims fold into M):
//
//   amax[m]  = max_k |x[m, k]|                          (reduction)
//   s_x[m]   = amax[m] == 0 ? 1 : amax[m] / 127          (elementwise)
//   acc[m,n] = sum_k q(x[m, k], s_x[m]) * w[k, n]  in i32 (contraction)
//              with q(x, s) = clamp(roundeven(x / s), -127, 127)
//   y[m, n]  = f32(acc[m, n]) * s_x[m] * w_s[n]          (rescale)
//
// With a static `input_scale` (calibrated), s_x[m] is that constant for
// every row (a fill) and there is no reduction; the contraction clamps
// out-of-range activations to +-127 as before.
//
// The contraction quantizes inline (once per product: a reference, not a
// kernel) and is marked with `kInt8MatmulAttr`, so that the CPU kernel
// (codegen/cpu/Int8MatmulKernel.cpp) can replace it and the rescale after
// it with one int8 GEMM that quantizes each activation once.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// s_x[m] = amax[m] == 0 ? 1 : amax[m] / 127, amax[m] = max_k |x[m, k]|.
Value dynamicRowScales(OpBuilder &rewriter, Location loc, Value x,
                       int64_t m) {
  Type f32 = rewriter.getF32Type();
  Value amax = buildReduction(
      rewriter, loc, ValueRange{x}, {1},
      scalarConstant(rewriter, loc, f32, 0),
      [](OpBuilder &b, Location l, ValueRange in, Value acc) -> Value {
        return arith::MaximumFOp::create(b, l, acc,
                                         math::AbsFOp::create(b, l, in[0]));
      });
  return buildElementwise(
      rewriter, loc, RankedTensorType::get({m}, f32), ValueRange{amax},
      [](OpBuilder &b, Location l, ValueRange in) -> Value {
        Value zero = scalarConstant(b, l, b.getF32Type(), 0);
        Value isZero = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ,
                                             in[0], zero);
        Value scaled = arith::DivFOp::create(
            b, l, in[0], scalarConstant(b, l, b.getF32Type(), 127));
        return arith::SelectOp::create(
            b, l, isZero, scalarConstant(b, l, b.getF32Type(), 1), scaled);
      });
}

struct DynamicQuantizedMatMulLowering
    : OpConversionPattern<DynamicQuantizedMatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DynamicQuantizedMatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto xt = cast<RankedTensorType>(adaptor.getInput().getType());
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
    int64_t k = xt.getShape().back(), n = resultType.getShape().back();
    int64_t m = xt.getNumElements() / std::max<int64_t>(k, 1);
    Value x = reshapeTo(rewriter, loc, adaptor.getInput(),
                        RankedTensorType::get({m, k}, f32));

    // Row scales: the calibrated constant, or from each row's max |x|.
    Value sx;
    if (std::optional<APFloat> fixed = op.getInputScale())
      sx = filledTensor(
          rewriter, loc, {m},
          scalarConstant(rewriter, loc, f32, fixed->convertToDouble()));
    else
      sx = dynamicRowScales(rewriter, loc, x, m);

    // The integer contraction, quantizing inline.
    AffineExpr dm = getAffineDimExpr(0, ctx), dn = getAffineDimExpr(1, ctx),
               dk = getAffineDimExpr(2, ctx);
    auto map = [&](unsigned dims, ArrayRef<AffineExpr> results) {
      return AffineMap::get(dims, 0, results, ctx);
    };
    Value init = filledTensor(rewriter, loc, {m, n},
                              scalarConstant(rewriter, loc, i32, 0));
    auto contraction = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()},
        ValueRange{x, sx, adaptor.getWeights()}, ValueRange{init},
        {map(3, {dm, dk}), map(3, {dm}), map(3, {dk, dn}), map(3, {dm, dn})},
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value q = arith::DivFOp::create(b, l, args[0], args[1]);
          q = math::RoundEvenOp::create(b, l, q);
          q = arith::MaximumFOp::create(
              b, l, q, scalarConstant(b, l, b.getF32Type(), -127));
          q = arith::MinimumFOp::create(
              b, l, q, scalarConstant(b, l, b.getF32Type(), 127));
          Value qi = arith::FPToSIOp::create(b, l, b.getI32Type(), q);
          Value wi = arith::ExtSIOp::create(b, l, b.getI32Type(), args[2]);
          Value sum = arith::AddIOp::create(
              b, l, args[3], arith::MulIOp::create(b, l, qi, wi));
          linalg::YieldOp::create(b, l, sum);
        });
    contraction->setAttr(kInt8MatmulAttr, UnitAttr::get(ctx));

    // The rescale.
    Value out = emptyTensor(rewriter, loc, {m, n}, f32);
    AffineExpr em = getAffineDimExpr(0, ctx), en = getAffineDimExpr(1, ctx);
    auto rescale = linalg::GenericOp::create(
        rewriter, loc, TypeRange{out.getType()},
        ValueRange{contraction.getResult(0), sx, adaptor.getScales()},
        ValueRange{out},
        {map(2, {em, en}), map(2, {em}), map(2, {en}), map(2, {em, en})},
        parallelIterators(2), [&](OpBuilder &b, Location l, ValueRange args) {
          Value y = arith::SIToFPOp::create(b, l, b.getF32Type(), args[0]);
          y = arith::MulFOp::create(b, l, y, args[1]);
          y = arith::MulFOp::create(b, l, y, args[2]);
          linalg::YieldOp::create(b, l, y);
        });
    rewriter.replaceOp(
        op, reshapeTo(rewriter, loc, rescale.getResult(0), resultType));
    return success();
  }
};

struct IntegerMatMulLowering : OpConversionPattern<IntegerMatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IntegerMatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto xt = cast<RankedTensorType>(op.getLhs().getType());
    int64_t k = xt.getShape().back();
    int64_t m = xt.getNumElements() / std::max<int64_t>(k, 1);
    Value x = reshapeTo(rewriter, loc, adaptor.getLhs(),
                        RankedTensorType::get({m, k}, xt.getElementType()));
    Value product = integerContraction(
        rewriter, loc, x, adaptor.getRhs(),
        integerZeroPoint(op.getLhsZeroPoint(), adaptor.getLhsZeroPoint()));
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, product, resultType));
    return success();
  }
};

} // namespace

namespace mlir::kiln::lowering {

IntegerZeroPoint integerZeroPoint(Value original, Value converted) {
  IntegerZeroPoint zp;
  if (!original)
    return zp;
  auto c = original.getDefiningOp<ConstantOp>();
  auto dense = c ? dyn_cast<DenseElementsAttr>(c.getValue()) : nullptr;
  if (!dense || !dense.isSplat()) {
    zp.runtime = converted;
    return zp;
  }
  APInt v = dense.getSplatValue<APInt>();
  zp.constant = dense.getElementType().isUnsignedInteger()
                    ? int64_t(v.getZExtValue())
                    : v.getSExtValue();
  return zp;
}

Value zeroPointI32(OpBuilder &b, Location loc, const IntegerZeroPoint &zp,
                   Value runtimeArg) {
  if (zp.runtime)
    return convertScalar(b, loc, runtimeArg, b.getI32Type());
  if (zp.constant == 0)
    return Value();
  return arith::ConstantOp::create(b, loc,
                                   b.getI32IntegerAttr(int32_t(zp.constant)));
}

Value integerContraction(OpBuilder &rewriter, Location loc, Value x, Value w,
                         IntegerZeroPoint zp) {
  MLIRContext *ctx = rewriter.getContext();
  auto xt = cast<RankedTensorType>(x.getType());
  bool isUnsigned = xt.getElementType().isUnsignedInteger();
  int64_t m = xt.getDimSize(0);
  int64_t n = cast<RankedTensorType>(w.getType()).getDimSize(1);
  Type i32 = rewriter.getI32Type();
  SmallVector<Value> inputs = {x};
  if (zp.runtime)
    inputs.push_back(zp.runtime);
  inputs.push_back(w);

  AffineExpr dm = getAffineDimExpr(0, ctx), dn = getAffineDimExpr(1, ctx),
             dk = getAffineDimExpr(2, ctx);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(3, 0, results, ctx);
  };
  Value init =
      filledTensor(rewriter, loc, {m, n}, scalarConstant(rewriter, loc, i32, 0));
  SmallVector<AffineMap> maps = {map({dm, dk})};
  if (zp.runtime)
    maps.push_back(map({}));
  maps.append({map({dk, dn}), map({dm, dn})});
  auto contraction = linalg::GenericOp::create(
      rewriter, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction},
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value a = convertScalar(b, l, args[0], b.getI32Type());
        if (Value offset = zeroPointI32(b, l, zp, args[1]))
          a = arith::SubIOp::create(b, l, a, offset);
        Value wv =
            arith::ExtSIOp::create(b, l, b.getI32Type(), args[args.size() - 2]);
        Value sum = arith::AddIOp::create(b, l, args.back(),
                                          arith::MulIOp::create(b, l, a, wv));
        linalg::YieldOp::create(b, l, sum);
      });
  contraction->setAttr(
      kIntegerMatmulAttr,
      StringAttr::get(ctx, isUnsigned ? "unsigned" : "signed"));
  if (!zp.runtime)
    contraction->setAttr(kIntegerMatmulZeroPointAttr,
                         rewriter.getI32IntegerAttr(int32_t(zp.constant)));
  return contraction.getResult(0);
}

} // namespace mlir::kiln::lowering

void mlir::kiln::lowering::populateInt8MatMulPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DynamicQuantizedMatMulLowering, IntegerMatMulLowering>(
      patterns.getContext());
}
