//===- Elementwise.cpp - kiln elementwise ops -> linalg.generic -----------===//
//
// Part of kiln. Unary, binary, comparison, select, cast and activation ops
// each become one linalg.generic over the result shape; operands are read
// with numpy broadcasting maps (right-aligned, size-1 dims -> constant 0).
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

bool isFloat(Type t) { return isa<FloatType>(t); }

/// Element type of the first input (the type the computation runs in).
Type inputElement(ValueRange inputs) {
  return cast<RankedTensorType>(inputs.front().getType()).getElementType();
}

//===----------------------------------------------------------------------===//
// Scalar bodies, one overload per op, for the element types `supported`
// accepts (for the others the pattern fails and the conversion reports the
// op).
//===----------------------------------------------------------------------===//

bool supported(Operation *op, Type t) {
  if (!isa<FloatType, IntegerType>(t))
    return false;
  if (isa<SqrtOp, ExpOp, LogOp, ErfOp, TanhOp, SigmoidOp>(op))
    return isFloat(t);
  if (isa<AndOp, OrOp>(op))
    return !isFloat(t);
  if (isa<NotOp>(op))
    return t.isInteger(1);
  if (isa<ReciprocalOp, DivOp>(op))
    return !t.isInteger(1);
  return true;
}

using B = OpBuilder;
using L = Location;
using A = ValueRange;

Value body(NegOp, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t))
    return arith::NegFOp::create(b, l, x[0]);
  return arith::SubIOp::create(b, l, scalarConstant(b, l, t, 0), x[0]);
}
Value body(AbsOp, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t))
    return math::AbsFOp::create(b, l, x[0]);
  if (t.isInteger(1) || u)
    return x[0];
  return math::AbsIOp::create(b, l, x[0]);
}
Value body(SqrtOp, B &b, L l, A x, Type t, bool u) {
  return math::SqrtOp::create(b, l, x[0]);
}
Value body(ExpOp, B &b, L l, A x, Type t, bool u) {
  return math::ExpOp::create(b, l, x[0]);
}
Value body(LogOp, B &b, L l, A x, Type t, bool u) {
  return math::LogOp::create(b, l, x[0]);
}
Value body(ErfOp, B &b, L l, A x, Type t, bool u) {
  return math::ErfOp::create(b, l, x[0]);
}
Value body(TanhOp, B &b, L l, A x, Type t, bool u) {
  return math::TanhOp::create(b, l, x[0]);
}
Value body(SigmoidOp, B &b, L l, A x, Type t, bool u) {
  // 1 / (1 + exp(-x)): exp(-x) overflows to inf for very negative x and the
  // quotient is then exactly 0, as in ONNX Runtime.
  Value one = scalarConstant(b, l, t, 1.0);
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x[0]));
  return arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e));
}
Value body(ReluOp, B &b, L l, A x, Type t, bool u) {
  Value zero = scalarConstant(b, l, t, 0.0);
  if (isFloat(t))
    return arith::MaximumFOp::create(b, l, x[0], zero);
  if (t.isInteger(1) || u)
    return x[0];
  return arith::MaxSIOp::create(b, l, x[0], zero);
}
Value body(ReciprocalOp, B &b, L l, A x, Type t, bool u) {
  Value one = scalarConstant(b, l, t, 1.0);
  if (isFloat(t))
    return arith::DivFOp::create(b, l, one, x[0]);
  if (u)
    return arith::DivUIOp::create(b, l, one, x[0]);
  return arith::DivSIOp::create(b, l, one, x[0]);
}
Value body(NotOp, B &b, L l, A x, Type, bool u) {
  Value ones = arith::ConstantOp::create(b, l, b.getBoolAttr(true));
  return arith::XOrIOp::create(b, l, x[0], ones);
}

