//===- VectorizeReduction.cpp - innermost reductions as vector loops ------===//
//
// Part of kiln. Softmax and normalizations reduce along the last dim
// (max, sum, sum of squares). A generic whose only reduction dim is the
// last loop, whose output ignores it, and whose body is
// `combine(out, f(inputs))` with combine one of add / max / min becomes
//
//   parallel over the output's elements (the other dims)
//     acc = splat(identity); per block of `lanes`: acc = combine(acc, f(..))
//     out = combine(out, vector.reduction(acc))     (+ a scalar tail)
//
// Sums are thus reassociated (lane-wise partial sums), deterministically
// and independently of the thread count. A reduction of whole buffers to a
// scalar is first flattened to one such dim.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::kiln;

namespace {

enum class Combine { Add, Max, Min };

/// The combining op of `yield(combine(out, x))`, where `out` has no other
/// use, and x.
std::optional<std::pair<Combine, Value>> combineOf(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  BlockArgument out = body.getArgument(op.getNumDpsInputs());
  if (!out.hasOneUse())
    return std::nullopt;
  Operation *root = cast<linalg::YieldOp>(body.getTerminator())
                        .getOperand(0)
                        .getDefiningOp();
  if (!root || root->getNumOperands() != 2 ||
      (root->getOperand(0) != out && root->getOperand(1) != out))
    return std::nullopt;
  Value x = root->getOperand(0) == out ? root->getOperand(1)
                                       : root->getOperand(0);
  if (isa<arith::AddFOp>(root))
    return std::make_pair(Combine::Add, x);
  if (isa<arith::MaximumFOp>(root))
    return std::make_pair(Combine::Max, x);
  if (isa<arith::MinimumFOp>(root))
    return std::make_pair(Combine::Min, x);
  return std::nullopt;
}

Value combine(OpBuilder &b, Location loc, Combine kind, Value x, Value y) {
  switch (kind) {
  case Combine::Add:
    return arith::AddFOp::create(b, loc, x, y);
  case Combine::Max:
    return arith::MaximumFOp::create(b, loc, x, y);
  case Combine::Min:
    return arith::MinimumFOp::create(b, loc, x, y);
  }
  return {};
}

} // namespace

/// A reduction of whole buffers to a scalar (every loop a reduction, as
/// DynamicQuantizeLinear's min and max): the same generic over one flat
/// dim of its identity-layout operands, or null.
static linalg::GenericOp flattenFullReduction(linalg::GenericOp op) {
  unsigned loops = op.getNumLoops();
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || loops < 2 ||
      op.getNumReductionLoops() != loops ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)).getNumResults() != 0)
    return {};
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto t = dyn_cast<MemRefType>(input->get().getType());
    if (!t || !t.hasStaticShape() || !t.getLayout().isIdentity() ||
        !op.getMatchingIndexingMap(input).isIdentity())
      return {};
  }
  ReassociationIndices all(llvm::to_vector(llvm::seq<int64_t>(0, loops)));
  IRRewriter rewriter(op);
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(op, {all}, rewriter);
  if (failed(collapsed))
    return {};
  rewriter.eraseOp(op);
  return dyn_cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation());
}

