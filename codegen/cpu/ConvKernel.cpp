//===- ConvKernel.cpp - register-tiled NCHW convolution -------------------===//
//
// Part of kiln. A direct convolution (no im2col buffer) for f32 NCHW 2-D
// convolutions with constant weights:
//
//   parallel over (n, output-channel tiles of mr, output rows)
//     for column blocks of nr output pixels (one row)
//       mr x nr accumulators (vectors over output columns) in registers;
//       per (c, kh, kw): one input vector, mr weight broadcasts, mr FMAs
//
// Weights are packed at compile time into [F/mr][C][KH][KW][mr] so a tile's
// broadcasts are contiguous. Input vectors are contiguous loads for stride 1
// and one masked wide load + lane shuffle otherwise (loadStridedColumns).
// A 1x1 stride-1 convolution without padding is a matmul over pixels: its
// rows are flattened so the vectors span OH*OW.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ConvKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// (dilation) when `phase` and `col` are exactly (kw * d) mod s and
/// ow + (kw * d) floordiv s (MatMulConv.cpp's splitColumnPhases reads).
std::optional<int64_t> phasedColumnDilation(AffineExpr phase, AffineExpr col,
                                            unsigned ow, unsigned kw,
                                            int64_t s, MLIRContext *context) {
  AffineExpr dOw = getAffineDimExpr(ow, context),
             dKw = getAffineDimExpr(kw, context);
  for (int64_t d = 1; d <= 8; ++d)
    if (phase == (dKw * d) % s && col == dOw + (dKw * d).floorDiv(s))
      return d;
  return std::nullopt;
}

} // namespace

std::optional<Conv> mlir::kiln::matchConv(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 7 ||
      op.getNumReductionLoops() != 3 || !isMultiplyAccumulate(op))
    return std::nullopt;
  Conv cv;
  cv.x = op.getDpsInputOperand(0)->get();
  cv.w = op.getDpsInputOperand(1)->get();
  cv.y = op.getDpsInitOperand(0)->get();
  cv.phased = isIdentityF32(cv.x, 5);
  if (!(cv.phased || isIdentityF32(cv.x, 4)) || !isIdentityF32(cv.w, 4) ||
      !isIdentityF32(cv.y, 4) || !constantGlobalOf(cv.w))
    return std::nullopt;
  AffineMap xm = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  AffineMap wm = op.getMatchingIndexingMap(op.getDpsInputOperand(1));
  AffineMap ym = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!ym.isProjectedPermutation() || !wm.isProjectedPermutation() ||
      ym.getNumResults() != 4 || wm.getNumResults() != 4 ||
      xm.getNumResults() != (cv.phased ? 5 : 4))
    return std::nullopt;
  cv.n = *resultDim(ym, 0);
  cv.f = *resultDim(ym, 1);
  cv.oh = *resultDim(ym, 2);
  cv.ow = *resultDim(ym, 3);
  if (*resultDim(wm, 0) != cv.f)
    return std::nullopt;
  cv.c = *resultDim(wm, 1);
  cv.kh = *resultDim(wm, 2);
  cv.kw = *resultDim(wm, 3);
  if (resultDim(xm, 0) != std::optional<unsigned>(cv.n) ||
      resultDim(xm, 1) != std::optional<unsigned>(cv.c))
    return std::nullopt;
  auto rowCoeffs = stridedWindowCoefficients(xm.getResult(2), cv.oh, cv.kh, 7);
  if (!rowCoeffs)
    return std::nullopt;
  std::tie(cv.strideH, cv.dilationH) = *rowCoeffs;
  if (cv.phased) {
    cv.strideW = cast<MemRefType>(cv.x.getType()).getShape()[3];
    std::optional<int64_t> dilation =
        phasedColumnDilation(xm.getResult(3), xm.getResult(4), cv.ow, cv.kw,
                             cv.strideW, op.getContext());
    if (!dilation)
      return std::nullopt;
    cv.dilationW = *dilation;
  } else {
    auto colCoeffs =
        stridedWindowCoefficients(xm.getResult(3), cv.ow, cv.kw, 7);
    if (!colCoeffs)
      return std::nullopt;
    std::tie(cv.strideW, cv.dilationW) = *colCoeffs;
  }
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  cv.batch = r[cv.n];
  cv.channelsOut = r[cv.f];
  cv.rows = r[cv.oh];
  cv.cols = r[cv.ow];
  cv.channelsIn = r[cv.c];
  cv.kernelH = r[cv.kh];
  cv.kernelW = r[cv.kw];
  auto xShape = cast<MemRefType>(cv.x.getType()).getShape();
  cv.flattened = !cv.phased && cv.kernelH == 1 && cv.kernelW == 1 &&
                 cv.strideH == 1 &&
                 cv.strideW == 1 && xShape[2] == cv.rows &&
                 xShape[3] == cv.cols;
  return cv;
}

