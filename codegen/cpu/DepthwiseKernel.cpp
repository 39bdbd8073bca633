//===- DepthwiseKernel.cpp - vectorized depthwise convolution -------------===//
//
// Part of kiln. A depthwise convolution (one input and one output channel
// per group, as in MobileNet) has no reduction over channels, so the matmul
// style tile of ConvKernel.cpp does not apply. Each channel is computed as
//
//   parallel over (n, channel, blocks of R output rows)
//     for column blocks of nr output pixels
//       R vector accumulators; per tap (kh, kw) and row: one input vector
//       (contiguous for stride 1, a wide load + even lanes for stride 2),
//       one broadcast weight, one FMA
//
// The taps are unrolled, so loads of an input row shared by several
// (row, kh) pairs are merged by LLVM. The bias fill before and an
// elementwise op after are absorbed like in the other kernels.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct Depthwise {
  Value x, w, y;
  unsigned n, g, f, oh, ow, c, kh, kw;
  int64_t batch, channels, rows, cols, kernelH, kernelW;
  int64_t strideH, strideW, dilationH, dilationW;
};

std::optional<Depthwise> matchDepthwise(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 8 ||
      op.getNumReductionLoops() != 3 || !isMultiplyAccumulate(op))
    return std::nullopt;
  Depthwise dw;
  dw.x = op.getDpsInputOperand(0)->get();
  dw.w = op.getDpsInputOperand(1)->get();
  dw.y = op.getDpsInitOperand(0)->get();
  if (!isIdentityF32(dw.x, 4) || !isIdentityF32(dw.w, 5) ||
      !isIdentityF32(dw.y, 5) || !constantGlobalOf(dw.w))
    return std::nullopt;
  AffineMap xm = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  AffineMap wm = op.getMatchingIndexingMap(op.getDpsInputOperand(1));
  AffineMap ym = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!ym.isProjectedPermutation() || !wm.isProjectedPermutation() ||
      ym.getNumResults() != 5 || wm.getNumResults() != 5 ||
      xm.getNumResults() != 4)
    return std::nullopt;
  dw.n = *resultDim(ym, 0);
  dw.g = *resultDim(ym, 1);
  dw.f = *resultDim(ym, 2);
  dw.oh = *resultDim(ym, 3);
  dw.ow = *resultDim(ym, 4);
  if (resultDim(wm, 0) != std::optional<unsigned>(dw.g) ||
      resultDim(wm, 1) != std::optional<unsigned>(dw.f))
    return std::nullopt;
  dw.c = *resultDim(wm, 2);
  dw.kh = *resultDim(wm, 3);
  dw.kw = *resultDim(wm, 4);
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  if (r[dw.f] != 1 || r[dw.c] != 1 ||
      resultDim(xm, 0) != std::optional<unsigned>(dw.n))
    return std::nullopt;
  // Input channel g * 1 + c (one channel per group).
  auto channel = stridedWindowCoefficients(xm.getResult(1), dw.g, dw.c, 8);
  auto rowCoeffs = stridedWindowCoefficients(xm.getResult(2), dw.oh, dw.kh, 8);
  auto colCoeffs = stridedWindowCoefficients(xm.getResult(3), dw.ow, dw.kw, 8);
  if (!channel || channel->first != 1 || !rowCoeffs || !colCoeffs)
    return std::nullopt;
  std::tie(dw.strideH, dw.dilationH) = *rowCoeffs;
  std::tie(dw.strideW, dw.dilationW) = *colCoeffs;
  dw.batch = r[dw.n];
  dw.channels = r[dw.g];
  dw.rows = r[dw.oh];
  dw.cols = r[dw.ow];
  dw.kernelH = r[dw.kh];
  dw.kernelW = r[dw.kw];
  return dw;
}

struct DepthwiseEmitter {
  const Depthwise &dw;
  const TileFusion &fusion;
  /// The epilogue when it reads Y's [N, C, OH, OW] view (indices without
  /// the unit group dim); `fusion` then has none.
  const TileFusion &viewFusion;
  int64_t rowsPerTile, nr;
  Location loc;
  VectorType vecType;

