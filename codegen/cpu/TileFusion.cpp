//===- TileFusion.cpp - elementwise ops absorbed by the CPU kernels -------===//
//
// Part of kiln. On buffers, a contraction writing Y is typically preceded by
// an op that fills Y (zeros, a broadcast bias) and followed by an
// elementwise op that reads Y (bias add, activation, residual add). The
// matmul and conv kernels absorb both: the prologue's value initializes the
// accumulators and the epilogue is applied to them in registers before the
// one store, so Y is written once instead of three times.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include <functional>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace mlir::kiln;

namespace mlir::kiln {

/// Ops the kernels may step over when looking for a neighbour: nothing
/// with memory effects (constants, views, index math).
bool isSkippable(Operation *op) { return isMemoryEffectFree(op); }

/// The body computes its yield from the inputs with scalar arith/math ops
/// only (never from the output's current value).
bool hasVectorizableBody(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  for (BlockArgument out : body.getArguments().drop_front(
           op.getNumDpsInputs()))
    if (!out.use_empty())
      return false;
  for (Operation &inner : body.without_terminator()) {
    // A signedness-only cast (i8 -> ui8 for an unsigned tensor) is free.
    if (auto cast = dyn_cast<UnrealizedConversionCastOp>(inner)) {
      if (cast->getNumOperands() != 1 || cast->getNumResults() != 1)
        return false;
      auto from = dyn_cast<IntegerType>(cast->getOperand(0).getType());
      auto to = dyn_cast<IntegerType>(cast->getResult(0).getType());
      if (!from || !to || from.getWidth() != to.getWidth())
        return false;
      continue;
    }
    Dialect *d = inner.getDialect();
    if (!d || !isa<arith::ArithDialect, math::MathDialect>(d) ||
        inner.getNumRegions() != 0)
      return false;
    // Integer division traps on x86 when a masked-off lane divides by zero.
    if (isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp,
            arith::CeilDivSIOp, arith::CeilDivUIOp, arith::FloorDivSIOp>(
            inner))
      return false;
    for (Type t : inner.getResultTypes())
      if (!t.isIntOrIndexOrFloat() || t.isIndex())
        return false;
  }
  return true;
}

/// How a neighbour's operand is read per tile.
std::optional<TileFusion::Operand::Kind>
classifyTileOperand(Value operand, AffineMap map, Value y,
                    const TileFusion &f) {
  unsigned rank = f.rank;
  if (operand == y)
    return map.isIdentity() ? std::optional(TileFusion::Operand::Accumulator)
                            : std::nullopt;
  // A scalar value (a fill constant, say) is the same in every lane.
  if (operand.getType().isIntOrFloat() && map.getNumResults() == 0)
    return TileFusion::Operand::Scalar;
  auto type = dyn_cast<MemRefType>(operand.getType());
  if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity())
    return std::nullopt;
  bool usesVector = false;
  for (unsigned d : f.vectorDims)
    for (AffineExpr e : map.getResults())
      usesVector |= e.isFunctionOfDim(d);
  // Indices are dims, constants, and sums and constant multiples of them
  // (a convolution window's oh * stride + kh); vector dims appear alone.
  std::function<bool(AffineExpr)> simple = [&](AffineExpr e) {
    if (isa<AffineDimExpr, AffineConstantExpr>(e))
      return true;
    auto bin = dyn_cast<AffineBinaryOpExpr>(e);
    return bin &&
           (e.getKind() == AffineExprKind::Add ||
            (e.getKind() == AffineExprKind::Mul &&
             (isa<AffineConstantExpr>(bin.getLHS()) ||
              isa<AffineConstantExpr>(bin.getRHS())))) &&
           simple(bin.getLHS()) && simple(bin.getRHS());
  };
  for (AffineExpr e : map.getResults()) {
    if (!simple(e))
      return std::nullopt;
    for (unsigned d : f.vectorDims)
      if (!isa<AffineDimExpr>(e) && e.isFunctionOfDim(d))
        return std::nullopt;
  }
  if (!usesVector)
    return TileFusion::Operand::Scalar;
  // Vector loads of i1 (or sub-byte) memory would read packed bits, but
  // such memrefs hold one element per byte.
  Type elt = type.getElementType();
  if (!elt.isIntOrFloat() || elt.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  // The vector dims must be the operand's trailing dims, in order, with the
  // same extents as in Y (so a collapsed view lines up with Y's).
  size_t nv = f.vectorDims.size();
  if (map.getNumResults() < nv)
    return std::nullopt;
  // One vector dim indexing an earlier dim of the operand (and nothing
  // else): gathered at that dim's stride.
  if (nv == 1 && !map.getResult(map.getNumResults() - 1)
                      .isFunctionOfDim(f.vectorDims[0])) {
    int uses = 0;
    for (auto [i, e] : llvm::enumerate(map.getResults())) {
      if (!e.isFunctionOfDim(f.vectorDims[0]))
        continue;
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d || type.getShape()[i] != f.yShape[f.vectorDims[0]])
        return std::nullopt;
      ++uses;
    }
    if (uses == 1)
      return TileFusion::Operand::Strided;
    return std::nullopt;
  }
  for (size_t i = 0; i < nv; ++i) {
    auto d = dyn_cast<AffineDimExpr>(
        map.getResult(map.getNumResults() - nv + i));
    if (!d || d.getPosition() != f.vectorDims[i] ||
        type.getShape()[type.getRank() - nv + i] !=
            f.yShape[f.vectorDims[i]])
      return std::nullopt;
  }
  for (unsigned i = 0; i + nv < map.getNumResults(); ++i)
    for (unsigned d : f.vectorDims)
      if (map.getResult(i).isFunctionOfDim(d))
        return std::nullopt;
  (void)rank;
  return TileFusion::Operand::Vector;
}

