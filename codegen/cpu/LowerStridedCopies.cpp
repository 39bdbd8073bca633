//===- LowerStridedCopies.cpp - strided memref.copy -> loops --------------===//
//
// Part of kiln. memref.copy between strided (non-identity layout) buffers
// would lower to a call into MLIR's C runner library, which kiln artifacts
// do not link. Bufferization makes such copies wherever a value is written
// into part of a larger buffer: a conv's or pool's input copied into the
// interior of its zero-padded buffer, a concat's operands into their
// slices. Contiguous copies stay memref.copy (an llvm.memcpy).
//
// A strided copy whose innermost dim is contiguous on both sides becomes
// vector loops: the trailing dims that are contiguous on both sides are
// collapsed into one run, copied in vectors of up to 64 bytes (a masked
// vector for the run's tail), under an scf.parallel over the other dims.
// The rest become linalg.copy, i.e. scalar loops. A linalg.generic that
// only copies through a linear index map (an im2col gather) becomes such a
// copy first, from a strided view of its input.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineExprVisitor.h"
#include "llvm/ADT/bit.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLOWERSTRIDEDCOPIESPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
constexpr int64_t kVectorBytes = 64;

bool isContiguous(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.getLayout().isIdentity();
}

/// The first of the trailing dims that are contiguous in `type` (each dim's
/// stride is the next dim's extent times its stride), or nullopt when the
/// innermost stride is not 1 or a stride is not static.
std::optional<unsigned> firstContiguousDim(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) ||
      llvm::any_of(strides, ShapedType::isDynamic) || strides.back() != 1)
    return std::nullopt;
  unsigned first = type.getRank() - 1;
  while (first > 0 &&
         strides[first - 1] == type.getDimSize(first) * strides[first])
    --first;
  return first;
}

/// Copies `copy` with vector loops, or returns false (nothing changed).
bool emitVectorCopy(memref::CopyOp copy) {
  auto source = cast<MemRefType>(copy.getSource().getType());
  auto target = cast<MemRefType>(copy.getTarget().getType());
  Type element = source.getElementType();
  if (!source.hasStaticShape() || source.getRank() == 0 ||
      !element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 ||
      source.getNumElements() == 0)
    return false;
  std::optional<unsigned> fromSource = firstContiguousDim(source),
                          fromTarget = firstContiguousDim(target);
  if (!fromSource || !fromTarget)
    return false;
  unsigned run = std::max(*fromSource, *fromTarget);
  int64_t rank = source.getRank();

  OpBuilder b(copy);
  Location loc = copy.getLoc();
  // Dims [run, rank) collapse into one contiguous run on both sides.
  SmallVector<ReassociationIndices> groups;
  for (unsigned d = 0; d < run; ++d)
    groups.push_back({int64_t(d)});
  groups.emplace_back();
  for (int64_t d = run; d < rank; ++d)
    groups.back().push_back(d);
  auto collapse = [&](Value v) -> Value {
    if (run + 1 == rank)
      return v;
    return memref::CollapseShapeOp::create(b, loc, v, groups);
  };
  Value from = collapse(copy.getSource()), to = collapse(copy.getTarget());
  int64_t length = cast<MemRefType>(from.getType()).getShape().back();
  int64_t elementBytes = element.getIntOrFloatBitWidth() / 8;
  int64_t lanes = std::min<int64_t>(
      kVectorBytes / elementBytes, int64_t(llvm::bit_floor(uint64_t(length))));
  int64_t full = length / lanes * lanes, tail = length - full;
  auto vectorType = VectorType::get({lanes}, element);
  auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ob, loc, v);
  };

  auto copyRun = [&](OpBuilder &ob, ValueRange outer) {
    auto at = [&](Value k) {
      SmallVector<Value> idx(outer.begin(), outer.end());
      idx.push_back(k);
      return idx;
    };
    if (full > 0)
      scf::ForOp::create(
          ob, loc, cst(ob, 0), cst(ob, full), cst(ob, lanes), ValueRange{},
          [&](OpBuilder &fb, Location, Value k, ValueRange) {
            Value v = vector::LoadOp::create(fb, loc, vectorType, from, at(k));
            vector::StoreOp::create(fb, loc, v, to, at(k));
            scf::YieldOp::create(fb, loc);
          });
    if (tail > 0) {
      Value mask = vector::ConstantMaskOp::create(
          ob, loc, VectorType::get({lanes}, ob.getI1Type()),
          ArrayRef<int64_t>{tail});
      Value zero = arith::ConstantOp::create(ob, loc, vectorType,
                                             ob.getZeroAttr(vectorType));
      Value v = vector::MaskedLoadOp::create(ob, loc, vectorType, from,
                                             at(cst(ob, full)), mask, zero);
      vector::MaskedStoreOp::create(ob, loc, to, at(cst(ob, full)), mask, v);
    }
  };
  if (run == 0) {
    copyRun(b, ValueRange{});
  } else {
    // Every outer index writes its own run: the iterations are independent.
    SmallVector<Value> lower, upper, steps;
    for (unsigned d = 0; d < run; ++d) {
      lower.push_back(cst(b, 0));
      upper.push_back(cst(b, source.getDimSize(d)));
      steps.push_back(cst(b, 1));
    }
    scf::ParallelOp::create(b, loc, lower, upper, steps,
                            [&](OpBuilder &pb, Location, ValueRange ivs) {
                              copyRun(pb, ivs);
                            });
  }
  copy.erase();
  return true;
}