bool mlir::kiln::vectorizeReduction(linalg::GenericOp op,
                                    const CpuTarget &target) {
  if (linalg::GenericOp flat = flattenFullReduction(op))
    op = flat;
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1)
    return false;
  unsigned loops = op.getNumLoops();
  auto iterators = op.getIteratorTypesArray();
  if (!linalg::isReductionIterator(iterators[loops - 1]))
    return false;
  Value out = op.getDpsInitOperand(0)->get();
  auto outType = dyn_cast<MemRefType>(out.getType());
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!outType || !outType.hasStaticShape() ||
      !outType.getElementType().isF32() || !outMap.isProjectedPermutation() ||
      outMap.getNumResults() != loops - 1)
    return false;
  for (unsigned r = 0; r + 1 < loops; ++r)
    if (outMap.getDimPosition(r) != r)
      return false;
  auto combined = combineOf(op);
  if (!combined)
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t width = ranges.back();
  int64_t lanes = target.vectorBits / 32;
  if (width < lanes)
    return false;

  // The body without its combine, as an elementwise function of the
  // inputs: vectorized by cloning everything but the root.
  TileFusion f;
  f.rank = loops;
  f.yShape.assign(ranges.begin(), ranges.end());
  f.vectorDims = {loops - 1};
  SmallVector<TileFusion::Operand> operands;
  Value outBase = baseBuffer(out);
  for (OpOperand *input : op.getDpsInputOperands()) {
    if (isa<MemRefType>(input->get().getType()) &&
        baseBuffer(input->get()) == outBase)
      return false;
    auto kind = classifyTileOperand(input->get(),
                                    op.getMatchingIndexingMap(input), Value(),
                                    f);
    // A strided operand (a column sum) would be read lane by lane: no
    // faster than the loop, only in another summation order.
    if (!kind || *kind == TileFusion::Operand::Strided)
      return false;
    operands.push_back({input->get(), op.getMatchingIndexingMap(input), *kind});
  }
  Block &body = op.getRegion().front();
  Operation *root =
      cast<linalg::YieldOp>(body.getTerminator()).getOperand(0).getDefiningOp();
  for (Operation &inner : body.without_terminator()) {
    if (&inner == root)
      continue;
    if (!isa<arith::ArithDialect, math::MathDialect>(inner.getDialect()) ||
        inner.getNumRegions() ||
        isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp>(
            inner))
      return false;
  }

  OpBuilder b(op);
  Location loc = op.getLoc();
  Combine kind = combined->first;
  Value x = combined->second;
  auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ob, loc, v);
  };
  auto f32 = b.getF32Type();
  auto vecType = VectorType::get({lanes}, f32);
  float identity = kind == Combine::Add ? 0.0f
                   : kind == Combine::Max
                       ? -std::numeric_limits<float>::infinity()
                       : std::numeric_limits<float>::infinity();

  // f(inputs) at reduction index `col` for `count` lanes (1 = scalar tail).
  auto evaluate = [&](OpBuilder &eb, ArrayRef<Value> outer, Value col,
                      int64_t count) -> Value {
    SmallVector<Value> at(outer.begin(), outer.end());
    at.push_back(col);
    IRMapping mapping;
    for (auto [arg, o] : llvm::zip(body.getArguments(), operands)) {
      if (count > 1) {
        mapping.map(arg, readTileOperand(eb, loc, f, o, at, vecType, Value(),
                                         Value()));
        continue;
      }
      SmallVector<Value> idx;
      for (AffineExpr e : o.map.getResults()) {
        if (auto d = dyn_cast<AffineDimExpr>(e))
          idx.push_back(at[d.getPosition()]);
        else
          idx.push_back(cst(eb, cast<AffineConstantExpr>(e).getValue()));
      }
      mapping.map(arg, isa<MemRefType>(o.value.getType())
                           ? memref::LoadOp::create(eb, loc, o.value, idx)
                                 .getResult()
                           : o.value);
    }
    for (Operation &inner : body.without_terminator()) {
      if (&inner == root)
        continue;
      if (count > 1) {
        for (Value operand : inner.getOperands())
          if (!mapping.contains(operand))
            mapping.map(operand, vector::BroadcastOp::create(
                                     eb, loc,
                                     VectorType::get({lanes},
                                                     operand.getType()),
                                     operand));
        Operation *clone = eb.clone(inner, mapping);
        for (OpResult r : clone->getResults())
          r.setType(VectorType::get({lanes}, r.getType()));
      } else {
        eb.clone(inner, mapping);
      }
    }
    if (mapping.contains(x))
      return mapping.lookup(x);
    return count > 1 ? vector::BroadcastOp::create(eb, loc, vecType, x)
                           .getResult()
                     : x;
  };

  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d = 0; d + 1 < loops; ++d) {
    lbs.push_back(cst(b, 0));
    ubs.push_back(cst(b, ranges[d]));
    steps.push_back(cst(b, 1));
  }
  auto emit = [&](OpBuilder &pb, SmallVector<Value> outer) {
    Value init = arith::ConstantOp::create(
        pb, loc, vecType, DenseElementsAttr::get(vecType, identity));
    int64_t full = (width / lanes) * lanes;
    auto loop = scf::ForOp::create(
        pb, loc, cst(pb, 0), cst(pb, full), cst(pb, lanes), ValueRange{init},
        [&](OpBuilder &lb, Location, Value col, ValueRange acc) {
          Value v = evaluate(lb, outer, col, lanes);
          scf::YieldOp::create(lb, loc, combine(lb, loc, kind, acc[0], v));
        });
    vector::CombiningKind reduction =
        kind == Combine::Add   ? vector::CombiningKind::ADD
        : kind == Combine::Max ? vector::CombiningKind::MAXIMUMF
                               : vector::CombiningKind::MINIMUMF;
    Value total =
        vector::ReductionOp::create(pb, loc, reduction, loop.getResult(0));
    for (int64_t c = full; c < width; ++c)
      total = combine(pb, loc, kind, total, evaluate(pb, outer, cst(pb, c), 1));
    Value current = memref::LoadOp::create(pb, loc, out, outer);
    memref::StoreOp::create(pb, loc, combine(pb, loc, kind, current, total),
                            out, outer);
  };
  if (loops == 1) {
    emit(b, {});
  } else {
    scf::ParallelOp::create(b, loc, lbs, ubs, steps,
                            [&](OpBuilder &pb, Location, ValueRange ivs) {
                              emit(pb, SmallVector<Value>(ivs));
                            });
  }
  op.erase();
  return true;
}
