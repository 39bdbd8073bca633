//===- FuseElementwise.cpp - fuse elementwise linalg chains ---------------===//
//
// Part of kiln. Fuses elementwise chains, then moves the epilogues of
// reshaped contractions onto the contraction's shape and narrows the
// float-to-integer conversions of clamped values.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/cpu/FusionDecision.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFUSEELEMENTWISEPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

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
    // linalg::collapseOpIterationDims (LLVM 22) crashed on an epilogue
    // reading a [1, 1, 1, F] constant at (0, 0, 0, d3) (a broadcast unit
    // dim inside the folded dims); epilogues with constant indices stay
    // expanded.
    for (AffineMap map : op.getIndexingMapsArray())
      if (llvm::any_of(map.getResults(), [](AffineExpr e) {
            return isa<AffineConstantExpr>(e);
          }))
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

/// The constant bounds of a clamp, min(max(x, lo), hi) in either nesting
/// and operand order, or nullopt.
std::optional<std::pair<double, double>> clampBounds(Value v) {
  auto constantOf = [](Value c) -> std::optional<double> {
    FloatAttr attr;
    if (matchPattern(c, m_Constant(&attr)))
      return attr.getValueAsDouble();
    return std::nullopt;
  };
  auto split = [&](Operation *op) -> std::optional<std::pair<Value, double>> {
    if (!op || op->getNumOperands() != 2)
      return std::nullopt;
    if (std::optional<double> c = constantOf(op->getOperand(1)))
      return std::make_pair(op->getOperand(0), *c);
    if (std::optional<double> c = constantOf(op->getOperand(0)))
      return std::make_pair(op->getOperand(1), *c);
    return std::nullopt;
  };
  Operation *outer = v.getDefiningOp();
  if (!isa_and_nonnull<arith::MinimumFOp, arith::MaximumFOp>(outer))
    return std::nullopt;
  auto o = split(outer);
  Operation *inner = o ? o->first.getDefiningOp() : nullptr;
  if (!o || !isa_and_nonnull<arith::MinimumFOp, arith::MaximumFOp>(inner) ||
      isa<arith::MinimumFOp>(inner) == isa<arith::MinimumFOp>(outer))
    return std::nullopt;
  auto i = split(inner);
  if (!i)
    return std::nullopt;
  double lo = isa<arith::MaximumFOp>(outer) ? o->second : i->second;
  double hi = isa<arith::MaximumFOp>(outer) ? i->second : o->second;
  return std::make_pair(lo, hi);
}

/// trunci(fptosi(x) : i64) : iN (N <= 32) with x clamped to constants
/// within i32's range (a QuantizeLinear's clamp to [0, 255]) converts
/// through i32 instead: the same value, and one vcvttps2dq per 16 lanes
/// instead of f32 -> i64 conversions and narrowing moves. (Casts convert
/// through i64 so that out-of-range values wrap; a clamped value is never
/// out of range.)
struct NarrowClampedConversion : OpRewritePattern<arith::TruncIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::TruncIOp op,
                                PatternRewriter &rewriter) const override {
    auto wide = op.getIn().getDefiningOp<arith::FPToSIOp>();
    if (!wide || !wide.getType().isInteger(64) ||
        op.getType().getIntOrFloatBitWidth() > 32)
      return failure();
    std::optional<std::pair<double, double>> bounds =
        clampBounds(wide.getIn());
    if (!bounds || !(bounds->first > -2147483648.0) ||
        !(bounds->second < 2147483647.0) || bounds->first > bounds->second)
      return failure();
    Value narrow = arith::FPToSIOp::create(rewriter, op.getLoc(),
                                           rewriter.getI32Type(), wide.getIn());
    if (op.getType().isInteger(32))
      rewriter.replaceOp(op, narrow);
    else
      rewriter.replaceOpWithNewOp<arith::TruncIOp>(op, op.getType(), narrow);
    return success();
  }
};

/// Marks a producer the cost model decided on: recompute it in its users
/// (set on each clone made for one user) or keep it a loop of its own.
constexpr llvm::StringLiteral kRecomputeAttr = "kiln.fusion_recompute";
constexpr llvm::StringLiteral kKeptAttr = "kiln.fusion_kept";

