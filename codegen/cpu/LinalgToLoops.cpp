//===- LinalgToLoops.cpp - linalg on buffers -> scf loops -----------------===//
//
// Part of kiln.
//
// Like upstream convert-linalg-to-loops, but a linalg op whose parallel
// iterations provably write disjoint output elements gets an scf.parallel
// over its parallel dims (kiln-outline-parallel later runs the outermost
// ones on the runtime's thread pool). Reduction dims always stay scf.for,
// so every output element is computed by one iteration in the serial order:
// results do not depend on how the parallel dims are split among threads.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLINALGTOLOOPSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
/// True when the parallel iterations of `op` may run in any order, or at
/// the same time: every output is indexed by a permutation of dims that
/// includes every parallel dim (two parallel iterations never write the
/// same element), no input is the output buffer read at another index, and
/// the body writes no memory of its own.
bool hasIndependentParallelDims(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumParallelLoops() == 0)
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return false;
    llvm::SmallBitVector indexed(iterators.size());
    for (AffineExpr e : map.getResults())
      indexed.set(cast<AffineDimExpr>(e).getPosition());
    for (auto [dim, iterator] : llvm::enumerate(iterators))
      if (linalg::isParallelIterator(iterator) && !indexed[dim])
        return false;
    // In place (an input that is this output's buffer) is fine only when
    // each iteration reads exactly the element it writes. Bufferization
    // only reuses an input's buffer for elementwise accesses, and the
    // memory plan never overlaps an op's input and output otherwise.
    for (OpOperand *input : op.getDpsInputOperands())
      if (input->get() == init.get() &&
          op.getMatchingIndexingMap(input) != map)
        return false;
  }
  bool writes = false;
  op->walk([&](Operation *nested) {
    if (nested == op.getOperation() || isMemoryEffectFree(nested))
      return WalkResult::advance();
    auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!effects || effects.hasEffect<MemoryEffects::Write>() ||
        effects.hasEffect<MemoryEffects::Allocate>() ||
        effects.hasEffect<MemoryEffects::Free>()) {
      writes = true;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !writes;
}

struct LowerLinalgOp : OpInterfaceRewritePattern<linalg::LinalgOp> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;
  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureBufferSemantics())
      return rewriter.notifyMatchFailure(op, "not on buffers");
    FailureOr<linalg::LinalgLoops> loops =
        hasIndependentParallelDims(op)
            ? linalg::linalgOpToParallelLoops(rewriter, op)
            : linalg::linalgOpToLoops(rewriter, op);
    if (failed(loops))
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

struct KilnLinalgToLoopsPass
    : kiln::impl::KilnLinalgToLoopsPassBase<KilnLinalgToLoopsPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<LowerLinalgOp>(ctx);
    memref::DimOp::getCanonicalizationPatterns(patterns, ctx);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    // Drops unit dims of the new scf.parallel ops (a batch of 1), so that
    // the outermost parallel loop is one worth splitting.
    scf::ParallelOp::getCanonicalizationPatterns(patterns, ctx);
    // Like upstream: not converging within the iteration limit only means
    // some canonicalization was left undone.
    (void)applyPatternsGreedily(getOperation(), std::move(patterns));
  }
};
} // namespace