/// The allocation or argument a memref view chain starts from.
Value baseBuffer(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else
      break;
  }
  return v;
}

/// An all-parallel generic over exactly Y's iteration space writing
/// `out` with the identity map.
bool coversY(linalg::GenericOp op, Value y) {
  if (!op || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0)
    return false;
  auto yType = cast<MemRefType>(y.getType());
  Value out = op.getDpsInitOperand(0)->get();
  auto outType = dyn_cast<MemRefType>(out.getType());
  return outType && outType.getShape() == yType.getShape() &&
         outType.getElementType() == yType.getElementType() &&
         outType.getLayout().isIdentity() &&
         op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity() &&
         hasVectorizableBody(op);
}

/// `v` is available at `at` once the ops that define it after `at` move up:
/// a chain of reshape views ending in a value that dominates `at` or in an
/// operand-free allocation. `defs` gets the ops to move, last first (they
/// read nothing else, so moving them changes no value).
bool availableAfterHoisting(Value v, Operation *at, DominanceInfo &dominance,
                            SmallVectorImpl<Operation *> &defs) {
  while (!dominance.properlyDominates(v, at)) {
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != at->getBlock() || def->isBeforeInBlock(at))
      return false;
    defs.push_back(def);
    if (auto alloc = dyn_cast<memref::AllocOp>(def))
      return alloc->getNumOperands() == 0;
    if (!isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(def))
      return false;
    v = def->getOperand(0);
  }
  return true;
}

bool collectOperands(linalg::GenericOp op, Value y, TileFusion &f,
                     SmallVectorImpl<TileFusion::Operand> &operands) {
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    // Another view of Y would be read from memory before the kernel
    // stored it.
    if (input->get() != y && isa<MemRefType>(input->get().getType()) &&
        baseBuffer(input->get()) == baseBuffer(y))
      return false;
    auto kind = classifyTileOperand(input->get(), map, y, f);
    if (!kind)
      return false;
    operands.push_back({input->get(), map, *kind});
  }
  return true;
}

} // namespace mlir::kiln

