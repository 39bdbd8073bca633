//===- FuseElementwise.cpp - fuse elementwise linalg chains ---------------===//
//
// Part of kiln. Fuses elementwise chains, then moves the epilogues of
// reshaped contractions onto the contraction's shape.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFUSEELEMENTWISEPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// An all-parallel generic reading a contraction's result through a
/// tensor.expand_shape (a [B.., M, K] x [K, N] matmul computes on rows
/// B.. * M, then restores the batch dims) computes on the contraction's
/// shape instead, its result expanded after it: the contraction's kernel
/// can then absorb it as its epilogue (TileFusion.cpp wants the same
/// iteration space as the contraction's output).
struct CollapseEpilogueOfExpandedContraction
    : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() ||
        op.getNumLoops() != op.getNumParallelLoops())
      return failure();
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto expand = input->get().getDefiningOp<tensor::ExpandShapeOp>();
      auto producer = expand ? expand.getSrc().getDefiningOp<linalg::LinalgOp>()
                             : linalg::LinalgOp();
      if (!producer || producer.getNumReductionLoops() == 0 ||
          !op.getMatchingIndexingMap(input).isIdentity())
        continue;
      SmallVector<ReassociationIndices> folded;
      for (const ReassociationIndices &group :
           expand.getReassociationIndices())
        if (group.size() > 1)
          folded.push_back(group);
      if (folded.empty() ||
          !linalg::areDimSequencesPreserved(op.getIndexingMapsArray(), folded))
        continue;
      FailureOr<linalg::CollapseResult> collapsed =
          linalg::collapseOpIterationDims(op, folded, rewriter);
      if (failed(collapsed))
        continue;
      rewriter.replaceOp(op, collapsed->results);
      return success();
    }
    return failure();
  }
};

struct KilnFuseElementwisePass
    : kiln::impl::KilnFuseElementwisePassBase<KilnFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
          return producer && producer->hasOneUse() && consumer &&
                 consumer.getNumLoops() == consumer.getNumParallelLoops();
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Once the chains are fused, each epilogue of a reshaped contraction
    // moves to the contraction's shape (collapse_shape(expand_shape(y))
    // folds to y).
    RewritePatternSet collapse(&getContext());
    collapse.add<CollapseEpilogueOfExpandedContraction>(&getContext());
    tensor::ExpandShapeOp::getCanonicalizationPatterns(collapse, &getContext());
    tensor::CollapseShapeOp::getCanonicalizationPatterns(collapse,
                                                         &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(collapse))))
      signalPassFailure();
  }
};
} // namespace