Value body(AddOp, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t))
    return arith::AddFOp::create(b, l, x[0], x[1]);
  if (t.isInteger(1))
    return arith::XOrIOp::create(b, l, x[0], x[1]);
  return arith::AddIOp::create(b, l, x[0], x[1]);
}
Value body(SubOp, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t))
    return arith::SubFOp::create(b, l, x[0], x[1]);
  if (t.isInteger(1))
    return arith::XOrIOp::create(b, l, x[0], x[1]);
  return arith::SubIOp::create(b, l, x[0], x[1]);
}
Value body(MulOp op, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t) && op.getLmulAttr())
    return convertScalar(b, l, buildLMulProduct(b, l, x[0], x[1],
                                                op.getLmulAttr()), t);
  if (isFloat(t))
    return arith::MulFOp::create(b, l, x[0], x[1]);
  if (t.isInteger(1))
    return arith::AndIOp::create(b, l, x[0], x[1]);
  return arith::MulIOp::create(b, l, x[0], x[1]);
}
Value body(DivOp, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t))
    return arith::DivFOp::create(b, l, x[0], x[1]);
  // ONNX integer Div truncates toward zero, as arith.divsi does.
  if (u)
    return arith::DivUIOp::create(b, l, x[0], x[1]);
  return arith::DivSIOp::create(b, l, x[0], x[1]);
}
Value body(MaxOp, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t))
    return arith::MaximumFOp::create(b, l, x[0], x[1]);
  if (t.isInteger(1))
    return arith::OrIOp::create(b, l, x[0], x[1]);
  if (u)
    return arith::MaxUIOp::create(b, l, x[0], x[1]);
  return arith::MaxSIOp::create(b, l, x[0], x[1]);
}
Value body(MinOp, B &b, L l, A x, Type t, bool u) {
  if (isFloat(t))
    return arith::MinimumFOp::create(b, l, x[0], x[1]);
  if (t.isInteger(1))
    return arith::AndIOp::create(b, l, x[0], x[1]);
  if (u)
    return arith::MinUIOp::create(b, l, x[0], x[1]);
  return arith::MinSIOp::create(b, l, x[0], x[1]);
}
Value body(AndOp, B &b, L l, A x, Type t, bool u) {
  return arith::AndIOp::create(b, l, x[0], x[1]);
}
Value body(OrOp, B &b, L l, A x, Type t, bool u) {
  return arith::OrIOp::create(b, l, x[0], x[1]);
}

Value compare(B &b, L l, A x, Type t, bool u, arith::CmpFPredicate fp,
              arith::CmpIPredicate sp, arith::CmpIPredicate up) {
  if (isFloat(t))
    return arith::CmpFOp::create(b, l, fp, x[0], x[1]);
  // i1 compares as unsigned (false < true).
  return arith::CmpIOp::create(b, l, t.isInteger(1) || u ? up : sp, x[0],
                               x[1]);
}
Value body(EqualOp, B &b, L l, A x, Type t, bool u) {
  return compare(b, l, x, t, u, arith::CmpFPredicate::OEQ,
                 arith::CmpIPredicate::eq, arith::CmpIPredicate::eq);
}
Value body(LessOp, B &b, L l, A x, Type t, bool u) {
  return compare(b, l, x, t, u, arith::CmpFPredicate::OLT,
                 arith::CmpIPredicate::slt, arith::CmpIPredicate::ult);
}
Value body(GreaterOp, B &b, L l, A x, Type t, bool u) {
  return compare(b, l, x, t, u, arith::CmpFPredicate::OGT,
                 arith::CmpIPredicate::sgt, arith::CmpIPredicate::ugt);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Unary and binary ops whose body depends only on the op kind and the
/// operands' element type.
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    ValueRange inputs = adaptor.getOperands();
    Type element = inputElement(inputs);
    if (!supported(op, element))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    // Unsigned integers compute on their signless bits with the unsigned
    // arith ops.
    bool isUnsigned = element.isUnsignedInteger();
    Type signless = signlessType(element);
    Type resultElement = resultType.getElementType();
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, inputs,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          SmallVector<Value> xs;
          for (Value arg : args)
            xs.push_back(toSignless(b, loc, arg));
          Value r = body(op, b, loc, xs, signless, isUnsigned);
          return fromSignless(b, loc, r, resultElement);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Returns the splat value of `value` when it is a constant float splat.
std::optional<double> splatFloat(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  auto dense = dyn_cast<DenseFPElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

/// x^n for a small integer n by repeated squaring (x^3 = x*x*x, x^-2 =
/// 1/(x*x)): GPT-2's GELU cubes its input, and a powf call per element
/// (scalar libm) cost 8% of its forward pass.
Value integerPower(OpBuilder &b, Location loc, Value x, int64_t n) {
  Value result, square = x;
  for (int64_t e = n < 0 ? -n : n; e; e >>= 1) {
    if (e & 1)
      result = result ? arith::MulFOp::create(b, loc, result, square) : square;
    if (e > 1)
      square = arith::MulFOp::create(b, loc, square, square);
  }
  if (n >= 0)
    return result;
  Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), 1.0));
  return arith::DivFOp::create(b, loc, one, result);
}