TileFusion mlir::kiln::findTileFusion(linalg::GenericOp contraction, Value y,
                                      ArrayRef<unsigned> vectorDims) {
  TileFusion f;
  auto yType = dyn_cast<MemRefType>(y.getType());
  if (!yType || !yType.getLayout().isIdentity())
    return f;
  f.rank = yType.getRank();
  f.yShape.assign(yType.getShape().begin(), yType.getShape().end());
  f.vectorDims.assign(vectorDims.begin(), vectorDims.end());

  // Steps over allocations too (a pooling window's shape operand, say).
  Operation *prev = contraction->getPrevNode();
  while (prev && (isSkippable(prev) || isa<memref::AllocOp>(prev)))
    prev = prev->getPrevNode();
  auto prologue = dyn_cast_or_null<linalg::GenericOp>(prev);
  if (coversY(prologue, y) && prologue.getDpsInitOperand(0)->get() == y) {
    SmallVector<TileFusion::Operand> operands;
    bool scalarOnly = collectOperands(prologue, y, f, operands);
    for (auto &o : operands)
      scalarOnly &= o.kind == TileFusion::Operand::Scalar;
    if (scalarOnly) {
      f.prologue = prologue;
      f.prologueOperands = std::move(operands);
    }
  }

  // Also steps over allocations (the epilogue's output, say).
  Operation *next = contraction->getNextNode();
  while (next && (isSkippable(next) || isa<memref::AllocOp>(next)))
    next = next->getNextNode();
  auto epilogue = dyn_cast_or_null<linalg::GenericOp>(next);
  if (coversY(epilogue, y)) {
    SmallVector<TileFusion::Operand> operands;
    int readsOfY = 0;
    bool ok = collectOperands(epilogue, y, f, operands);
    for (auto &o : operands)
      readsOfY += o.kind == TileFusion::Operand::Accumulator;
    // The output may be Y itself (in place) or a buffer no input reads
    // other than elementwise at the same index.
    Value out = epilogue.getDpsInitOperand(0)->get();
    for (auto &o : operands)
      ok &= o.value != out || o.map.isIdentity();
    // The kernel is emitted where the contraction is: every value the
    // epilogue reads or writes must already exist there (its output buffer
    // may be allocated after the contraction: the allocation moves up).
    // Views of earlier buffers made after the contraction move up too.
    DominanceInfo dominance(contraction->getParentOfType<FunctionOpInterface>());
    SmallVector<Operation *> hoisted;
    ok &= availableAfterHoisting(out, contraction, dominance, hoisted);
    for (auto &o : operands)
      ok &= availableAfterHoisting(o.value, contraction, dominance, hoisted);
    // The kernel writes the epilogue's output tile by tile while it still
    // reads its own inputs: they must not share a buffer.
    Value outBase = baseBuffer(out);
    for (OpOperand *input : contraction.getDpsInputOperands())
      ok &= baseBuffer(input->get()) != outBase;
    if (ok && readsOfY >= 1) {
      for (Operation *def : llvm::reverse(hoisted))
        def->moveBefore(contraction);
      f.epilogue = epilogue;
      f.epilogueOperands = std::move(operands);
      f.epilogueOut = out;
    }
  }

  // Y itself still has to be stored when something else reads it later.
  f.storeY = true;
  if (f.epilogue && f.epilogueOut != y &&
      isa_and_nonnull<memref::AllocOp>(y.getDefiningOp())) {
    f.storeY = false;
    for (Operation *user : y.getUsers())
      if (user != contraction && user != f.prologue && user != f.epilogue)
        f.storeY = true;
  }
  return f;
}

namespace mlir::kiln {

Value scalarToVector(OpBuilder &b, Location loc, Value scalar,
                     int64_t lanes) {
  return vector::BroadcastOp::create(
      b, loc, VectorType::get({lanes}, scalar.getType()), scalar);
}

/// `op`'s body applied lane-wise to the operand values (vectors).
Value vectorizeBody(OpBuilder &b, Location loc, linalg::GenericOp op,
                    ArrayRef<Value> inputs, int64_t lanes) {
  SmallVector<Value> set(inputs.begin(), inputs.end());
  return vectorizeBodies(b, loc, op, {set}, lanes).front();
}

SmallVector<Value> vectorizeBodies(OpBuilder &b, Location loc,
                                   linalg::GenericOp op,
                                   ArrayRef<SmallVector<Value>> inputs,
                                   int64_t lanes) {
  Block &body = op.getRegion().front();
  SmallVector<IRMapping> mappings(inputs.size());
  for (auto [mapping, set] : llvm::zip(mappings, inputs))
    for (auto [arg, v] : llvm::zip(body.getArguments(), set))
      mapping.map(arg, v);
  // Constants and values from outside the body: one splat for every set.
  auto mapShared = [&](Value scalar, Value splat) {
    for (IRMapping &mapping : mappings)
      mapping.map(scalar, splat);
  };
  for (Operation &inner : body.without_terminator()) {
    if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
      Value c = arith::ConstantOp::create(b, loc, constant.getValue());
      mapShared(constant.getResult(), scalarToVector(b, loc, c, lanes));
      continue;
    }
    for (Value operand : inner.getOperands())
      if (!mappings.front().contains(operand))
        mapShared(operand, scalarToVector(b, loc, operand, lanes));
    for (IRMapping &mapping : mappings) {
      Operation *clone = b.clone(inner, mapping);
      for (OpResult r : clone->getResults())
        r.setType(VectorType::get({lanes}, r.getType()));
    }
  }
  Value result = cast<linalg::YieldOp>(body.getTerminator()).getOperand(0);
  if (!mappings.front().contains(result)) // yields an outside value
    mapShared(result, isa<VectorType>(result.getType())
                          ? result
                          : scalarToVector(b, loc, result, lanes));
  SmallVector<Value> results;
  for (IRMapping &mapping : mappings)
    results.push_back(mapping.lookup(result));
  return results;
}

