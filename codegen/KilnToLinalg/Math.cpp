//===- Math.cpp - kiln math and integer ops -> linalg.generic -------------===//
//
// Part of kiln. The elementwise ops of the "ONNX coverage" section: float
// functions (trigonometric, hyperbolic, floor/ceil/round), sign, mod,
// bit_shift, xor and bitcast. Each becomes one linalg.generic over the result shape
// with numpy broadcasting maps; unsigned integers compute on their signless
// bits with the unsigned arith ops.
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

/// Float functions that are one math-dialect op.
template <typename OpTy, typename MathOp>
struct FloatUnaryLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    if (!isa<FloatType>(resultType.getElementType()))
      return rewriter.notifyMatchFailure(op, "expected a float tensor");
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getInput(),
        [](OpBuilder &b, Location loc, ValueRange x) -> Value {
          return MathOp::create(b, loc, x[0]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// sign: 1 for positive, -1 for negative, the input itself for zeros (so
/// -0.0 stays -0.0) and NaN.
struct SignLowering : OpConversionPattern<SignOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SignOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type t = resultType.getElementType();
    if (!isa<FloatType, IntegerType>(t))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value x = toSignless(b, loc, args[0]);
          Type s = x.getType();
          Value zero = scalarConstant(b, loc, s, 0.0);
          Value one = scalarConstant(b, loc, s, 1.0);
          if (auto ft = dyn_cast<FloatType>(s)) {
            Value pos = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OGT, x, zero);
            Value neg = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OLT, x, zero);
            Value r = arith::SelectOp::create(
                b, loc, neg, scalarConstant(b, loc, s, -1.0), x);
            return arith::SelectOp::create(b, loc, pos, one, r);
          }
          if (t.isInteger(1) || t.isUnsignedInteger())
            return fromSignless(b, loc, x, t);
          Value pos = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                            x, zero);
          Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                            x, zero);
          Value r = arith::SelectOp::create(
              b, loc, neg, scalarConstant(b, loc, s, -1.0), zero);
          return arith::SelectOp::create(b, loc, pos, one, r);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// mod: remf / remsi / remui (C fmod); with fmod = false a non-zero
/// remainder whose sign differs from the divisor's gets the divisor added
/// and a zero one takes the divisor's sign (numpy's mod).
struct ModLowering : OpConversionPattern<ModOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ModOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type t = resultType.getElementType();
    bool fmod = op.getFmod();
    bool isUnsigned = t.isUnsignedInteger();
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          if (isa<FloatType>(t)) {
            Value r = arith::RemFOp::create(b, loc, args[0], args[1]);
            if (fmod)
              return r;
            // numpy's mod: a non-zero remainder takes the divisor's sign by
            // adding the divisor; a zero one is a zero of the divisor's sign.
            Value y = args[1];
            Value zero = scalarConstant(b, loc, t, 0.0);
            Value nonZero = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::UNE, r, zero);
            Value rNeg = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OLT, r, zero);
            Value yNeg = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OLT, y, zero);
            Value signsDiffer = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::ne, rNeg, yNeg);
            Value adjusted = arith::SelectOp::create(
                b, loc, signsDiffer, arith::AddFOp::create(b, loc, r, y), r);
            Value signedZero = math::CopySignOp::create(b, loc, zero, y);
            return arith::SelectOp::create(b, loc, nonZero, adjusted,
                                           signedZero);
          }
          Value x = toSignless(b, loc, args[0]);
          Value y = toSignless(b, loc, args[1]);
          if (isUnsigned)
            return fromSignless(b, loc, arith::RemUIOp::create(b, loc, x, y),
                                t);
          Value r = arith::RemSIOp::create(b, loc, x, y);
          if (fmod)
            return r;
          Value zero = scalarConstant(b, loc, x.getType(), 0.0);
          Value nonZero =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero);
          Value rNeg =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero);
          Value yNeg =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, y, zero);
          Value signsDiffer =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rNeg, yNeg);
          Value fix = arith::AndIOp::create(b, loc, nonZero, signsDiffer);
          return arith::SelectOp::create(
              b, loc, fix, arith::AddIOp::create(b, loc, r, y), r);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// bit_shift: shli / shrui / shrsi, with shift amounts of the bit width or