/// pow: math.powf for floats (a constant splat exponent that is a small
/// nonzero integer becomes multiplications, 0.5 sqrt(x)); math.ipowi for
/// integers.
struct PowLowering : OpConversionPattern<PowOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PowOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type element = resultType.getElementType();
    if (!isa<FloatType, IntegerType>(element) || element.isInteger(1))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    std::optional<double> exponent = splatFloat(adaptor.getRhs());
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
          if (!isFloat(element))
            return fromSignless(
                b, loc,
                math::IPowIOp::create(b, loc, toSignless(b, loc, x[0]),
                                      toSignless(b, loc, x[1])),
                element);
          // 0 is left to powf: pow(x, 0) is 1 even for NaN x.
          if (exponent && *exponent != 0 && *exponent == std::trunc(*exponent) &&
              std::abs(*exponent) <= 4)
            return integerPower(b, loc, x[0], int64_t(*exponent));
          if (exponent && *exponent == 0.5)
            return math::SqrtOp::create(b, loc, x[0]);
          return math::PowFOp::create(b, loc, x[0], x[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct WhereLowering : OpConversionPattern<WhereOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WhereOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = buildElementwise(
        rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
        adaptor.getOperands(),
        [](OpBuilder &b, Location loc, ValueRange x) -> Value {
          return arith::SelectOp::create(b, loc, x[0], x[1], x[2]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct CastLowering : OpConversionPattern<CastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type to = resultType.getElementType();
    Type from = getElementTypeOrSelf(adaptor.getInput().getType());
    if (!from.isIntOrFloat() || !to.isIntOrFloat())
      return rewriter.notifyMatchFailure(op, "unsupported element types");
    if (from == to) {
      rewriter.replaceOp(op, adaptor.getInput());
      return success();
    }
    Value result =
        buildElementwise(rewriter, op.getLoc(), resultType, adaptor.getInput(),
                         [&](OpBuilder &b, Location loc, ValueRange x) {
                           return convertScalar(b, loc, x[0], to,
                                                op.getSaturate(),
                                                op.getRoundMode());
                         });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ClipLowering : OpConversionPattern<ClipOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ClipOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type t = resultType.getElementType();
    double lo = op.getMin().convertToDouble();
    double hi = op.getMax().convertToDouble();
    if (!isa<FloatType, IntegerType>(t) || t.isInteger(1))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
          if (isFloat(t)) {
            Value v = x[0];
            if (!std::isinf(lo) || lo > 0)
              v = arith::MaximumFOp::create(b, loc, v,
                                            scalarConstant(b, loc, t, lo));
            if (!std::isinf(hi) || hi < 0)
              v = arith::MinimumFOp::create(b, loc, v,
                                            scalarConstant(b, loc, t, hi));
            return v;
          }
          // Integers: clamp the bounds to the type's range first.
          unsigned width = t.getIntOrFloatBitWidth();
          bool isUnsigned = t.isUnsignedInteger();
          Type signless = signlessType(t);
          if (isUnsigned) {
            double maxU = std::ldexp(1.0, width) - 1;
            auto clampU = [&](double bound) -> APInt {
              if (std::isnan(bound) || bound <= 0)
                return APInt(width, 0);
              if (bound >= maxU)
                return APInt::getMaxValue(width);
              return APInt(width, static_cast<uint64_t>(bound));
            };
            Value v = arith::MaxUIOp::create(
                b, loc, toSignless(b, loc, x[0]),
                arith::ConstantOp::create(
                    b, loc, b.getIntegerAttr(signless, clampU(std::ceil(lo)))));
            v = arith::MinUIOp::create(
                b, loc, v,
                arith::ConstantOp::create(
                    b, loc,
                    b.getIntegerAttr(signless, clampU(std::floor(hi)))));
            return fromSignless(b, loc, v, t);
          }
          APInt minInt = APInt::getSignedMinValue(width);
          APInt maxInt = APInt::getSignedMaxValue(width);
          auto clampBound = [&](double bound) -> APInt {
            if (std::isnan(bound) ||
                bound <= static_cast<double>(minInt.getSExtValue()))
              return minInt;
            if (bound >= static_cast<double>(maxInt.getSExtValue()))
              return maxInt;
            return APInt(width, static_cast<int64_t>(bound),
                         /*isSigned=*/true);
          };
          // Integer clip bounds round inwards (ceil of min, floor of max).
          APInt loInt = clampBound(std::ceil(lo));
          APInt hiInt = clampBound(std::floor(hi));
          Value v = arith::MaxSIOp::create(
              b, loc, x[0],
              arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, loInt)));
          return arith::MinSIOp::create(
              b, loc, v,
              arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, hiInt)));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LeakyReluLowering : OpConversionPattern<LeakyReluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LeakyReluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type t = resultType.getElementType();
    double alpha = op.getAlpha().convertToDouble();
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
          Value zero = scalarConstant(b, loc, t, 0.0);
          Value isPos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE,
                                              x[0], zero);
          Value scaled = arith::MulFOp::create(
              b, loc, x[0], scalarConstant(b, loc, t, alpha));
          return arith::SelectOp::create(b, loc, isPos, x[0], scaled);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GeluLowering : OpConversionPattern<GeluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    Type t = resultType.getElementType();
    bool useTanh = op.getApproximate() == "tanh";
    Value result = buildElementwise(
        rewriter, op.getLoc(), resultType, adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value x = args[0];
          auto c = [&](double v) { return scalarConstant(b, loc, t, v); };
          Value inner;
          if (useTanh) {
            // tanh(sqrt(2/pi) * (x + 0.044715 x^3))
            Value x3 = arith::MulFOp::create(
                b, loc, arith::MulFOp::create(b, loc, x, x), x);
            Value poly = arith::AddFOp::create(
                b, loc, x, arith::MulFOp::create(b, loc, c(0.044715), x3));
            inner = math::TanhOp::create(
                b, loc,
                arith::MulFOp::create(b, loc, c(0.7978845608028654), poly));
          } else {
            // erf(x / sqrt(2))
            inner = math::ErfOp::create(
                b, loc,
                arith::MulFOp::create(b, loc, x, c(0.7071067811865476)));
          }
          Value half = arith::MulFOp::create(b, loc, c(0.5), x);
          return arith::MulFOp::create(
              b, loc, half, arith::AddFOp::create(b, loc, c(1.0), inner));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateElementwisePatterns(
    RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<ElementwiseLowering<NegOp>, ElementwiseLowering<AbsOp>,
               ElementwiseLowering<SqrtOp>, ElementwiseLowering<ExpOp>,
               ElementwiseLowering<LogOp>, ElementwiseLowering<ErfOp>,
               ElementwiseLowering<TanhOp>, ElementwiseLowering<SigmoidOp>,
               ElementwiseLowering<ReluOp>, ElementwiseLowering<ReciprocalOp>,
               ElementwiseLowering<NotOp>>(context);
  patterns.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
               ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
               ElementwiseLowering<MaxOp>, ElementwiseLowering<MinOp>,
               ElementwiseLowering<AndOp>, ElementwiseLowering<OrOp>,
               ElementwiseLowering<EqualOp>, ElementwiseLowering<LessOp>,
               ElementwiseLowering<GreaterOp>>(context);
  patterns.add<PowLowering, WhereLowering, CastLowering, ClipLowering,
               LeakyReluLowering, GeluLowering>(context);
}
