//===- UnshareFills.cpp - one linalg.fill per destination -----------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNUNSHAREFILLSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// A fill: linalg.fill, or the all-parallel generic it generalizes to,
/// whose inputs are scalars and whose init is a tensor.empty.
bool isFill(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() ||
      !op.getDpsInitOperand(0)->get().getDefiningOp<tensor::EmptyOp>())
    return false;
  return llvm::none_of(op.getDpsInputOperands(), [](OpOperand *input) {
    return isa<ShapedType>(input->get().getType());
  });
}

/// The uses of `value` as the init of a destination-style op, all but the
/// first (the ones that need a private copy of it).
SmallVector<OpOperand *> laterInitUses(Value value) {
  SmallVector<OpOperand *> inits;
  for (OpOperand &use : value.getUses()) {
    auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
    if (dps && dps.isDpsInit(&use))
      inits.push_back(&use);
  }
  if (!inits.empty())
    inits.erase(inits.begin());
  return inits;
}

struct KilnUnshareFillsPass
    : kiln::impl::KilnUnshareFillsPassBase<KilnUnshareFillsPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> fills;
    getOperation()->walk([&](Operation *op) {
      if (!isa<linalg::FillOp, linalg::GenericOp>(op))
        return;
      auto linalgOp = cast<linalg::LinalgOp>(op);
      if (isFill(linalgOp) && !op->getResult(0).hasOneUse())
        fills.push_back(linalgOp);
    });
    // Destination operands other than the first take a private fill.
    for (linalg::LinalgOp fill : fills) {
      for (OpOperand *use : laterInitUses(fill->getResult(0))) {
        OpBuilder b(use->getOwner());
        IRMapping mapping;
        Value dest = fill.getDpsInitOperand(0)->get();
        mapping.map(dest, b.clone(*dest.getDefiningOp())->getResult(0));
        use->set(b.clone(*fill, mapping)->getResult(0));
      }
    }
    // Likewise a tensor.empty that several ops write: bufferization would
    // give them one buffer, written by each in turn.
    SmallVector<tensor::EmptyOp> empties;
    getOperation()->walk([&](tensor::EmptyOp op) { empties.push_back(op); });
    for (tensor::EmptyOp empty : empties) {
      for (OpOperand *use : laterInitUses(empty.getResult())) {
        OpBuilder b(use->getOwner());
        use->set(b.clone(*empty)->getResult(0));
      }
    }
  }
};

} // namespace