/// The operand's value for the tile: a broadcast scalar or a vector.
Value readTileOperand(OpBuilder &b, Location loc, const TileFusion &f,
                  const TileFusion::Operand &o, ArrayRef<Value> yIndex,
                  VectorType vecType, Value mask, Value acc) {
  if (o.kind == TileFusion::Operand::Accumulator)
    return acc;
  // The operand's index: its map (dims, constants, sums, constant
  // multiples; classifyTileOperand) applied to Y's.
  std::function<Value(AffineExpr)> eval = [&](AffineExpr e) -> Value {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      return yIndex[d.getPosition()];
    if (auto c = dyn_cast<AffineConstantExpr>(e))
      return arith::ConstantIndexOp::create(b, loc, c.getValue());
    auto bin = cast<AffineBinaryOpExpr>(e);
    Value l = eval(bin.getLHS()), r = eval(bin.getRHS());
    if (e.getKind() == AffineExprKind::Add)
      return arith::AddIOp::create(b, loc, l, r);
    return arith::MulIOp::create(b, loc, l, r);
  };
  SmallVector<Value> idx;
  for (AffineExpr e : o.map.getResults())
    idx.push_back(eval(e));
  auto type = cast<MemRefType>(o.value.getType());
  if (o.kind == TileFusion::Operand::Scalar) {
    if (!isa<MemRefType>(o.value.getType()))
      return scalarToVector(b, loc, o.value, vecType.getNumElements());
    Value s = memref::LoadOp::create(b, loc, o.value, idx);
    return scalarToVector(b, loc, s, vecType.getNumElements());
  }
  if (o.kind == TileFusion::Operand::Strided) {
    // Lanes at the vector dim's stride from the flat index of lane 0.
    int64_t rank = type.getRank(), stride = 1, position = 0;
    ArrayRef<int64_t> shape = type.getShape();
    for (auto [i, e] : llvm::enumerate(o.map.getResults()))
      if (e.isFunctionOfDim(f.vectorDims[0]))
        position = int64_t(i);
    for (int64_t i = position + 1; i < rank; ++i)
      stride *= shape[i];
    Value flat = idx[0];
    for (int64_t i = 1; i < rank; ++i)
      flat = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(
              b, loc, flat, arith::ConstantIndexOp::create(b, loc, shape[i])),
          idx[i]);
    ReassociationIndices all;
    for (int64_t i = 0; i < rank; ++i)
      all.push_back(i);
    Value base = rank == 1 ? o.value
                           : memref::CollapseShapeOp::create(
                                 b, loc, o.value,
                                 ArrayRef<ReassociationIndices>{all})
                                 .getResult();
    int64_t lanes = vecType.getNumElements();
    auto operandVec = VectorType::get({lanes}, type.getElementType());
    // A static mask (or none): one scalar load per valid lane, each at a
    // constant offset from lane 0 (a load with a displacement, inserted),
    // cheaper than a gather's per-lane address vector.
    std::optional<int64_t> valid = lanes;
    if (mask) {
      auto constantMask = mask.getDefiningOp<vector::ConstantMaskOp>();
      valid = constantMask ? std::optional(constantMask.getMaskDimSizes()[0])
                           : std::nullopt;
    }
    if (valid) {
      Value v = arith::ConstantOp::create(b, loc, operandVec,
                                          b.getZeroAttr(operandVec));
      for (int64_t l = 0; l < *valid; ++l) {
        Value at = l == 0 ? flat
                          : arith::AddIOp::create(
                                b, loc, flat,
                                arith::ConstantIndexOp::create(b, loc, l * stride))
                                .getResult();
        Value e = memref::LoadOp::create(b, loc, base, ValueRange{at});
        v = vector::InsertOp::create(b, loc, e, v, ArrayRef<int64_t>{l});
      }
      return v;
    }
    SmallVector<int32_t> offsets;
    for (int64_t l = 0; l < lanes; ++l)
      offsets.push_back(int32_t(l * stride));
    auto offsetType = VectorType::get({lanes}, b.getI32Type());
    Value offsetVec = arith::ConstantOp::create(
        b, loc, offsetType, DenseElementsAttr::get(offsetType, ArrayRef(offsets)));
    Value zero = arith::ConstantOp::create(b, loc, operandVec,
                                           b.getZeroAttr(operandVec));
    return vector::GatherOp::create(b, loc, operandVec, base, ValueRange{flat},
                                    offsetVec, mask, zero);
  }
  Value base = o.value;
  size_t nv = f.vectorDims.size();
  if (nv > 1) {
    // Flattened vector dims: view the operand with them collapsed, as Y.
    SmallVector<ReassociationIndices> groups;
    int64_t rank = type.getRank();
    for (int64_t i = 0; i < rank - int64_t(nv); ++i)
      groups.push_back({i});
    ReassociationIndices last;
    for (int64_t i = rank - nv; i < rank; ++i)
      last.push_back(i);
    groups.push_back(last);
    base = memref::CollapseShapeOp::create(b, loc, o.value, groups);
    // The flat index of the tile start.
    Value flat = idx[rank - nv];
    for (int64_t i = rank - nv + 1; i < rank; ++i)
      flat = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, flat,
                                arith::ConstantIndexOp::create(
                                    b, loc, type.getShape()[i])),
          idx[i]);
    idx.resize(rank - nv);
    idx.push_back(flat);
  }
  auto operandVec =
      VectorType::get(vecType.getShape(), type.getElementType());
  if (mask) {
    Value zero = arith::ConstantOp::create(b, loc, operandVec,
                                           b.getZeroAttr(operandVec));
    return vector::MaskedLoadOp::create(b, loc, operandVec, base, idx, mask,
                                        zero);
  }
  return vector::LoadOp::create(b, loc, operandVec, base, idx);
}

} // namespace mlir::kiln