  Value cst(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  /// Input row `inRow` of channel `g`, output columns [col, col + nr).
  Value inputVector(OpBuilder &b, Value n, Value g, Value inRow, Value col,
                    int64_t kw, int64_t valid) {
    Value inCol = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, col, cst(b, dw.strideW)),
        cst(b, kw * dw.dilationW));
    return loadStridedColumns(b, loc, dw.x, {n, g, inRow, inCol}, nr,
                              dw.strideW, valid);
  }

  /// `rows` output rows from `row0` by nr columns from `col`; `valid`
  /// columns are real (the rest masked off).
  void tile(OpBuilder &b, Value n, Value g, Value row0, int64_t rows,
            Value col, int64_t valid, ArrayRef<Value> weights) {
    Value mask;
    if (valid < nr)
      mask = vector::ConstantMaskOp::create(
          b, loc, VectorType::get({nr}, b.getI1Type()),
          ArrayRef<int64_t>{valid});
    Value zeroVec = arith::ConstantOp::create(
        b, loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
    SmallVector<Value> outRows, acc;
    for (int64_t r = 0; r < rows; ++r) {
      Value row = arith::AddIOp::create(b, loc, row0, cst(b, r));
      outRows.push_back(row);
      SmallVector<Value> idx = {n, g, cst(b, 0), row, col};
      if (fusion.prologue)
        acc.push_back(emitPrologue(b, loc, fusion, idx, vecType));
      else if (mask)
        acc.push_back(vector::MaskedLoadOp::create(b, loc, vecType, dw.y, idx,
                                                   mask, zeroVec));
      else
        acc.push_back(vector::LoadOp::create(b, loc, vecType, dw.y, idx));
    }
    for (int64_t kh = 0; kh < dw.kernelH; ++kh) {
      for (int64_t r = 0; r < rows; ++r) {
        Value inRow = arith::AddIOp::create(
            b, loc,
            arith::MulIOp::create(b, loc, outRows[r], cst(b, dw.strideH)),
            cst(b, kh * dw.dilationH));
        for (int64_t kw = 0; kw < dw.kernelW; ++kw) {
          Value xv = inputVector(b, n, g, inRow, col, kw, valid);
          acc[r] = vector::FMAOp::create(
              b, loc, weights[kh * dw.kernelW + kw], xv, acc[r]);
        }
      }
    }
    auto store = [&](Value value, Value base, ArrayRef<Value> idx) {
      if (mask)
        vector::MaskedStoreOp::create(b, loc, base, idx, mask, value);
      else
        vector::StoreOp::create(b, loc, value, base, idx);
    };
    for (int64_t r = 0; r < rows; ++r) {
      SmallVector<Value> idx = {n, g, cst(b, 0), outRows[r], col};
      if (fusion.storeY && viewFusion.storeY)
        store(acc[r], dw.y, idx);
      if (fusion.epilogue)
        store(emitEpilogue(b, loc, fusion, idx, acc[r], mask),
              fusion.epilogueOut, idx);
      if (viewFusion.epilogue) {
        SmallVector<Value> viewIdx = {n, g, outRows[r], col};
        store(emitEpilogue(b, loc, viewFusion, viewIdx, acc[r], mask),
              viewFusion.epilogueOut, viewIdx);
      }
    }
  }

  /// Every column block of `rows` output rows of one channel.
  void rowBlock(OpBuilder &b, Value n, Value g, Value row0, int64_t rows) {
    // The channel's taps, broadcast once.
    SmallVector<Value> weights;
    for (int64_t kh = 0; kh < dw.kernelH; ++kh)
      for (int64_t kw = 0; kw < dw.kernelW; ++kw) {
        Value s = memref::LoadOp::create(
            b, loc, dw.w,
            ValueRange{g, cst(b, 0), cst(b, 0), cst(b, kh), cst(b, kw)});
        weights.push_back(vector::BroadcastOp::create(b, loc, vecType, s));
      }
    int64_t full = (dw.cols / nr) * nr;
    if (full > 0)
      scf::ForOp::create(b, loc, cst(b, 0), cst(b, full), cst(b, nr),
                         ValueRange{},
                         [&](OpBuilder &cb, Location, Value col, ValueRange) {
                           tile(cb, n, g, row0, rows, col, nr, weights);
                           scf::YieldOp::create(cb, loc);
                         });
    if (dw.cols % nr)
      tile(b, n, g, row0, rows, cst(b, full), dw.cols % nr, weights);
  }
};