struct KilnFuseElementwisePass
    : kiln::impl::KilnFuseElementwisePassBase<KilnFuseElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::shared_ptr<const CostModel> loaded;
    if (!costModel.empty()) {
      std::string error;
      loaded = createCostModel(costModel, vectorBits, error);
      if (!loaded && !error.empty()) {
        module.emitError("kiln-fuse-elementwise: ") << error;
        return signalPassFailure();
      }
    }
    model = loaded.get(); // null: the single-use rule
    target.vectorBits = vectorBits;
    target.l2Bytes = l2Bytes;
    if (failed(fuse()))
      return signalPassFailure();
    // With a model, the fusions that recompute work were held back above;
    // each is decided now, on the fused chains, and fused when it pays.
    // Recomputing a producer can make its own producer's users change, so
    // this repeats a few rounds.
    SmallVector<Attribute> notes;
    for (int round = 0; model && round < 4; ++round) {
      if (!decideRecomputes(notes))
        break;
      if (failed(fuse()))
        return signalPassFailure();
    }
    module.walk([](linalg::GenericOp op) {
      op->removeAttr(kRecomputeAttr);
      op->removeAttr(kKeptAttr);
    });
    if (!notes.empty())
      module->setAttr("kiln.fusion", ArrayAttr::get(&getContext(), notes));
    // Once the chains are fused, each epilogue of a reshaped contraction
    // moves to the contraction's shape (collapse_shape(expand_shape(y))
    // folds to y).
    RewritePatternSet collapse(&getContext());
    collapse.add<CollapseEpilogueOfExpandedContraction,
                 NarrowClampedConversion>(&getContext());
    tensor::ExpandShapeOp::getCanonicalizationPatterns(collapse, &getContext());
    tensor::CollapseShapeOp::getCanonicalizationPatterns(collapse,
                                                         &getContext());
    if (failed(applyPatternsGreedily(module, std::move(collapse))))
      signalPassFailure();
  }

private:
  LoopTarget target;
  const CostModel *model = nullptr; // set for the run of runOnOperation

  /// Upstream elementwise fusion into all-parallel consumers, of producers
  /// with a single use or marked for recomputation. With a model, a single
  /// use that broadcasts the producer waits for decideRecomputes.
  LogicalResult fuse() {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [&](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
          if (!producer || !consumer ||
              consumer.getNumLoops() != consumer.getNumParallelLoops())
            return false;
          if (producer->hasAttr(kRecomputeAttr))
            return producer->hasOneUse();
          if (!producer->hasOneUse() || producer->hasAttr(kKeptAttr))
            return false;
          return !model || !recomputes(producer, consumer);
        });
    return applyPatternsGreedily(getOperation(), std::move(patterns));
  }

  /// Whether fusing `producer` into `consumer` evaluates it at more
  /// points than its own (a broadcast); unmeasurable loops are not held
  /// back.
  static bool recomputes(Operation *producer, linalg::LinalgOp consumer) {
    auto p = dyn_cast<linalg::GenericOp>(producer);
    auto c = dyn_cast<linalg::GenericOp>(consumer.getOperation());
    std::optional<double> own = p ? loopPoints(p) : std::nullopt;
    std::optional<double> user = c ? loopPoints(c) : std::nullopt;
    return own && user && *user > *own;
  }

  /// Decides each producer whose fusion would recompute it: recompute
  /// (a clone per fusable use, marked for fuse()) or keep (marked).
  /// Returns whether it cloned anything.
  bool decideRecomputes(SmallVectorImpl<Attribute> &notes) {
    SmallVector<linalg::GenericOp> producers;
    getOperation().walk([&](linalg::GenericOp op) {
      if (!op->hasAttr(kKeptAttr) && !op->hasAttr(kRecomputeAttr))
        producers.push_back(op);
    });
    // Ops cloned or given clones this round: a producer next to one waits
    // for the next round, when the clones are fused (else a chain of
    // producers with several users would multiply clones in one round).
    llvm::SmallPtrSet<Operation *, 16> touched;
    bool cloned = false;
    for (linalg::GenericOp producer : producers) {
      if (touched.contains(producer) ||
          llvm::any_of(producer->getUsers(),
                       [&](Operation *user) { return touched.contains(user); }))
        continue;
      std::optional<FusionVerdict> verdict =
          judgeRecompute(producer, *model, target);
      if (!verdict)
        continue;
      notes.push_back(
          StringAttr::get(&getContext(), fusionSubjectName(producer) + ": " +
                                             verdict->summary));
      if (!verdict->fuse) {
        producer->setAttr(kKeptAttr, UnitAttr::get(&getContext()));
        continue;
      }
      // A clone per fusable use; the producer stays only if other uses
      // remain (else it is dead and folds away).
      OpBuilder builder(producer);
      builder.setInsertionPointAfter(producer);
      for (OpOperand &use :
           llvm::make_early_inc_range(producer->getResult(0).getUses())) {
        if (!isRecomputableUse(use))
          continue;
        Operation *copy = builder.clone(*producer);
        copy->setAttr(kRecomputeAttr, UnitAttr::get(&getContext()));
        touched.insert(use.getOwner());
        use.set(copy->getResult(0));
        touched.insert(copy);
        cloned = true;
      }
      touched.insert(producer);
      if (producer->use_empty())
        producer->erase();
      else
        producer->setAttr(kKeptAttr, UnitAttr::get(&getContext()));
    }
    return cloned;
  }
};
} // namespace