/// The coefficient of each dim in `expr`, then its constant term (MLIR's
/// flattener), or nullopt when `expr` is not linear in the dims (a mod or
/// a division needs local variables).
std::optional<SmallVector<int64_t>> linearCoefficients(AffineExpr expr,
                                                       unsigned dims) {
  SimpleAffineExprFlattener flattener(dims, /*numSymbols=*/0);
  if (failed(flattener.walkPostOrder(expr)) || flattener.numLocals)
    return std::nullopt;
  return llvm::to_vector(flattener.operandExprStack.back());
}

/// A linalg.generic that only copies (out[i] = in[f(i)], f linear, out in
/// order) is a memref.copy from a strided view of its input: view stride
/// of dim d = sum over input dims r of coefficient(r, d) * stride(r). An
/// im2col gather (w = ow * sw + kw) becomes a view whose (kw, c) dims are
/// one contiguous run, which the vector copy then moves whole. Only done
/// when the view's innermost dim is contiguous (else the copy would be the
/// same scalar loop).
bool gatherToViewCopy(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return false;
  Block &body = op.getRegion().front();
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 || !yield ||
      yield.getNumOperands() != 1 ||
      yield.getOperand(0) != body.getArgument(0))
    return false;
  Value input = op.getDpsInputOperand(0)->get();
  Value output = op.getDpsInitOperand(0)->get();
  auto inType = dyn_cast<MemRefType>(input.getType());
  auto outType = dyn_cast<MemRefType>(output.getType());
  AffineMap inMap = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  if (!inType || !outType || !outType.hasStaticShape() ||
      outType.getRank() == 0 || inMap.getNumSymbols() ||
      inType.getElementType() != outType.getElementType() ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return false;
  SmallVector<int64_t> inStrides;
  int64_t offset;
  if (failed(inType.getStridesAndOffset(inStrides, offset)) ||
      ShapedType::isDynamic(offset) ||
      llvm::any_of(inStrides, ShapedType::isDynamic))
    return false;
  unsigned dims = inMap.getNumDims();
  SmallVector<int64_t> viewStrides(dims, 0);
  for (auto [r, expr] : llvm::enumerate(inMap.getResults())) {
    std::optional<SmallVector<int64_t>> linear = linearCoefficients(expr, dims);
    if (!linear)
      return false;
    offset += linear->back() * inStrides[r];
    for (unsigned d = 0; d < dims; ++d)
      viewStrides[d] += (*linear)[d] * inStrides[r];
  }
  if (viewStrides.back() != 1 || outType.getShape().back() == 1)
    return false;
  auto viewType = MemRefType::get(
      outType.getShape(), outType.getElementType(),
      StridedLayoutAttr::get(op.getContext(), offset, viewStrides));
  OpBuilder b(op);
  Value view = memref::ReinterpretCastOp::create(
      b, op.getLoc(), viewType, input, offset, outType.getShape(),
      viewStrides);
  memref::CopyOp::create(b, op.getLoc(), view, output);
  op.erase();
  return true;
}

struct KilnLowerStridedCopiesPass
    : kiln::impl::KilnLowerStridedCopiesPassBase<KilnLowerStridedCopiesPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation()->walk(
        [&](linalg::GenericOp op) { generics.push_back(op); });
    for (linalg::GenericOp op : generics)
      gatherToViewCopy(op);
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp copy) {
      if (!isContiguous(copy.getSource().getType()) ||
          !isContiguous(copy.getTarget().getType()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      if (emitVectorCopy(copy))
        continue;
      OpBuilder builder(copy);
      linalg::CopyOp::create(builder, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};
} // namespace