std::string mlir::kiln::describeConvShape(const Conv &cv) {
  return (Twine("conv2d ") + Twine(cv.channelsOut) + "x" +
          Twine(cv.channelsIn) + "x" + Twine(cv.kernelH) + "x" +
          Twine(cv.kernelW) + " stride " + Twine(cv.strideH) + " -> " +
          Twine(cv.batch) + "x" + Twine(cv.channelsOut) + "x" +
          Twine(cv.rows) + "x" + Twine(cv.cols))
      .str();
}

/// W[f][c][kh][kw] packed as [F/mr][C][KH][KW][mr], zero-padded; with
/// `pairs` as [F/mr][ceil(C/2)][KH][KW][mr] i32 words holding the bf16 of
/// channels 2c (low half) and 2c + 1 (high half).
static memref::GlobalOp packConvWeights(const Conv &cv, int64_t mr,
                                        bool pairs) {
  memref::GlobalOp global = constantGlobalOf(cv.w);
  std::optional<std::vector<float>> w = readF32Global(global);
  if (!w)
    return {};
  int64_t f = cv.channelsOut, c = cv.channelsIn, kh = cv.kernelH,
          kw = cv.kernelW, tiles = (f + mr - 1) / mr, taps = c * kh * kw;
  if (pairs) {
    int64_t c2 = (c + 1) / 2, window = kh * kw;
    std::vector<uint32_t> words(tiles * c2 * window * mr, 0);
    for (int64_t o = 0; o < f; ++o)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t t = 0; t < window; ++t)
          words[(((o / mr) * c2 + ci / 2) * window + t) * mr + o % mr] |=
              uint32_t(bf16Bits((*w)[(o * c + ci) * window + t]))
              << (16 * (ci % 2));
    return createConstantGlobal(
        global, (global.getSymName() + "_conv_pairs").str(),
        {tiles, c2, kh, kw, mr}, IntegerType::get(global.getContext(), 32),
        ArrayRef<char>(reinterpret_cast<const char *>(words.data()),
                       words.size() * 4));
  }
  std::vector<float> data(tiles * taps * mr, 0.0f);
  for (int64_t o = 0; o < f; ++o)
    for (int64_t t = 0; t < taps; ++t)
      data[((o / mr) * taps + t) * mr + o % mr] = (*w)[o * taps + t];
  return createConstantGlobal(global,
                              (global.getSymName() + "_conv_packed").str(),
                              {tiles, c, kh, kw, mr}, data);
}

Value mlir::kiln::packedConvWeights(OpBuilder &b, Location loc, const Conv &cv,
                                    int64_t tile,
                                    SmallVectorImpl<memref::GlobalOp> &sources,
                                    bool pairs) {
  memref::GlobalOp packed = packConvWeights(cv, tile, pairs);
  if (!packed)
    return {};
  sources.push_back(constantGlobalOf(cv.w));
  return memref::GetGlobalOp::create(b, loc, packed.getType(),
                                     packed.getSymName());
}

namespace {

struct ConvEmitter {
  const Conv &cv;
  int64_t mr, nr;
  Location loc;
  VectorType vecType, maskType;
  Value x, y, packed;
  const TileFusion *fusion = nullptr;
  Value z; // the epilogue's output (collapsed like y when flattened)
  int64_t validLanes = 0; // lanes the ragged column block computes

