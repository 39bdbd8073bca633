//===- SimplifyRequantize.cpp - cheaper exact requantization arithmetic ---===//
//
// Part of kiln. A QDQ graph's QuantizeLinear, fused into the epilogue of the
// kernel before it, computes per output
//
//   q = fptosi(min(max(roundeven(y / s) + zp, lo), hi))
//
// with arith.maximumf / minimumf (NaN-propagating: three x86 ops each) and
// a float add. The same integers come from
//
//   fptosi(roundeven(clamp(t, lo - zp, hi - zp))) + zp
//
// when zp, lo, hi are integer constants: the bounds are integers, so
// clamping before or after rounding agrees, and the integer add is exact.
// The clamp is compare-and-select (x86 max/min, one op each). A NaN t gives
// lo where fptosi(NaN) was poison. (Dividing by the constant scale through
// its reciprocal and two FMA corrections, exact too, measured slower than
// vdivps in these epilogues on Zen 5: MobileNetV2 QDQ 1.69 -> 2.11 ms.)
//
// Works on scalars and vectors alike, after the kernels are formed. On
// AVX-512, a rounding conversion of 16 lanes then becomes one vcvtps2dq.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <optional>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNSIMPLIFYREQUANTIZEPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// An f32 scalar or splat constant with an integer value that f32 holds
/// exactly.
std::optional<float> integerConstant(Value v) {
  APFloat value(0.0f);
  if (!getElementTypeOrSelf(v.getType()).isF32() ||
      !matchPattern(v, m_ConstantFloat(&value)))
    return std::nullopt;
  float c = value.convertToFloat();
  if (c != std::nearbyint(c) || std::fabs(c) > 0x1p24f)
    return std::nullopt;
  return c;
}

/// fptosi(clamp(roundeven(t) + zp, lo, hi)) -> fptosi(roundeven(clamp(t,
/// lo - zp, hi - zp))) + zp, the clamp in either order.
struct ClampBeforeRound : OpRewritePattern<arith::FPToSIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::FPToSIOp convert,
                                PatternRewriter &rewriter) const override {
    Value v = convert.getIn();
    std::optional<float> lo, hi;
    // Peel max (lower bound) and min (upper bound), either outermost.
    for (int bound = 0; bound < 2; ++bound) {
      Operation *op = v.getDefiningOp();
      if (!op || !op->hasOneUse())
        return failure();
      if (auto mx = dyn_cast<arith::MaximumFOp>(op); mx && !lo) {
        lo = integerConstant(mx.getRhs());
        v = mx.getLhs();
        if (!lo)
          return failure();
      } else if (auto mn = dyn_cast<arith::MinimumFOp>(op); mn && !hi) {
        hi = integerConstant(mn.getRhs());
        v = mn.getLhs();
        if (!hi)
          return failure();
      } else {
        return failure();
      }
    }
    auto add = v.getDefiningOp<arith::AddFOp>();
    if (!add || !add->hasOneUse() || *lo > *hi)
      return failure();
    std::optional<float> zp = integerConstant(add.getRhs());
    auto round = add.getLhs().getDefiningOp<math::RoundEvenOp>();
    if (!zp || !round || !round->hasOneUse())
      return failure();
    auto intType = convert.getType();
    if (getElementTypeOrSelf(intType).getIntOrFloatBitWidth() < 32)
      return failure(); // zp + the clamped value must fit
    Location loc = convert.getLoc();
    rewriter.setInsertionPoint(convert);
    Value t = round.getOperand();
    Value low = createScalarOrSplatConstant(rewriter, loc, t.getType(),
                                            APFloat(*lo - *zp)),
          high = createScalarOrSplatConstant(rewriter, loc, t.getType(),
                                             APFloat(*hi - *zp));
    // select(t > low, t, low): x86 max's NaN rule (the second operand).
    Value above = arith::SelectOp::create(
        rewriter, loc,
        arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::OGT, t,
                              low),
        t, low);
    Value clamped = arith::SelectOp::create(
        rewriter, loc,
        arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::OLT, above,
                              high),
        above, high);
    Value rounded = math::RoundEvenOp::create(rewriter, loc, clamped);
    Value integer = arith::FPToSIOp::create(rewriter, loc, intType, rounded);
    Value offset =
        createScalarOrSplatConstant(rewriter, loc, intType, int64_t(*zp));
    rewriter.replaceOpWithNewOp<arith::AddIOp>(convert, integer, offset);
    return success();
  }
};

/// fptosi(roundeven(x)) on 16 f32 lanes -> one vcvtps2dq with embedded
/// round-to-nearest-even (not MXCSR's mode), instead of vrndscaleps and a
/// truncating vcvttps2dq. Out of range (and NaN) fptosi is poison, so the
/// instruction's 0x80000000 there is a valid result.
struct RoundConvertX86 : OpRewritePattern<arith::FPToSIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::FPToSIOp convert,
                                PatternRewriter &rewriter) const override {
    auto round = convert.getIn().getDefiningOp<math::RoundEvenOp>();
    auto from = dyn_cast<VectorType>(convert.getIn().getType());
    auto to = dyn_cast<VectorType>(convert.getType());
    if (!round || !from || !to || from.getShape() != ArrayRef<int64_t>{16} ||
        !from.getElementType().isF32() || !to.getElementType().isInteger(32))
      return failure();
    Location loc = convert.getLoc();
    // {rn-sae}: _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC.
    constexpr int32_t kNearestNoExceptions = 8;
    Value passthrough = createScalarOrSplatConstant(rewriter, loc, to, 0);
    Value allLanes = arith::ConstantOp::create(
        rewriter, loc, rewriter.getI16IntegerAttr(-1));
    Value rounding = arith::ConstantOp::create(
        rewriter, loc, rewriter.getI32IntegerAttr(kNearestNoExceptions));
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(
        convert, to, rewriter.getStringAttr("llvm.x86.avx512.mask.cvtps2dq.512"),
        ValueRange{round.getOperand(), passthrough, allLanes, rounding});
    return success();
  }
};

struct KilnSimplifyRequantizePass
    : kiln::impl::KilnSimplifyRequantizePassBase<KilnSimplifyRequantizePass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ClampBeforeRound>(&getContext());
    if (x86Avx512)
      patterns.add<RoundConvertX86>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
