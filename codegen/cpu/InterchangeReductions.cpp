//===- InterchangeReductions.cpp - vectorizable loop order ----------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNINTERCHANGEREDUCTIONSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
/// The loop to move innermost, or nullopt when the op should stay as is.
std::optional<unsigned> contiguousOutputLoop(linalg::GenericOp op) {
  unsigned loops = op.getNumLoops();
  if (op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 ||
      !linalg::isReductionIterator(op.getIteratorTypesArray()[loops - 1]))
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (out.getNumResults() == 0)
    return std::nullopt;
  auto last = dyn_cast<AffineDimExpr>(out.getResults().back());
  if (!last)
    return std::nullopt;
  unsigned dim = last.getPosition();
  // Every operand may use the dim only in its last (contiguous) position.
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (unsigned r = 0, e = map.getNumResults(); r < e; ++r)
      if (map.getResult(r).isFunctionOfDim(dim) && r + 1 != e)
        return std::nullopt;
  }
  return dim;
}

struct KilnInterchangeReductionsPass
    : kiln::impl::KilnInterchangeReductionsPassBase<
          KilnInterchangeReductionsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      std::optional<unsigned> dim = contiguousOutputLoop(op);
      if (!dim)
        continue;
      SmallVector<unsigned> order;
      for (unsigned i = 0, e = op.getNumLoops(); i < e; ++i)
        if (i != *dim)
          order.push_back(i);
      order.push_back(*dim);
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order)))
        return signalPassFailure();
    }
  }
};
} // namespace
