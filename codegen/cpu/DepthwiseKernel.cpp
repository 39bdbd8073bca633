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
  /// What the kernel reads: X, or the source of X's zero-padded copy, whose
  /// element (row, col) is X's (row + padTop, col + padLeft). Outside its
  /// inRows x inCols the window reads zeros.
  Value x;
  int64_t padTop = 0, padLeft = 0, inRows = 0, inCols = 0;

  Value cst(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  /// `rows` output rows from `row0` read only input rows inside X.
  bool rowsInside(int64_t row0, int64_t rows) const {
    return row0 * dw.strideH - padTop >= 0 &&
           (row0 + rows - 1) * dw.strideH + (dw.kernelH - 1) * dw.dilationH -
                   padTop <
               inRows;
  }
  /// `valid` output columns from `col0` read only input columns inside X.
  bool columnsInside(int64_t col0, int64_t valid) const {
    return col0 * dw.strideW - padLeft >= 0 &&
           (col0 + valid - 1) * dw.strideW + (dw.kernelW - 1) * dw.dilationW -
                   padLeft <
               inCols;
  }

  /// Lanes [i0, i1) of a tile's input vector: the columns from `start`,
  /// strideW apart (one masked load, wide for stride 2); the other lanes,
  /// and all of them when `rowOk` (if given) is false, are 0.
  Value loadColumns(OpBuilder &b, Value n, Value g, Value row, Value start,
                    int64_t i0, int64_t i1, Value rowOk) {
    int64_t wide = dw.strideW * nr;
    int64_t len = (i1 - 1 - i0) * dw.strideW + 1;
    auto wideType = VectorType::get({wide}, b.getF32Type());
    auto maskType = VectorType::get({wide}, b.getI1Type());
    Value zero = arith::ConstantOp::create(
        b, loc, wideType, DenseElementsAttr::get(wideType, 0.0f));
    SmallVector<Value> idx = {n, g, row, start};
    Value loaded;
    if (len == wide && !rowOk) {
      loaded = vector::LoadOp::create(b, loc, wideType, x, idx);
    } else {
      Value mask = vector::ConstantMaskOp::create(b, loc, maskType,
                                                  ArrayRef<int64_t>{len});
      if (rowOk)
        mask = arith::SelectOp::create(
            b, loc, rowOk, mask,
            vector::ConstantMaskOp::create(b, loc, maskType,
                                           ArrayRef<int64_t>{0}));
      loaded =
          vector::MaskedLoadOp::create(b, loc, wideType, x, idx, mask, zero);
    }
    if (i0 == 0 && dw.strideW == 1)
      return loaded;
    // Lane `wide` is the zero operand's first.
    SmallVector<int64_t> picked(nr, wide);
    for (int64_t i = i0; i < i1; ++i)
      picked[i] = (i - i0) * dw.strideW;
    return vector::ShuffleOp::create(b, loc, loaded, zero, picked);
  }

  /// The input of tap (kh, kw) for output row `outRow`, columns [col, col
  /// + nr) of which `valid` are real; `staticCol` is col when known. Null
  /// when every lane reads padding. `checkRow`: the row may be padding.
  Value inputVector(OpBuilder &b, Value n, Value g, Value outRow, int64_t kh,
                    Value col, std::optional<int64_t> staticCol, int64_t kw,
                    int64_t valid, bool checkRow) {
    Value row = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, outRow, cst(b, dw.strideH)),
        cst(b, kh * dw.dilationH - padTop));
    Value rowOk;
    if (checkRow) {
      rowOk = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, row,
                                cst(b, 0)),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row,
                                cst(b, inRows)));
      row = arith::SelectOp::create(b, loc, rowOk, row, cst(b, 0));
    }
    int64_t tapCol = kw * dw.dilationW - padLeft;
    if (staticCol) {
      int64_t s0 = *staticCol * dw.strideW + tapCol;
      if (s0 >= 0 && s0 + (valid - 1) * dw.strideW < inCols && !rowOk)
        return loadStridedColumns(b, loc, x, {n, g, row, cst(b, s0)}, nr,
                                  dw.strideW, valid);
      // Lanes [i0, i1) fall inside the input.
      int64_t i0 = s0 < 0 ? (-s0 + dw.strideW - 1) / dw.strideW : 0;
      int64_t i1 =
          s0 >= inCols ? 0 : std::min(valid, (inCols - 1 - s0) / dw.strideW + 1);
      if (i1 <= i0)
        return {};
      return loadColumns(b, n, g, row, cst(b, s0 + i0 * dw.strideW), i0, i1,
                         rowOk);
    }
    Value start = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, col, cst(b, dw.strideW)),
        cst(b, tapCol));
    if (!rowOk)
      return loadStridedColumns(b, loc, x, {n, g, row, start}, nr, dw.strideW,
                                valid);
    return loadColumns(b, n, g, row, start, 0, valid, rowOk);
  }

  /// `rows` output rows from `row0` by nr columns from `col`; `valid`
  /// columns are real (the rest masked off).
  void tile(OpBuilder &b, Value n, Value g, Value row0, int64_t rows,
            Value col, std::optional<int64_t> staticCol, int64_t valid,
            bool checkRows, ArrayRef<Value> weights) {
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
        for (int64_t kw = 0; kw < dw.kernelW; ++kw) {
          Value xv = inputVector(b, n, g, outRows[r], kh, col, staticCol, kw,
                                 valid, checkRows);
          if (xv)
            acc[r] = vector::FMAOp::create(
                b, loc, weights[kh * dw.kernelW + kw], xv, acc[r]);
        }
      }
    }
    auto store = [&](Value value, Value base, ArrayRef<Value> idx) {
      storeVector(b, loc, value, base, idx, mask);
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

  /// Every column block of `rows` output rows of one channel: runs of full
  /// blocks inside the input in an scf.for, the others (at the padded
  /// edges, and the ragged last one) each emitted with its static column.
  void rowBlock(OpBuilder &b, Value n, Value g, Value row0, int64_t rows,
                bool checkRows) {
    // The channel's taps, broadcast once.
    SmallVector<Value> weights;
    for (int64_t kh = 0; kh < dw.kernelH; ++kh)
      for (int64_t kw = 0; kw < dw.kernelW; ++kw) {
        Value s = memref::LoadOp::create(
            b, loc, dw.w,
            ValueRange{g, cst(b, 0), cst(b, 0), cst(b, kh), cst(b, kw)});
        weights.push_back(vector::BroadcastOp::create(b, loc, vecType, s));
      }
    int64_t loopBegin = -1;
    auto flushLoop = [&](int64_t end) {
      if (loopBegin < 0)
        return;
      scf::ForOp::create(
          b, loc, cst(b, loopBegin), cst(b, end), cst(b, nr), ValueRange{},
          [&](OpBuilder &cb, Location, Value col, ValueRange) {
            tile(cb, n, g, row0, rows, col, std::nullopt, nr, checkRows,
                 weights);
            scf::YieldOp::create(cb, loc);
          });
      loopBegin = -1;
    };
    for (int64_t col0 = 0; col0 < dw.cols; col0 += nr) {
      int64_t valid = std::min(nr, dw.cols - col0);
      if (valid == nr && columnsInside(col0, valid)) {
        if (loopBegin < 0)
          loopBegin = col0;
        continue;
      }
      flushLoop(col0);
      tile(b, n, g, row0, rows, cst(b, col0), col0, valid, checkRows,
           weights);
    }
    flushLoop((dw.cols / nr) * nr);
  }

  /// Row block `block` (of rowsPerTile rows, the last one ragged), checking
  /// its input rows against X's only where they may be padding.
  void rowBlocks(OpBuilder &b, Value n, Value g, Value block) {
    int64_t fullBlocks = dw.rows / rowsPerTile, lastRows = dw.rows % rowsPerTile;
    Value row0 = arith::MulIOp::create(b, loc, block, cst(b, rowsPerTile));
    // The full blocks inside the input form one range [lo, hi).
    int64_t lo = 0, hi = fullBlocks;
    while (lo < hi && !rowsInside(lo * rowsPerTile, rowsPerTile))
      ++lo;
    while (hi > lo && !rowsInside((hi - 1) * rowsPerTile, rowsPerTile))
      --hi;
    // Full blocks checked as `checkFull`, the ragged last one as it needs.
    auto fullOrLast = [&](OpBuilder &tb, bool checkFull) {
      emitRaggedBlock(tb, loc, block, dw.rows, rowsPerTile,
                      [&](OpBuilder &rb, int64_t rows) {
                        bool check = rows == rowsPerTile
                                         ? checkFull
                                         : !rowsInside(fullBlocks * rowsPerTile,
                                                       rows);
                        rowBlock(rb, n, g, row0, rows, check);
                      });
    };
    // Nothing reads padding (an unpadded X): no block is checked.
    if (lo == 0 && hi == fullBlocks &&
        (lastRows == 0 || rowsInside(fullBlocks * rowsPerTile, lastRows)))
      return fullOrLast(b, false);
    if (lo == hi)
      return fullOrLast(b, true);
    Value inside = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, block,
                              cst(b, lo)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, block,
                              cst(b, hi)));
    // Outside [lo, hi): a padded full block or the ragged last one.
    emitIfElse(
        b, loc, inside,
        [&](OpBuilder &fb) { rowBlock(fb, n, g, row0, rowsPerTile, false); },
        [&](OpBuilder &ob) { fullOrLast(ob, true); });
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

  // A zero-padded copy of the input is read from its source, in bounds.
  // The kernel writes its outputs tile by tile while it reads the source,
  // so they must not share its buffer.
  std::optional<ZeroPaddedCopy> padding = matchZeroPaddedCopy(dw.x, op);
  if (padding) {
    Value sourceBase = baseBuffer(padding->source);
    bool writesSource =
        baseBuffer(dw.y) == sourceBase ||
        (fusion.epilogue && baseBuffer(fusion.epilogueOut) == sourceBase) ||
        (viewFusion.epilogue &&
         baseBuffer(viewFusion.epilogueOut) == sourceBase);
    if (writesSource || padding->offsets[0] != 0 ||
        padding->offsets[1] != 0 || dw.strideW > 2 ||
        !isIdentityF32(padding->source, 4))
      padding.reset();
  }

  OpBuilder b(op);
  Location loc = op.getLoc();
  DepthwiseEmitter e{dw, fusion, viewFusion, rowsPerTile, nr, loc,
                     VectorType::get({nr}, b.getF32Type())};
  e.x = padding ? padding->source : dw.x;
  if (padding) {
    e.padTop = padding->offsets[2];
    e.padLeft = padding->offsets[3];
  }
  ArrayRef<int64_t> inShape = cast<MemRefType>(e.x.getType()).getShape();
  e.inRows = inShape[2];
  e.inCols = inShape[3];
  int64_t blocks = (dw.rows + rowsPerTile - 1) / rowsPerTile;
  Value zero = e.cst(b, 0), one = e.cst(b, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{zero, zero, zero},
      ValueRange{e.cst(b, dw.batch), e.cst(b, dw.channels), e.cst(b, blocks)},
      ValueRange{one, one, one},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        e.rowBlocks(pb, ivs[0], ivs[1], ivs[2]);
      });
  if (description)
    *description =
        (Twine("depthwise ") + Twine(dw.channels) + "x" + Twine(dw.kernelH) +
         "x" + Twine(dw.kernelW) + " stride " + Twine(dw.strideH) + " -> " +
         Twine(dw.batch) + "x" + Twine(dw.channels) + "x" + Twine(dw.rows) +
         "x" + Twine(dw.cols) + ", tile " + Twine(rowsPerTile) + " rows x " +
         Twine(nr) + (padding ? ", padding read in place" : "") +
         describeFusion(fusion) + describeFusion(viewFusion))
            .str();
  eraseFused(fusion);
  eraseFused(viewFusion);
  op.erase();
  if (padding)
    eraseZeroPaddedCopy(*padding);
  return true;
}
