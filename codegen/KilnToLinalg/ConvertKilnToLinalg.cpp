//===- ConvertKilnToLinalg.cpp - kiln -> linalg on tensors ----------------===//
//
// Part of kiln. The `convert-kiln-to-linalg` pass: every kiln op becomes
// linalg (mostly linalg.generic), tensor, arith and math ops on tensors
// with static shapes. The patterns live in one file per op family
// (Elementwise, MatMulConv, Pooling, Normalization, Reductions,
// DataMovement); this file holds the pass and the constant pattern. The
// kiln dialect is illegal, so an op without a pattern fails the pass with
// "failed to legalize operation 'kiln.<op>'".
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "codegen/Passes.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALGPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// kiln.constant -> arith.constant with the same elements attribute
/// (dense_resource blobs stay blobs).
struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "value is not a typed attribute");
    // Elementwise fusion folds splat constants into linalg bodies as scalar
    // arith.constants, which must be signless: an unsigned splat becomes a
    // signless splat reinterpreted elementwise.
    auto type = cast<RankedTensorType>(op.getType());
    auto dense = dyn_cast<DenseElementsAttr>(value);
    if (dense && dense.isSplat() && type.getElementType().isUnsignedInteger()) {
      Type element = type.getElementType();
      auto signless = RankedTensorType::get(
          type.getShape(), lowering::signlessType(element));
      Value bits = arith::ConstantOp::create(
          rewriter, op.getLoc(),
          DenseElementsAttr::get(signless, dense.getSplatValue<APInt>()));
      rewriter.replaceOp(
          op, lowering::buildElementwise(
                  rewriter, op.getLoc(), type, bits,
                  [&](OpBuilder &b, Location loc, ValueRange x) {
                    return lowering::fromSignless(b, loc, x[0], element);
                  }));
      return success();
    }
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

struct ConvertKilnToLinalgPass
    : kiln::impl::ConvertKilnToLinalgPassBase<ConvertKilnToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    ConversionTarget target(*context);
    target.addIllegalDialect<KilnDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    // Everything else (func, module, ...) is left alone.
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });

    RewritePatternSet patterns(context);
    patterns.add<ConstantLowering>(context);
    lowering::populateElementwisePatterns(patterns);
    lowering::populateMatMulConvPatterns(patterns, columnPhases);
    lowering::populateAttentionPatterns(patterns);
    lowering::populateKVThinkPatterns(patterns);
    lowering::populateQuantizedMatMulPatterns(patterns);
    lowering::populateInt8MatMulPatterns(patterns);
    lowering::populateInt8ConvPatterns(patterns);
    lowering::populatePoolingPatterns(patterns);
    lowering::populateNormalizationPatterns(patterns);
    lowering::populateReductionPatterns(patterns);
    lowering::populateDataMovementPatterns(patterns);
    lowering::populateWindowPatterns(patterns);
    lowering::populateScatterPatterns(patterns);
    lowering::populateSamplingPatterns(patterns);
    lowering::populateMathPatterns(patterns);
    lowering::populateIndexReductionPatterns(patterns);

    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
