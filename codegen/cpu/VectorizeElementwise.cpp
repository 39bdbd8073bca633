//===- VectorizeElementwise.cpp - elementwise ops as vector loops ---------===//
//
// Part of kiln. After bufferization every intermediate is a view of one
// workspace, so LLVM cannot prove that an elementwise loop's input and
// output do not overlap and leaves it scalar. Here, where the buffers are
// still distinct, an all-parallel generic whose operands are contiguous
// (or constant) along the last dim becomes
//
//   parallel over the outer dims
//     for blocks of `lanes` elements of the last dim (masked tail)
//       vector loads / splats, the body on vectors, one vector store
//
// A long body (a chain of fake-quantization steps in a QDQ model, say) is
// bound by its dependency chain's latency, not by throughput: such loops
// take `unroll` blocks per iteration, their ops interleaved.
//
// reusing the body vectorizer of the kernels' fused epilogues.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::kiln;

/// Bodies of at least this many ops are latency-bound: interleave
/// kLongBodyUnroll blocks. On Zen 3 (AVX2) a QDQ BERT's GELU chain of 65
/// ops took 1.0% of the model's time with 1 block, 0.71% with 2, 0.62%
/// with 4.
constexpr int64_t kLongBody = 24;
constexpr int64_t kLongBodyUnroll = 4;

MemRefType mlir::kiln::elementwiseOutputType(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 || !hasVectorizableBody(op))
    return {};
  auto outType = dyn_cast<MemRefType>(op.getDpsInitOperand(0)->get().getType());
  if (!outType || !outType.hasStaticShape() || outType.getRank() == 0 ||
      !outType.getLayout().isIdentity() ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return {};
  return outType;
}

bool mlir::kiln::vectorizeElementwise(linalg::GenericOp op,
                                      const CpuTarget &target) {
  MemRefType outType = elementwiseOutputType(op);
  if (!outType)
    return false;
  Value out = op.getDpsInitOperand(0)->get();
  Type outElement = outType.getElementType();
  if (!outElement.isIntOrFloat() || outElement.getIntOrFloatBitWidth() % 8)
    return false;
  int64_t rank = outType.getRank();
  int64_t width = outType.getShape().back();
  int64_t lanes = target.vectorBits / 32;
  if (width < lanes / 2)
    return false; // mostly masked lanes: the scalar loop is as good

  TileFusion f;
  f.rank = rank;
  f.yShape.assign(outType.getShape().begin(), outType.getShape().end());
  f.vectorDims = {unsigned(rank - 1)};
  SmallVector<TileFusion::Operand> operands;
  Value outBase = baseBuffer(out);
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    // Reading the output's buffer anywhere but at the same index would see
    // values this loop already overwrote.
    if (isa<MemRefType>(input->get().getType()) &&
        baseBuffer(input->get()) == outBase &&
        (input->get() != out || !map.isIdentity()))
      return false;
    auto kind = classifyTileOperand(input->get(), map, Value(), f);
    if (!kind)
      return false;
    operands.push_back({input->get(), map, *kind});
  }

  OpBuilder b(op);
  Location loc = op.getLoc();
  auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ob, loc, v);
  };
  ArrayRef<int64_t> shape = outType.getShape();
  auto vecType = VectorType::get({lanes}, outElement);
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  int64_t bodyOps = op.getRegion().front().getOperations().size();
  int64_t unroll = bodyOps >= kLongBody ? kLongBodyUnroll : 1;
  auto emitRow = [&](OpBuilder &rb, SmallVector<Value> index) {
    // `count` blocks of `lanes` from `col` (the last one `valid` wide).
    auto blocks = [&](OpBuilder &bb, Value col, int64_t count,
                      int64_t valid) {
      Value mask;
      if (valid < lanes)
        mask = vector::ConstantMaskOp::create(bb, loc, maskType,
                                              ArrayRef<int64_t>{valid});
      SmallVector<SmallVector<Value>> at, inputs;
      for (int64_t u = 0; u < count; ++u) {
        Value c = u == 0 ? col
                         : arith::AddIOp::create(bb, loc, col,
                                                 cst(bb, u * lanes))
                               .getResult();
        at.push_back(index);
        at.back().push_back(c);
        Value m = u + 1 == count ? mask : Value();
        inputs.emplace_back();
        for (const TileFusion::Operand &o : operands)
          inputs.back().push_back(
              readTileOperand(bb, loc, f, o, at.back(), vecType, m, Value()));
      }
      SmallVector<Value> results = vectorizeBodies(bb, loc, op, inputs, lanes);
      for (int64_t u = 0; u < count; ++u)
        storeVector(bb, loc, results[u], out, at[u],
                    u + 1 == count ? mask : Value());
    };
    int64_t step = unroll * lanes;
    int64_t unrolled = (width / step) * step;
    if (unrolled > 0)
      scf::ForOp::create(rb, loc, cst(rb, 0), cst(rb, unrolled),
                         cst(rb, step), ValueRange{},
                         [&](OpBuilder &cb, Location, Value col, ValueRange) {
                           blocks(cb, col, unroll, lanes);
                           scf::YieldOp::create(cb, loc);
                         });
    // The rest: whole blocks, then the masked tail, in one interleaved go.
    int64_t rest = width - unrolled;
    if (rest > 0)
      blocks(rb, cst(rb, unrolled), (rest + lanes - 1) / lanes,
             rest % lanes ? rest % lanes : lanes);
  };
  if (rank == 1) {
    emitRow(b, {});
  } else {
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t d = 0; d + 1 < rank; ++d) {
      lbs.push_back(cst(b, 0));
      ubs.push_back(cst(b, shape[d]));
      steps.push_back(cst(b, 1));
    }
    scf::ParallelOp::create(b, loc, lbs, ubs, steps,
                            [&](OpBuilder &pb, Location, ValueRange ivs) {
                              emitRow(pb, SmallVector<Value>(ivs));
                            });
  }
  op.erase();
  return true;
}