/// more giving 0 (-1 for negative signed values shifted right) instead of
/// poison.
struct BitShiftLowering : OpConversionPattern<BitShiftOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BitShiftOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type t = resultType.getElementType();
    bool left = op.getDirection() == "left";
    bool isUnsigned = t.isUnsignedInteger();
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value x = toSignless(b, loc, args[0]);
          Value y = toSignless(b, loc, args[1]);
          Type s = x.getType();
          unsigned width = s.getIntOrFloatBitWidth();
          Value tooFar = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::uge, y,
              scalarConstant(b, loc, s, double(width)));
          Value shifted, overflow;
          if (left) {
            shifted = arith::ShLIOp::create(b, loc, x, y);
            overflow = scalarConstant(b, loc, s, 0.0);
          } else if (isUnsigned) {
            shifted = arith::ShRUIOp::create(b, loc, x, y);
            overflow = scalarConstant(b, loc, s, 0.0);
          } else {
            shifted = arith::ShRSIOp::create(b, loc, x, y);
            overflow = arith::ShRSIOp::create(
                b, loc, x, scalarConstant(b, loc, s, double(width - 1)));
          }
          return fromSignless(
              b, loc, arith::SelectOp::create(b, loc, tooFar, overflow, shifted),
              t);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct XorLowering : OpConversionPattern<XorOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(XorOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type t = resultType.getElementType();
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          return fromSignless(
              b, loc,
              arith::XOrIOp::create(b, loc, toSignless(b, loc, args[0]),
                                    toSignless(b, loc, args[1])),
              t);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// bitcast: arith.bitcast on the signless bits; i1 <-> 8-bit integers
/// widen (0/1) or test != 0.
struct BitcastLowering : OpConversionPattern<BitcastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BitcastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type to = resultType.getElementType();
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value x = toSignless(b, loc, args[0]);
          Type target = signlessType(to);
          if (x.getType() == target)
            return fromSignless(b, loc, x, to);
          if (x.getType().isInteger(1))
            x = arith::ExtUIOp::create(b, loc, b.getI8Type(), x);
          Value r;
          if (target.isInteger(1)) {
            if (!x.getType().isInteger(8))
              x = arith::BitcastOp::create(b, loc, b.getI8Type(), x);
            r = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x,
                                      scalarConstant(b, loc, x.getType(), 0.0));
          } else
            r = arith::BitcastOp::create(b, loc, target, x);
          return fromSignless(b, loc, r, to);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateMathPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<FloatUnaryLowering<SinOp, math::SinOp>,
               FloatUnaryLowering<CosOp, math::CosOp>,
               FloatUnaryLowering<TanOp, math::TanOp>,
               FloatUnaryLowering<AsinOp, math::AsinOp>,
               FloatUnaryLowering<AcosOp, math::AcosOp>,
               FloatUnaryLowering<AtanOp, math::AtanOp>,
               FloatUnaryLowering<SinhOp, math::SinhOp>,
               FloatUnaryLowering<CoshOp, math::CoshOp>,
               FloatUnaryLowering<AsinhOp, math::AsinhOp>,
               FloatUnaryLowering<AcoshOp, math::AcoshOp>,
               FloatUnaryLowering<AtanhOp, math::AtanhOp>,
               FloatUnaryLowering<FloorOp, math::FloorOp>,
               FloatUnaryLowering<CeilOp, math::CeilOp>,
               FloatUnaryLowering<RoundOp, math::RoundEvenOp>>(context);
  patterns.add<SignLowering, ModLowering, BitShiftLowering, XorLowering,
               BitcastLowering>(context);
}