  Value cst(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  SmallVector<Value> yIndices(OpBuilder &b, Value n, Value f, Value row,
                              Value col) {
    if (cv.flattened)
      return {n, f, col};
    return {n, f, row, col};
  }

  /// The input vector for output columns [col, col + nr) at tap (kh, kw).
  Value inputVector(OpBuilder &b, Value n, Value c, Value row, Value kh,
                    int64_t kw, Value col, Value mask) {
    int64_t valid = mask ? validLanes : nr;
    if (cv.flattened)
      return loadStridedColumns(b, loc, x, {n, c, col}, nr, 1, valid);
    Value inRow = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, row, cst(b, cv.strideH)),
        arith::MulIOp::create(b, loc, kh, cst(b, cv.dilationH)));
    if (cv.phased) {
      int64_t tap = kw * cv.dilationW;
      Value inCol = arith::AddIOp::create(b, loc, col, cst(b, tap / cv.strideW));
      return loadStridedColumns(b, loc, x,
                                {n, c, inRow, cst(b, tap % cv.strideW), inCol},
                                nr, 1, valid);
    }
    Value inCol = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, col, cst(b, cv.strideW)),
        cst(b, kw * cv.dilationW));
    return loadStridedColumns(b, loc, x, {n, c, inRow, inCol}, nr,
                              cv.strideW, valid);
  }

  /// `rows` output channels from `fBase` by nr columns from `col`.
  void tile(OpBuilder &b, Value n, Value ft, Value fBase, int64_t rows,
            Value row, Value col, Value mask, Value zeroVec) {
    SmallVector<Value> fs;
    for (int64_t r = 0; r < rows; ++r)
      fs.push_back(r == 0 ? fBase
                          : arith::AddIOp::create(b, loc, fBase, cst(b, r)));
    SmallVector<Value> init;
    for (int64_t r = 0; r < rows; ++r) {
      SmallVector<Value> idx = yIndices(b, n, fs[r], row, col);
      if (fusion->prologue) {
        init.push_back(emitPrologue(b, loc, *fusion,
                                    fusionIndex(b, n, fs[r], row, col),
                                    vecType));
        continue;
      }
      init.push_back(mask ? vector::MaskedLoadOp::create(b, loc, vecType, y,
                                                         idx, mask, zeroVec)
                                .getResult()
                          : vector::LoadOp::create(b, loc, vecType, y, idx)
                                .getResult());
    }
    auto channels = scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, cv.channelsIn), cst(b, 1), init,
        [&](OpBuilder &cb, Location, Value c, ValueRange acc) {
          auto taps = scf::ForOp::create(
              cb, loc, cst(cb, 0), cst(cb, cv.kernelH), cst(cb, 1), acc,
              [&](OpBuilder &hb, Location, Value kh, ValueRange acc2) {
                SmallVector<Value> current(acc2.begin(), acc2.end());
                for (int64_t kw = 0; kw < cv.kernelW; ++kw) {
                  Value xv = inputVector(hb, n, c, row, kh, kw, col, mask);
                  for (int64_t r = 0; r < rows; ++r) {
                    Value w = memref::LoadOp::create(
                        hb, loc, packed,
                        ValueRange{ft, c, kh, cst(hb, kw), cst(hb, r)});
                    Value splat =
                        vector::BroadcastOp::create(hb, loc, vecType, w);
                    current[r] = vector::FMAOp::create(hb, loc, splat, xv,
                                                       current[r]);
                  }
                }
                scf::YieldOp::create(hb, loc, current);
              });
          scf::YieldOp::create(cb, loc, taps.getResults());
        });
    auto store = [&](Value value, Value base, ArrayRef<Value> idx) {
      storeVector(b, loc, value, base, idx, mask);
    };
    for (int64_t r = 0; r < rows; ++r) {
      SmallVector<Value> idx = yIndices(b, n, fs[r], row, col);
      Value acc = channels.getResult(r);
      if (fusion->storeY)
        store(acc, y, idx);
      if (fusion->epilogue)
        store(emitEpilogue(b, loc, *fusion,
                           fusionIndex(b, n, fs[r], row, col), acc, mask),
              z, idx);
    }
  }

  /// Y's 4-D index of a tile start, as the fused neighbours' loops see it
  /// (flattened: row 0 and the flat pixel as column).
  SmallVector<Value> fusionIndex(OpBuilder &b, Value n, Value f, Value row,
                                 Value col) {
    if (cv.flattened)
      return {n, f, cst(b, 0), col};
    return {n, f, row, col};
  }

  int64_t columns() const {
    return cv.flattened ? cv.rows * cv.cols : cv.cols;
  }

  /// The column block from `col` for one channel tile; `ragged` selects the
  /// masked last block.
  void block(OpBuilder &b, Value n, Value ft, int64_t rows, Value row,
             Value col, bool ragged, Value zeroVec) {
    Value mask;
    if (ragged)
      mask = vector::ConstantMaskOp::create(b, loc, maskType,
                                            ArrayRef<int64_t>{validLanes});
    Value fBase = arith::MulIOp::create(b, loc, ft, cst(b, mr));
    tile(b, n, ft, fBase, rows, row, col, mask, zeroVec);
  }

  /// Weights stay hot: every column block of one row for one channel tile.
  void allColumns(OpBuilder &b, Value n, Value ft, int64_t rows, Value row,
                  Value zeroVec) {
    int64_t full = (columns() / nr) * nr;
    if (full > 0)
      scf::ForOp::create(b, loc, cst(b, 0), cst(b, full), cst(b, nr),
                         ValueRange{},
                         [&](OpBuilder &cb, Location, Value col, ValueRange) {
                           block(cb, n, ft, rows, row, col, false, zeroVec);
                           scf::YieldOp::create(cb, loc);
                         });
    if (validLanes)
      block(b, n, ft, rows, row, cst(b, full), true, zeroVec);
  }

  /// Inputs stay hot: every channel tile for one column block.
  void allChannelTiles(OpBuilder &b, Value n, Value row, Value col,
                       bool ragged, Value zeroVec) {
    int64_t fullTiles = cv.channelsOut / mr, lastRows = cv.channelsOut % mr;
    scf::ForOp::create(b, loc, cst(b, 0), cst(b, fullTiles), cst(b, 1),
                       ValueRange{},
                       [&](OpBuilder &fb, Location, Value ft, ValueRange) {
                         block(fb, n, ft, mr, row, col, ragged, zeroVec);
                         scf::YieldOp::create(fb, loc);
                       });
    if (lastRows)
      block(b, n, cst(b, fullTiles), lastRows, row, col, ragged, zeroVec);
  }

};

} // namespace

