//===- PaddedInput.cpp - read a zero-padded copy's source instead ---------===//
//
// Part of kiln. A convolution with padding reads a buffer that
// FillPadBorders left as
//
//   %padded = memref.alloc
//   linalg.fill 0 -> subview %padded[border box]      (one per box)
//   memref.copy %source, subview %padded[interior]
//   ... conv reads %padded
//
// A kernel that checks its window against the source's bounds can read
// %source directly: the copy (a full pass over the activation) and the
// border fills (strided, serial) go away.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

bool isZeroFill(Operation *op, Value target) {
  auto fill = dyn_cast<linalg::FillOp>(op);
  if (!fill || !fill.hasPureBufferSemantics() ||
      fill.getOutputs()[0] != target)
    return false;
  auto constant = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
  auto value = constant ? dyn_cast<FloatAttr>(constant.getValue()) : nullptr;
  return value && value.getValue().isZero();
}

/// `op` may run between the copy and the reader without changing what the
/// reader would see in `source` (whose allocation is `sourceBase`).
bool leavesSourceAlone(Operation *op, Value sourceBase) {
  if (isMemoryEffectFree(op) || isa<memref::AllocOp>(op))
    return true;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    if (!linalgOp.hasPureBufferSemantics())
      return false;
    return llvm::none_of(linalgOp.getDpsInits(), [&](Value init) {
      return baseBuffer(init) == sourceBase;
    });
  }
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    return baseBuffer(copy.getTarget()) != sourceBase;
  return false;
}

} // namespace

std::optional<ZeroPaddedCopy>
mlir::kiln::matchZeroPaddedCopy(Value padded, Operation *reader) {
  auto alloc = padded.getDefiningOp<memref::AllocOp>();
  if (!alloc || !alloc.getType().hasStaticShape() ||
      !alloc.getType().getLayout().isIdentity())
    return std::nullopt;
  ZeroPaddedCopy p;
  p.alloc = alloc;
  memref::CopyOp copy;
  SmallVector<Operation *> fills;
  for (Operation *user : padded.getUsers()) {
    if (user == reader)
      continue;
    auto view = dyn_cast<memref::SubViewOp>(user);
    if (!view || view->getBlock() != reader->getBlock() ||
        !view->isBeforeInBlock(reader) || !view.hasUnitStride() ||
        !view->hasOneUse())
      return std::nullopt;
    Operation *writer = *view->getUsers().begin();
    if (writer->getBlock() != reader->getBlock() ||
        !writer->isBeforeInBlock(reader))
      return std::nullopt;
    if (auto c = dyn_cast<memref::CopyOp>(writer);
        c && c.getTarget() == view.getResult() && !copy) {
      copy = c;
      if (llvm::any_of(view.getStaticOffsets(), ShapedType::isDynamic))
        return std::nullopt;
      p.offsets.assign(view.getStaticOffsets().begin(),
                       view.getStaticOffsets().end());
    } else if (isZeroFill(writer, view.getResult())) {
      fills.push_back(writer);
    } else {
      return std::nullopt;
    }
    p.ops.push_back(writer);
    p.ops.push_back(view);
  }
  // Fills after the copy could zero part of the interior.
  if (!copy || baseBuffer(copy.getSource()) == padded ||
      llvm::any_of(fills,
                   [&](Operation *fill) { return copy->isBeforeInBlock(fill); }))
    return std::nullopt;
  p.source = copy.getSource();
  auto sourceType = cast<MemRefType>(p.source.getType());
  if (!sourceType.getLayout().isIdentity() ||
      sourceType.getShape() != copy.getTarget().getType().getShape())
    return std::nullopt;
  // The reader will see `source` as it is then, not as it was copied.
  Value sourceBase = baseBuffer(p.source);
  for (Operation *op = copy->getNextNode(); op != reader;
       op = op->getNextNode())
    if (!leavesSourceAlone(op, sourceBase))
      return std::nullopt;
  return p;
}

void mlir::kiln::eraseZeroPaddedCopy(ZeroPaddedCopy &p) {
  // Writers come before their views in `ops`.
  for (Operation *op : p.ops)
    op->erase();
  p.ops.clear();
  if (p.alloc && p.alloc->use_empty())
    p.alloc->erase();
  p.alloc = nullptr;
}
