//===- VectorizeTranspose.cpp - elementwise ops reading a transpose -------===//
//
// Part of kiln. An elementwise op whose output's last dim p is an earlier
// dim of one operand S, whose own last dim is another output dim q (a
// layout change: NHWC -> NCHW before a Flatten in a QDQ model), reads S
// lane by lane at a stride (one scalar load and insert per element). Here
// it becomes
//
//   parallel over the output's other dims and blocks of `lanes` q
//     for blocks of `lanes` p
//       lanes vector loads of S (contiguous along q, one per p)
//       a lanes x lanes transpose in registers (log2(lanes) stages of
//         two-source shuffles, each swapping one row bit with a column bit)
//       per q: the body on vectors over p, one store
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Rows (vectors of `lanes`, a power of two) of a square block, transposed.
SmallVector<Value> transposeRows(OpBuilder &b, Location loc,
                                 SmallVector<Value> rows, int64_t lanes) {
  for (int64_t s = lanes / 2; s >= 1; s /= 2) {
    SmallVector<int64_t> low, high;
    for (int64_t l = 0; l < lanes; ++l) {
      low.push_back(l & s ? lanes + l - s : l);
      high.push_back(l & s ? lanes + l : l + s);
    }
    SmallVector<Value> next(rows);
    for (int64_t r = 0; r < lanes; ++r) {
      if (r & s)
        continue;
      next[r] = vector::ShuffleOp::create(b, loc, rows[r], rows[r + s], low);
      next[r + s] =
          vector::ShuffleOp::create(b, loc, rows[r], rows[r + s], high);
    }
    rows = std::move(next);
  }
  return rows;
}

} // namespace

bool mlir::kiln::vectorizeTransposedElementwise(linalg::GenericOp op,
                                                const CpuTarget &target) {
  MemRefType outType = elementwiseOutputType(op);
  if (!outType || outType.getRank() < 2)
    return false;
  Value out = op.getDpsInitOperand(0)->get();
  int64_t rank = outType.getRank();
  int64_t lanes = target.vectorBits / 32;
  ArrayRef<int64_t> shape = outType.getShape();
  unsigned p = rank - 1;
  if (shape[p] < lanes / 2)
    return false;

  TileFusion f;
  f.rank = rank;
  f.yShape.assign(shape.begin(), shape.end());
  f.vectorDims = {p};
  SmallVector<TileFusion::Operand> operands;
  int strided = -1;
  unsigned q = 0;
  Value outBase = baseBuffer(out);
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (isa<MemRefType>(input->get().getType()) &&
        baseBuffer(input->get()) == outBase)
      return false;
    auto kind = classifyTileOperand(input->get(), map, Value(), f);
    if (!kind)
      return false;
    if (*kind == TileFusion::Operand::Strided) {
      // S's last dim is a whole output dim q (contiguous along q).
      auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
      auto type = cast<MemRefType>(input->get().getType());
      if (strided >= 0 || !last || last.getPosition() == p ||
          !type.getLayout().isIdentity() ||
          type.getShape().back() != shape[last.getPosition()])
        return false;
      strided = int(operands.size());
      q = last.getPosition();
    }
    operands.push_back({input->get(), map, *kind});
  }
  if (strided < 0)
    return false;
  const TileFusion::Operand &s = operands[strided];
  auto sType = cast<MemRefType>(s.value.getType());
  auto rowType = VectorType::get({lanes}, sType.getElementType());
  auto vecType = VectorType::get({lanes}, outType.getElementType());
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ob, loc, v);
  };
  // One lanes x lanes block: q from `q0` (validQ real), p from `p0`
  // (validP real); `loop` holds the other dims' values.
  auto emitBlock = [&](OpBuilder &bb, SmallVector<Value> loop, Value q0,
                       int64_t validQ, Value p0, int64_t validP) {
    Value qMask, pMask;
    if (validQ < lanes)
      qMask = vector::ConstantMaskOp::create(bb, loc, maskType,
                                             ArrayRef<int64_t>{validQ});
    if (validP < lanes)
      pMask = vector::ConstantMaskOp::create(bb, loc, maskType,
                                             ArrayRef<int64_t>{validP});
    Value zeroRow = arith::ConstantOp::create(bb, loc, rowType,
                                              bb.getZeroAttr(rowType));
    SmallVector<Value> rows(lanes, zeroRow);
    loop[q] = q0;
    for (int64_t i = 0; i < validP; ++i) {
      loop[p] = i == 0 ? p0 : arith::AddIOp::create(bb, loc, p0, cst(bb, i));
      SmallVector<Value> idx;
      for (AffineExpr e : s.map.getResults())
        idx.push_back(affine::expandAffineExpr(bb, loc, e, loop, {}));
      rows[i] = qMask ? vector::MaskedLoadOp::create(bb, loc, rowType, s.value,
                                                     idx, qMask, zeroRow)
                            .getResult()
                      : vector::LoadOp::create(bb, loc, rowType, s.value, idx)
                            .getResult();
    }
    SmallVector<Value> columns = transposeRows(bb, loc, rows, lanes);
    SmallVector<SmallVector<Value>> at, inputs;
    for (int64_t j = 0; j < validQ; ++j) {
      at.push_back(loop);
      at.back()[q] =
          j == 0 ? q0 : arith::AddIOp::create(bb, loc, q0, cst(bb, j));
      at.back()[p] = p0;
      inputs.emplace_back();
      for (auto [k, o] : llvm::enumerate(operands))
        inputs.back().push_back(
            int(k) == strided
                ? columns[j]
                : readTileOperand(bb, loc, f, o, at.back(), vecType, pMask,
                                  Value()));
    }
    SmallVector<Value> results = vectorizeBodies(bb, loc, op, inputs, lanes);
    for (int64_t j = 0; j < validQ; ++j)
      storeVector(bb, loc, results[j], out, at[j], pMask);
  };

  // Parallel over the dims before p, q in blocks of `lanes`.
  int64_t qBlocks = (shape[q] + lanes - 1) / lanes;
  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d = 0; d < p; ++d) {
    lbs.push_back(cst(b, 0));
    ubs.push_back(cst(b, d == q ? qBlocks : shape[d]));
    steps.push_back(cst(b, 1));
  }
  scf::ParallelOp::create(
      b, loc, lbs, ubs, steps, [&](OpBuilder &pb, Location, ValueRange ivs) {
        SmallVector<Value> loop(ivs.begin(), ivs.end());
        loop.push_back(Value()); // p
        Value q0 = arith::MulIOp::create(pb, loc, ivs[q], cst(pb, lanes));
        emitRaggedBlock(
            pb, loc, ivs[q], shape[q], lanes,
            [&](OpBuilder &qb, int64_t validQ) {
              emitTiles(qb, loc, shape[p], lanes,
                        [&](OpBuilder &tb, Value p0, int64_t validP) {
                          emitBlock(tb, loop, q0, validQ, p0, validP);
                        });
            });
      });
  op.erase();
  return true;
}