/// The [N, C, OH, OW] view of the depthwise conv `op`'s [N, C, 1, OH, OW]
/// output `y` taken right after it (among the side-effect-free ops before
/// the next one; Y's buffer may be reused by later convs), if any.
memref::CollapseShapeOp channelView(Operation *op, Value y) {
  for (Operation *next = op->getNextNode();
       next && (isMemoryEffectFree(next) || isa<memref::AllocOp>(next));
       next = next->getNextNode()) {
    auto collapse = dyn_cast<memref::CollapseShapeOp>(next);
    if (!collapse || collapse.getSrc() != y)
      continue;
    // The unit dim 2 merges into the channel or the row dim: either way
    // element (n, c, 0, h, w) is (n, c, h, w).
    if (collapse.getResultType().getRank() == 4 &&
        collapse.getResultType().getLayout().isIdentity() &&
        (collapse.getReassociationIndices() ==
             SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}} ||
         collapse.getReassociationIndices() ==
             SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}}))
      return collapse;
  }
  return {};
}

} // namespace

bool mlir::kiln::lowerDepthwiseConv(linalg::GenericOp op,
                                    const CpuTarget &target,
                                    std::string *description) {
  std::optional<Depthwise> match = matchDepthwise(op);
  if (!match)
    return false;
  Depthwise &dw = *match;
  int64_t lanes = target.vectorBits / 32;
  int64_t nr = dw.cols > lanes ? 2 * lanes : lanes;
  int64_t rowsPerTile = std::min<int64_t>(4, dw.rows);
  TileFusion fusion = findTileFusion(op, dw.y, {4});
  // Y is [N, C, 1, OH, OW] (one channel per group), and the op after the
  // conv (MobileNet's ReLU6) reads its [N, C, OH, OW] view: the epilogue is
  // looked for there. Y itself is not stored when only that op reads it.
  TileFusion viewFusion;
  memref::CollapseShapeOp view = channelView(op, dw.y);
  if (!fusion.epilogue && view) {
    // The kernel, emitted where the conv is, reads the view: define it
    // first (it only needs Y's allocation).
    view->moveBefore(op);
    viewFusion = findTileFusion(op, view.getResult(), {3});
    viewFusion.storeY = true;
    auto alloc = dw.y.getDefiningOp<memref::AllocOp>();
    if (viewFusion.epilogue && viewFusion.epilogueOut != view.getResult() &&
        alloc) {
      viewFusion.storeY = false;
      for (Operation *user : dw.y.getUsers())
        viewFusion.storeY |= user != op && user != fusion.prologue &&
                             user != view;
      for (Operation *user : view->getUsers())
        viewFusion.storeY |= user != viewFusion.epilogue;
    }
  }

  OpBuilder b(op);
  Location loc = op.getLoc();
  DepthwiseEmitter e{dw, fusion, viewFusion, rowsPerTile, nr, loc,
                     VectorType::get({nr}, b.getF32Type())};
  int64_t blocks = (dw.rows + rowsPerTile - 1) / rowsPerTile;
  int64_t fullBlocks = dw.rows / rowsPerTile, lastRows = dw.rows % rowsPerTile;
  Value zero = e.cst(b, 0), one = e.cst(b, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{zero, zero, zero},
      ValueRange{e.cst(b, dw.batch), e.cst(b, dw.channels), e.cst(b, blocks)},
      ValueRange{one, one, one},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        Value n = ivs[0], g = ivs[1];
        Value row0 =
            arith::MulIOp::create(pb, loc, ivs[2], e.cst(pb, rowsPerTile));
        if (lastRows == 0)
          return e.rowBlock(pb, n, g, row0, rowsPerTile);
        Value isFull = arith::CmpIOp::create(
            pb, loc, arith::CmpIPredicate::slt, ivs[2], e.cst(pb, fullBlocks));
        emitIfElse(
            pb, loc, isFull,
            [&](OpBuilder &tb) { e.rowBlock(tb, n, g, row0, rowsPerTile); },
            [&](OpBuilder &tb) { e.rowBlock(tb, n, g, row0, lastRows); });
      });
  if (description)
    *description =
        (Twine("depthwise ") + Twine(dw.channels) + "x" + Twine(dw.kernelH) +
         "x" + Twine(dw.kernelW) + " stride " + Twine(dw.strideH) + " -> " +
         Twine(dw.batch) + "x" + Twine(dw.channels) + "x" + Twine(dw.rows) +
         "x" + Twine(dw.cols) + ", tile " + Twine(rowsPerTile) + " rows x " +
         Twine(nr) + describeFusion(fusion) + describeFusion(viewFusion))
            .str();
  eraseFused(fusion);
  eraseFused(viewFusion);
  op.erase();
  return true;
}