bool mlir::kiln::lowerConv2D(linalg::GenericOp op, const CpuTarget &target,
                             const KernelChoiceOptions &choice,
                             SmallVectorImpl<memref::GlobalOp> &sources,
                             std::string *description) {
  std::optional<Conv> match = matchConv(op);
  if (!match)
    return false;
  Conv &cv = *match;
  ContractionShape shape;
  shape.batch = cv.batch * (cv.flattened ? 1 : cv.rows);
  shape.m = cv.channelsOut;
  shape.n = cv.flattened ? cv.rows * cv.cols : cv.cols;
  shape.k = cv.channelsIn * cv.kernelH * cv.kernelW;
  ContractionChoice chosen =
      chooseContraction(shape, KernelKind::Conv, target, choice);
  int64_t mr = std::min(chosen.config.mr, shape.m), nr = chosen.config.nr;
  // Column vectors waste the lanes past a row's (or a 1x1 map's) end, and
  // a KxK window re-reads each input column K times from unaligned
  // offsets. Measured on Zen 3 (bench/perf/conv_shapes.py): channel
  // vectors win on every 3x3 of ResNet-50 (28x28: 68 -> 99 GFLOP/s) and
  // on 1x1 maps of 14x14 and 7x7; column vectors keep 1x1 maps that fill
  // whole vectors (56x56, 28x28), where they need no transposition. Whole
  // vectors, not whole nr-column blocks: 784 pixels are 49 vectors but not
  // a multiple of 32 or 64, and the transposition cost the 28x28 1x1s of
  // ResNet-50 more than one masked last block (Zen 5, 512x128: 251 -> 267
  // GFLOP/s, 128x256: 251 -> 266).
  // A forced config (kiln-costmodel collect) describes this kernel's
  // tile (KernelKind::Conv: m = filters, n = columns): measure this one.
  bool columnsFit = cv.flattened && shape.n % (target.vectorBits / 32) == 0;
  // bf16 pairs exist only in the channel-vector kernel.
  bool pairs = choice.bf16 && target.vectorBits >= 512;
  if (!choice.forced && !cv.phased && (!columnsFit || pairs) &&
      lowerConvChannelVectors(op, cv, target, pairs, sources, description))
    return true;
  OpBuilder b(op);
  Location loc = op.getLoc();
  ConvEmitter e{cv, mr, nr, loc, VectorType::get({nr}, b.getF32Type()),
                VectorType::get({nr}, b.getI1Type()), cv.x, cv.y, Value()};
  e.packed = packedConvWeights(b, loc, cv, mr, sources);
  if (!e.packed)
    return false;
  TileFusion fusion = findTileFusion(
      op, cv.y,
      cv.flattened ? ArrayRef<unsigned>{2, 3} : ArrayRef<unsigned>{3});
  e.fusion = &fusion;
  e.z = fusion.epilogueOut;
  if (cv.flattened) {
    SmallVector<ReassociationIndices> pixels = {{0}, {1}, {2, 3}};
    e.x = memref::CollapseShapeOp::create(b, loc, cv.x, pixels);
    e.y = memref::CollapseShapeOp::create(b, loc, cv.y, pixels);
    if (e.z)
      e.z = memref::CollapseShapeOp::create(b, loc, e.z, pixels);
  }
  int64_t tiles = (cv.channelsOut + mr - 1) / mr;
  int64_t fullTiles = cv.channelsOut / mr, lastRows = cv.channelsOut % mr;
  int64_t rows = cv.flattened ? 1 : cv.rows;
  int64_t blocks = (e.columns() + nr - 1) / nr, fullBlocks = e.columns() / nr;
  e.validLanes = e.columns() % nr;
  // Keep the larger operand in cache across the inner loop: the weights of
  // a channel tile (deep layers) or the input rows of a column block
  // (early layers).
  auto xShape = cast<MemRefType>(cv.x.getType()).getShape();
  int64_t weightBytes =
      cv.channelsOut * cv.channelsIn * cv.kernelH * cv.kernelW * 4;
  int64_t inputBytes = cv.channelsIn * 4;
  for (int64_t d : xShape.drop_front(2))
    inputBytes *= d;
  bool weightsOuter = weightBytes > inputBytes;
  Value zero = e.cst(b, 0), one = e.cst(b, 1);
  int64_t outer = weightsOuter ? tiles : blocks;
  scf::ParallelOp::create(
      b, loc, ValueRange{zero, zero, zero},
      ValueRange{e.cst(b, cv.batch), e.cst(b, outer), e.cst(b, rows)},
      ValueRange{one, one, one},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        Value zeroVec = arith::ConstantOp::create(
            pb, loc, e.vecType, DenseElementsAttr::get(e.vecType, 0.0f));
        Value n = ivs[0], row = ivs[2];
        if (weightsOuter) {
          Value ft = ivs[1];
          if (lastRows == 0)
            return e.allColumns(pb, n, ft, mr, row, zeroVec);
          Value isFull = arith::CmpIOp::create(
              pb, loc, arith::CmpIPredicate::slt, ft, e.cst(pb, fullTiles));
          emitIfElse(
              pb, loc, isFull,
              [&](OpBuilder &tb) { e.allColumns(tb, n, ft, mr, row, zeroVec); },
              [&](OpBuilder &tb) {
                e.allColumns(tb, n, ft, lastRows, row, zeroVec);
              });
          return;
        }
        Value col = arith::MulIOp::create(pb, loc, ivs[1], e.cst(pb, nr));
        if (e.validLanes == 0)
          return e.allChannelTiles(pb, n, row, col, false, zeroVec);
        Value isFull = arith::CmpIOp::create(
            pb, loc, arith::CmpIPredicate::slt, ivs[1], e.cst(pb, fullBlocks));
        emitIfElse(
            pb, loc, isFull,
            [&](OpBuilder &tb) {
              e.allChannelTiles(tb, n, row, col, false, zeroVec);
            },
            [&](OpBuilder &tb) {
              e.allChannelTiles(tb, n, row, col, true, zeroVec);
            });
      });
  if (description)
    *description =
        (describeConvShape(cv) + ", tile " + Twine(mr) + "x" + Twine(nr) +
         (cv.flattened ? ", pixels flattened" : "") +
         (cv.phased ? ", column phases" : "") +
         (weightsOuter ? ", weights outer" : ", input outer") +
         describeFusion(fusion) +
         (chosen.summary.empty() || chosen.summary == "forced"
              ? ""
              : " [" + chosen.summary + "]"))
            .str();
  eraseLowered(op, fusion);
  return true;
}