Value mlir::kiln::emitPrologue(OpBuilder &b, Location loc,
                               const TileFusion &f, ArrayRef<Value> yIndex,
                               VectorType vecType) {
  SmallVector<Value> inputs;
  for (const TileFusion::Operand &o : f.prologueOperands)
    inputs.push_back(
        readTileOperand(b, loc, f, o, yIndex, vecType, Value(), Value()));
  return vectorizeBody(b, loc, f.prologue, inputs, vecType.getNumElements());
}

Value mlir::kiln::emitEpilogue(OpBuilder &b, Location loc,
                               const TileFusion &f, ArrayRef<Value> yIndex,
                               Value acc, Value mask) {
  auto vecType = cast<VectorType>(acc.getType());
  SmallVector<Value> inputs;
  for (const TileFusion::Operand &o : f.epilogueOperands)
    inputs.push_back(readTileOperand(b, loc, f, o, yIndex, vecType, mask, acc));
  return vectorizeBody(b, loc, f.epilogue, inputs, vecType.getNumElements());
}

std::string mlir::kiln::describeFusion(const TileFusion &f) {
  std::string text;
  if (f.prologue)
    text += " + fill";
  if (f.epilogue) {
    text += " + epilogue(";
    bool first = true;
    linalg::GenericOp epilogue = f.epilogue;
    for (Operation &inner : epilogue.getRegion().front().without_terminator()) {
      // Constants and the ui8 <-> i8 reinterpretations compute nothing.
      if (isa<arith::ConstantOp, UnrealizedConversionCastOp>(inner))
        continue;
      text += (first ? "" : ", ") + inner.getName().stripDialect().str();
      first = false;
    }
    text += ")";
  }
  return text;
}

void mlir::kiln::eraseFused(TileFusion &f) {
  if (f.prologue)
    f.prologue.erase();
  if (f.epilogue)
    f.epilogue.erase();
}

void mlir::kiln::eraseLowered(Operation *op, TileFusion &f) {
  SmallVector<Value> operands(op->getOperands());
  eraseFused(f);
  op->erase();
  for (Value v : operands)
    if (auto get = v.getDefiningOp<memref::GetGlobalOp>();
        get && get->use_empty())
      get.erase();
}
