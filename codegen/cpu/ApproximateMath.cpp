//===- ApproximateMath.cpp - inline polynomial math -----------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNAPPROXIMATEMATHPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnApproximateMathPass
    : kiln::impl::KilnApproximateMathPassBase<KilnApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The standard set (tanh, erf, exp, expm1, log, log1p, log2, atan,
    // sin/cos, ...); f16/bf16 operands are computed in f32.
    populateMathPolynomialApproximationPatterns(patterns);
    // bf16 <-> f32 conversions as integer ops (round to nearest even): LLVM
    // would otherwise call __truncsfbf2, which the artifact cannot link.
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
