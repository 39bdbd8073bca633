//===- FillPadBorders.cpp - fill only what a padded copy leaves ------------===//
//
// Part of kiln. On buffers, tensor.pad has become
//
//   linalg.map outs(%buf) { yield %pad }        (or linalg.fill %pad)
//   %interior = memref.subview %buf[offsets][sizes][1, ...]
//   memref.copy %source, %interior
//
// and the fill writes the interior only for the copy to overwrite it. The
// fill is replaced by fills of the boxes around the interior: for each dim
// in turn, the slab before the interior's offset and the slab after its end
// (earlier dims restricted to the interior, later dims whole).
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFILLPADBORDERSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// The constant `op` writes to every element of its one output, or null.
Value filledValue(Operation *op, Value &buffer) {
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    if (!fill.hasPureBufferSemantics())
      return {};
    buffer = fill.getOutputs()[0];
    return fill.getInputs()[0];
  }
  auto map = dyn_cast<linalg::MapOp>(op);
  if (!map || !map.hasPureBufferSemantics() || !map.getInputs().empty())
    return {};
  Block &body = map.getMapper().front();
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1 ||
      yield.getOperand(0).getParentBlock() == &body)
    return {};
  buffer = map.getInit();
  return yield.getOperand(0);
}

/// The subview of `buffer` that `copy` writes, when the fill before it in
/// the same block is followed only by that subview and that copy.
memref::SubViewOp overwrittenInterior(Operation *fill, Value buffer) {
  memref::SubViewOp interior;
  for (Operation *op = fill->getNextNode(); op; op = op->getNextNode()) {
    auto touches = [&](Operation *o) {
      for (Value v : o->getOperands())
        if (v == buffer || (interior && v == interior.getResult()))
          return true;
      return false;
    };
    if (auto view = dyn_cast<memref::SubViewOp>(op);
        view && view.getSource() == buffer && !interior) {
      interior = view;
      continue;
    }
    if (auto copy = dyn_cast<memref::CopyOp>(op);
        copy && interior && copy.getTarget() == interior.getResult() &&
        copy.getSource() != buffer)
      return interior;
    if (touches(op) || op->getNumRegions() != 0)
      return {};
  }
  return {};
}

struct KilnFillPadBordersPass
    : kiln::impl::KilnFillPadBordersPassBase<KilnFillPadBordersPass> {
  void runOnOperation() override {
    SmallVector<Operation *> fills;
    getOperation()->walk([&](Operation *op) {
      if (isa<linalg::FillOp, linalg::MapOp>(op))
        fills.push_back(op);
    });
    for (Operation *fill : fills) {
      Value buffer;
      Value pad = filledValue(fill, buffer);
      if (!pad)
        continue;
      auto type = dyn_cast<MemRefType>(buffer.getType());
      if (!type || !type.hasStaticShape())
        continue;
      memref::SubViewOp interior = overwrittenInterior(fill, buffer);
      if (!interior || !interior.hasUnitStride() ||
          llvm::any_of(interior.getStaticOffsets(), ShapedType::isDynamic) ||
          llvm::any_of(interior.getStaticSizes(), ShapedType::isDynamic) ||
          interior.getStaticSizes().size() != size_t(type.getRank()))
        continue;
      replaceByBorders(fill, buffer, pad, type.getShape(),
                       interior.getStaticOffsets(),
                       interior.getStaticSizes());
    }
  }

  void replaceByBorders(Operation *fill, Value buffer, Value pad,
                        ArrayRef<int64_t> shape, ArrayRef<int64_t> offsets,
                        ArrayRef<int64_t> sizes) {
    OpBuilder b(fill);
    Location loc = fill->getLoc();
    int64_t rank = shape.size();
    SmallVector<int64_t> boxOffsets(rank, 0), boxSizes(shape);
    SmallVector<int64_t> strides(rank, 1);
    auto fillBox = [&](int64_t d, int64_t begin, int64_t end) {
      if (end <= begin)
        return;
      SmallVector<int64_t> o(boxOffsets), s(boxSizes);
      o[d] = begin;
      s[d] = end - begin;
      Value view = memref::SubViewOp::create(b, loc, buffer, o, s, strides);
      linalg::FillOp::create(b, loc, pad, view);
    };
    for (int64_t d = 0; d < rank; ++d) {
      fillBox(d, 0, offsets[d]);
      fillBox(d, offsets[d] + sizes[d], shape[d]);
      boxOffsets[d] = offsets[d];
      boxSizes[d] = sizes[d];
    }
    fill->erase();
  }
};

} // namespace
