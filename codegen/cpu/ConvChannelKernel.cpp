//===- ConvChannelKernel.cpp - NCHW convolution, vectors over channels ----===//
//
// Part of kiln. An f32 NCHW 2-D convolution as an implicit GEMM with the
// output channels as the vector dim:
//
//   parallel over (n, channel tiles of nr, pixel tiles of mr)
//     mr x nr accumulators: one vector of nr channels per output pixel;
//     per (c, kh, kw): one weight vector, mr input broadcasts, mr FMAs
//
// The mr pixels of a tile are consecutive in the flattened output (OH*OW),
// so a tile may span output rows: no lanes are wasted on a row's ragged
// end, which the column-vector kernel (ConvKernel.cpp) pays on maps like
// 28x28, 14x14 and 7x7. Each pixel's input window starts at its own
// offset, and every tap adds the same offset to all of them.
//
// After the K loop the tile is transposed in registers (L x L blocks, L the
// vector lanes) so that each channel's mr pixels are stored contiguously in
// NCHW; the fused epilogue runs on those per-channel vectors, flattened over
// OH*OW like the 1x1 path of the other kernel.
//
// With bf16 pairs (kiln compile --precision=bf16) the K loop runs over
// pairs of input channels: X is first converted into [N][C/2][H*W] words of
// two bf16 (channels 2c and 2c + 1), the weights are packed the same way,
// and per pair and tap each pixel's word is broadcast into one vdpbf16ps
// per 16 output channels.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ConvKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct ChannelConvEmitter {
  const Conv &cv;
  int64_t mr, nr, lanes;
  Location loc;
  Value x, y, z, packed; // x [N][C*H*W], y and z [N][F][OH*OW]
  const TileFusion *fusion = nullptr;
  Value xPairs; // bf16 pairs: x as [N][ceil(C/2)*H*W] words, else null

  Value cst(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  VectorType vec(OpBuilder &b, int64_t n) {
    return VectorType::get({n}, b.getF32Type());
  }

  Value zeros(OpBuilder &b, int64_t n) {
    return arith::ConstantOp::create(b, loc, vec(b, n),
                                     DenseElementsAttr::get(vec(b, n), 0.0f));
  }

  /// Transposes the L x L block whose rows are `rows` (L vectors of L
  /// lanes): each step swaps the off-diagonal s x s blocks of row pairs
  /// (i, i + s), one two-input shuffle per row.
  SmallVector<Value> transposeBlock(OpBuilder &b, SmallVector<Value> rows) {
    int64_t l = lanes;
    for (int64_t s = l / 2; s >= 1; s /= 2) {
      SmallVector<int64_t> low(l), high(l);
      for (int64_t k = 0; k < l; ++k) {
        bool upper = k & s;
        low[k] = upper ? l + k - s : k;
        high[k] = upper ? l + k : k + s;
      }
      for (int64_t i = 0; i < l; ++i) {
        if (i & s)
          continue;
        Value a = rows[i], c = rows[i + s];
        rows[i] = vector::ShuffleOp::create(b, loc, a, c, low);
        rows[i + s] = vector::ShuffleOp::create(b, loc, a, c, high);
      }
    }
    return rows;
  }

  /// `count` vectors of `from` lanes -> `from` vectors of `count` lanes:
  /// out[j][r] = in[r][j]. Works in L x L blocks (count <= L, from a
  /// multiple of L); lanes past `count` are zeros in, dropped out.
  SmallVector<Value> transpose(OpBuilder &b, ArrayRef<Value> in,
                               int64_t count, int64_t from) {
    Value zero = zeros(b, lanes);
    SmallVector<Value> out;
    for (int64_t block = 0; block < from / lanes; ++block) {
      SmallVector<Value> rows;
      for (int64_t r = 0; r < lanes; ++r) {
        if (r >= count) {
          rows.push_back(zero);
        } else if (from == lanes) {
          rows.push_back(in[r]);
        } else {
          rows.push_back(vector::ExtractStridedSliceOp::create(
              b, loc, in[r], ArrayRef<int64_t>{block * lanes},
              ArrayRef<int64_t>{lanes}, ArrayRef<int64_t>{1}));
        }
      }
      for (Value t : transposeBlock(b, rows))
        out.push_back(count == lanes
                          ? t
                          : vector::ExtractStridedSliceOp::create(
                                b, loc, t, ArrayRef<int64_t>{0},
                                ArrayRef<int64_t>{count},
                                ArrayRef<int64_t>{1}));
    }
    return out;
  }

  /// The inverse: `nr` per-channel vectors of `rows` pixels -> `rows`
  /// per-pixel vectors of nr channels.
  SmallVector<Value> pixelsOf(OpBuilder &b, ArrayRef<Value> channels,
                              int64_t rows) {
    Value zero = zeros(b, lanes);
    SmallVector<Value> perPixel(rows);
    for (int64_t block = 0; block < nr / lanes; ++block) {
      SmallVector<Value> blockRows;
      for (int64_t i = 0; i < lanes; ++i) {
        Value v = channels[block * lanes + i];
        if (rows < lanes)
          v = vector::InsertStridedSliceOp::create(b, loc, v, zero,
                                                   ArrayRef<int64_t>{0},
                                                   ArrayRef<int64_t>{1});
        blockRows.push_back(v);
      }
      SmallVector<Value> t = transposeBlock(b, blockRows);
      for (int64_t r = 0; r < rows; ++r) {
        if (nr == lanes) {
          perPixel[r] = t[r];
          continue;
        }
        Value base = block == 0 ? zeros(b, nr) : perPixel[r];
        perPixel[r] = vector::InsertStridedSliceOp::create(
            b, loc, t[r], base, ArrayRef<int64_t>{block * lanes},
            ArrayRef<int64_t>{1});
      }
    }
    return perPixel;
  }

  /// X as bf16 pairs of channels: [N][ceil(C/2) * plane] i32 words,
  /// channel 2c in the low half and 2c + 1 (zero past C) in the high half,
  /// 16 pixels per vcvtne2ps2bf16.
  Value pairInput(OpBuilder &b, int64_t plane) {
    int64_t channels = cv.channelsIn, pairsIn = (channels + 1) / 2;
    auto i32 = b.getI32Type();
    Value buffer = memref::AllocOp::create(
        b, loc, MemRefType::get({cv.batch, pairsIn * plane}, i32),
        b.getI64IntegerAttr(64));
    auto maskType = VectorType::get({16}, b.getI1Type());
    auto i16v = VectorType::get({32}, b.getI16Type());
    auto i32v = VectorType::get({16}, i32);
    SmallVector<int64_t> interleave;
    for (int64_t i = 0; i < 16; ++i)
      interleave.append({i, i + 16});
    scf::ParallelOp::create(
        b, loc, ValueRange{cst(b, 0), cst(b, 0)},
        ValueRange{cst(b, cv.batch), cst(b, pairsIn)},
        ValueRange{cst(b, 1), cst(b, 1)},
        [&](OpBuilder &pb, Location, ValueRange ivs) {
          Value n = ivs[0], pair = ivs[1];
          Value low = arith::MulIOp::create(pb, loc, pair, cst(pb, 2));
          Value high = arith::AddIOp::create(pb, loc, low, cst(pb, 1));
          Value hasHigh = arith::CmpIOp::create(
              pb, loc, arith::CmpIPredicate::slt, high, cst(pb, channels));
          // Past C the high channel is read nowhere (an empty mask) from a
          // valid row.
          Value highRow = arith::SelectOp::create(pb, loc, hasHigh, high, low);
          Value zero = zeros(pb, 16);
          scf::ForOp::create(
              pb, loc, cst(pb, 0), cst(pb, plane), cst(pb, 16), ValueRange{},
              [&](OpBuilder &sb, Location, Value s0, ValueRange) {
                Value left = arith::MinSIOp::create(
                    sb, loc, cst(sb, 16),
                    arith::SubIOp::create(sb, loc, cst(sb, plane), s0));
                Value mask = vector::CreateMaskOp::create(
                    sb, loc, maskType, ArrayRef<OpFoldResult>{left});
                Value highMask = vector::CreateMaskOp::create(
                    sb, loc, maskType,
                    ArrayRef<OpFoldResult>{
                        arith::SelectOp::create(sb, loc, hasHigh, left,
                                                cst(sb, 0))
                            .getResult()});
                auto read = [&](Value row, Value m) {
                  Value at = arith::AddIOp::create(
                      sb, loc, arith::MulIOp::create(sb, loc, row,
                                                     cst(sb, plane)),
                      s0);
                  return vector::MaskedLoadOp::create(sb, loc, vec(sb, 16), x,
                                                      ValueRange{n, at}, m,
                                                      zero)
                      .getResult();
                };
                Value halves = vector::BitCastOp::create(
                    sb, loc, i16v,
                    emitBf16Convert(sb, loc, read(low, mask),
                                    read(highRow, highMask)));
                Value words = vector::BitCastOp::create(
                    sb, loc, i32v,
                    vector::ShuffleOp::create(sb, loc, halves, halves,
                                              interleave));
                Value at = arith::AddIOp::create(
                    sb, loc,
                    arith::MulIOp::create(sb, loc, pair, cst(sb, plane)), s0);
                vector::MaskedStoreOp::create(sb, loc, buffer,
                                              ValueRange{n, at}, mask, words);
                scf::YieldOp::create(sb, loc);
              });
        });
    return buffer;
  }

  /// The K loop of both kernels: for each step in [begin, end) (an input
  /// channel, or a pair of them in xPairs) and each tap (kh, kw), `tap`
  /// updates the accumulators, given the step, kh, kw and the tap's offset
  /// from a pixel's window origin in the flattened [C*H*W] plane.
  using TapFn = llvm::function_ref<void(OpBuilder &, Value step, Value kh,
                                        int64_t kw, Value offset,
                                        SmallVectorImpl<Value> &acc)>;
  SmallVector<Value> kLoop(OpBuilder &b, Value begin, Value end,
                           ValueRange init, int64_t plane, int64_t width,
                           TapFn tap) {
    auto loop = scf::ForOp::create(
        b, loc, begin, end, cst(b, 1), init,
        [&](OpBuilder &cb, Location, Value step, ValueRange acc) {
          Value stepOffset = arith::MulIOp::create(cb, loc, step,
                                                   cst(cb, plane));
          auto taps = scf::ForOp::create(
              cb, loc, cst(cb, 0), cst(cb, cv.kernelH), cst(cb, 1), acc,
              [&](OpBuilder &hb, Location, Value kh, ValueRange inRow) {
                SmallVector<Value> current(inRow.begin(), inRow.end());
                Value rowOffset = arith::AddIOp::create(
                    hb, loc, stepOffset,
                    arith::MulIOp::create(hb, loc, kh,
                                          cst(hb, cv.dilationH * width)));
                for (int64_t kw = 0; kw < cv.kernelW; ++kw)
                  tap(hb, step, kh, kw,
                      arith::AddIOp::create(hb, loc, rowOffset,
                                            cst(hb, kw * cv.dilationW)),
                      current);
                scf::YieldOp::create(hb, loc, current);
              });
          scf::YieldOp::create(cb, loc, taps.getResults());
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// Prefetches the `bytes` of packed weights of tap (kh, kw) some K steps
  /// (input channels or pairs) after `step`; a step reads all taps.
  void prefetchWeights(OpBuilder &b, Value ft, Value step, Value kh,
                       int64_t kw, int64_t bytes) {
    prefetchAhead(b, loc, packed, {ft, step, kh, cst(b, kw), cst(b, 0)}, 1,
                  cv.kernelH * cv.kernelW * bytes, bytes);
  }

  /// The f32 K loop over input channels [cBegin, cEnd): per tap one weight
  /// vector, one broadcast and one FMA per pixel at `origins`.
  SmallVector<Value> floatChannels(OpBuilder &b, Value n, Value ft,
                                   ArrayRef<Value> origins, Value cBegin,
                                   Value cEnd, ValueRange init,
                                   int64_t plane, int64_t width) {
    VectorType wType = vec(b, nr);
    return kLoop(b, cBegin, cEnd, init, plane, width,
                 [&](OpBuilder &hb, Value c, Value kh, int64_t kw,
                     Value offset, SmallVectorImpl<Value> &acc) {
                   Value w = vector::LoadOp::create(
                       hb, loc, wType, packed,
                       ValueRange{ft, c, kh, cst(hb, kw), cst(hb, 0)});
                   prefetchWeights(hb, ft, c, kh, kw, nr * 4);
                   for (auto [r, origin] : llvm::enumerate(origins)) {
                     Value at = arith::AddIOp::create(hb, loc, origin, offset);
                     Value a = memref::LoadOp::create(hb, loc, x,
                                                      ValueRange{n, at});
                     Value splat =
                         vector::BroadcastOp::create(hb, loc, wType, a);
                     acc[r] = vector::FMAOp::create(hb, loc, splat, w, acc[r]);
                   }
                 });
  }

  /// The bf16 K loop over the pairs of input channels [cBegin, cEnd)
  /// (cBegin even): accumulators split into 16-lane vectors, per tap nr/16
  /// weight vectors and one vdpbf16ps per pixel and vector.
  SmallVector<Value> pairChannels(OpBuilder &b, Value n, Value ft,
                                  ArrayRef<Value> origins, Value cBegin,
                                  Value cEnd, ValueRange init,
                                  int64_t plane, int64_t width) {
    int64_t vectors = nr / 16;
    auto i32v = VectorType::get({16}, b.getI32Type());
    auto bf16v = VectorType::get({32}, b.getBF16Type());
    Value first = arith::DivUIOp::create(b, loc, cBegin, cst(b, 2));
    Value end = arith::DivUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, cEnd, cst(b, 1)), cst(b, 2));
    SmallVector<Value> sums = kLoop(
        b, first, end, splitSlices(b, loc, init), plane, width,
        [&](OpBuilder &hb, Value pair, Value kh, int64_t kw, Value offset,
            SmallVectorImpl<Value> &acc) {
          SmallVector<Value> w;
          for (int64_t v = 0; v < vectors; ++v)
            w.push_back(vector::BitCastOp::create(
                hb, loc, bf16v,
                vector::LoadOp::create(hb, loc, i32v, packed,
                                       ValueRange{ft, pair, kh, cst(hb, kw),
                                                  cst(hb, 16 * v)})));
          prefetchWeights(hb, ft, pair, kh, kw, nr * 4);
          for (auto [r, origin] : llvm::enumerate(origins)) {
            Value at = arith::AddIOp::create(hb, loc, origin, offset);
            Value both = broadcastBf16Pair(
                hb, loc,
                memref::LoadOp::create(hb, loc, xPairs, ValueRange{n, at}));
            for (int64_t v = 0; v < vectors; ++v)
              acc[r * vectors + v] =
                  emitBf16Dot(hb, loc, acc[r * vectors + v], both, w[v]);
          }
        });
    return joinSlices(b, loc, sums, init);
  }

  /// The accumulators' start: the fused fill (one value per channel, the
  /// same for every pixel) or Y's current values.
  SmallVector<Value> initial(OpBuilder &b, Value n, Value f0, Value p0,
                             int64_t rows, int64_t channels) {
    Value zero = arith::ConstantOp::create(
        b, loc, b.getF32Type(), b.getF32FloatAttr(0.0f));
    if (fusion->prologue) {
      SmallVector<Value> values;
      for (int64_t j = 0; j < nr; ++j) {
        if (j >= channels) {
          values.push_back(zero);
          continue;
        }
        Value f = arith::AddIOp::create(b, loc, f0, cst(b, j));
        Value one = emitPrologue(b, loc, *fusion, {n, f, cst(b, 0), p0},
                                 vec(b, 1));
        values.push_back(
            vector::ExtractOp::create(b, loc, one, ArrayRef<int64_t>{0}));
      }
      Value start = vector::FromElementsOp::create(b, loc, vec(b, nr), values);
      return SmallVector<Value>(rows, start);
    }
    SmallVector<Value> perChannel;
    Value none = zeros(b, rows);
    for (int64_t j = 0; j < nr; ++j) {
      if (j >= channels) {
        perChannel.push_back(none);
        continue;
      }
      Value f = arith::AddIOp::create(b, loc, f0, cst(b, j));
      perChannel.push_back(vector::LoadOp::create(b, loc, vec(b, rows), y,
                                                  ValueRange{n, f, p0}));
    }
    return pixelsOf(b, perChannel, rows);
  }

  /// Where a tile's K range sits among the K blocks: the first block
  /// starts from the fill (or Y), the last one finishes into Y; the others
  /// keep partial sums in `scratch[slot]` ([tiles][mr][nr] on the stack).
  struct Block {
    Value cBegin, cEnd; // input channels of this block
    Value scratch, slot; // null when K is not blocked
  };

  /// The transposed tile stored into Y (through the fused epilogue).
  void finish(OpBuilder &b, Value n, Value f0, int64_t channels, Value p0,
              int64_t rows, ArrayRef<Value> acc) {
    SmallVector<Value> perChannel = transpose(b, acc, rows, nr);
    for (int64_t j = 0; j < channels; ++j) {
      Value f = arith::AddIOp::create(b, loc, f0, cst(b, j));
      if (fusion->storeY)
        vector::StoreOp::create(b, loc, perChannel[j], y,
                                ValueRange{n, f, p0});
      if (fusion->epilogue)
        vector::StoreOp::create(
            b, loc,
            emitEpilogue(b, loc, *fusion, {n, f, cst(b, 0), p0},
                         perChannel[j], Value()),
            z, ValueRange{n, f, p0});
    }
  }

  /// `rows` pixels from `p0` by the first `channels` of channel tile `ft`,
  /// over the input channels of `block`.
  void tile(OpBuilder &b, Value n, Value ft, int64_t channels, Value p0,
            int64_t rows, const Block &block) {
    Value f0 = arith::MulIOp::create(b, loc, ft, cst(b, nr));
    // Each pixel's window origin in X's flattened (C*H*W) plane.
    int64_t width = cast<MemRefType>(cv.x.getType()).getShape()[3];
    int64_t plane = cast<MemRefType>(cv.x.getType()).getShape()[2] * width;
    SmallVector<Value> origins;
    for (int64_t r = 0; r < rows; ++r) {
      Value p = r == 0 ? p0 : arith::AddIOp::create(b, loc, p0, cst(b, r));
      Value oh = arith::DivUIOp::create(b, loc, p, cst(b, cv.cols));
      Value ow = arith::RemUIOp::create(b, loc, p, cst(b, cv.cols));
      origins.push_back(arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, oh, cst(b, cv.strideH * width)),
          arith::MulIOp::create(b, loc, ow, cst(b, cv.strideW))));
    }
    VectorType wType = vec(b, nr);
    auto partial = [&](OpBuilder &ob) {
      SmallVector<Value> values;
      for (int64_t r = 0; r < rows; ++r)
        values.push_back(vector::LoadOp::create(
            ob, loc, wType, block.scratch,
            ValueRange{block.slot, cst(ob, r), cst(ob, 0)}));
      return values;
    };
    SmallVector<Value> init;
    if (!block.scratch) {
      init = initial(b, n, f0, p0, rows, channels);
    } else {
      Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          block.cBegin, cst(b, 0));
      init = emitSelect(
          b, loc, first, SmallVector<Type>(rows, wType),
          [&](OpBuilder &ob) { return initial(ob, n, f0, p0, rows, channels); },
          partial);
    }
    SmallVector<Value> acc =
        xPairs ? pairChannels(b, n, ft, origins, block.cBegin, block.cEnd,
                              init, plane, width)
               : floatChannels(b, n, ft, origins, block.cBegin, block.cEnd,
                               init, plane, width);
    if (!block.scratch)
      return finish(b, n, f0, channels, p0, rows, acc);
    Value last = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       block.cEnd, cst(b, cv.channelsIn));
    emitIfElse(
        b, loc, last,
        [&](OpBuilder &tb) { finish(tb, n, f0, channels, p0, rows, acc); },
        [&](OpBuilder &tb) {
          for (int64_t r = 0; r < rows; ++r)
            vector::StoreOp::create(
                tb, loc, acc[r], block.scratch,
                ValueRange{block.slot, cst(tb, r), cst(tb, 0)});
        });
  }
};

/// The pixel-tile height (at most `maxRows`) that runs `pixels` in the
/// fewest cycles per tap: a tile of r rows issues r * vectors FMAs, two per
/// cycle, but takes at least the FMA latency (4 cycles) when fewer than 8
/// are in flight. 49 pixels (7x7) as 9 x 5 + 4 beat 8 x 6 + a 1-pixel
/// tile that costs 4 cycles for 2 FMAs. Ties keep the taller tile (fewer
/// tiles to transpose).
int64_t fewestTileCycles(int64_t pixels, int64_t maxRows, int64_t vectors) {
  auto cycles = [&](int64_t rows) {
    return std::max<int64_t>((rows * vectors + 1) / 2, 4);
  };
  int64_t top = std::min(maxRows, pixels), best = top;
  int64_t bestCycles = std::numeric_limits<int64_t>::max();
  for (int64_t r = top; r >= std::max<int64_t>(1, top - 2); --r) {
    int64_t total =
        (pixels / r) * cycles(r) + (pixels % r ? cycles(pixels % r) : 0);
    if (total < bestCycles) {
      bestCycles = total;
      best = r;
    }
  }
  return best;
}

} // namespace

bool mlir::kiln::lowerConvChannelVectors(
    linalg::GenericOp op, const Conv &cv, const CpuTarget &target,
    bool pairs, SmallVectorImpl<memref::GlobalOp> &sources,
    std::string *description) {
  if (cv.phased)
    return false;
  int64_t lanes = std::max<int64_t>(1, target.vectorBits / 32);
  int64_t pixels = cv.rows * cv.cols;
  ContractionShape shape;
  shape.batch = cv.batch;
  shape.m = pixels;
  shape.n = cv.channelsOut;
  shape.k = cv.channelsIn * cv.kernelH * cv.kernelW;
  // The tile is a GEMM register tile over (pixels, channels), from the
  // hand-written choice: the cost model's data describe the column kernel
  // (KernelKind::Conv), so it does not rank this one.
  ContractionConfig config =
      chooseContractionConfig(shape, target, /*blocksK=*/false);
  int64_t nr = config.nr;
  if (nr % lanes != 0 || lanes < 2)
    return false;
  int64_t mr = fewestTileCycles(pixels, std::min(config.mr, lanes),
                                nr / lanes);
  OpBuilder b(op);
  Location loc = op.getLoc();
  ChannelConvEmitter e{cv, mr, nr, lanes, loc};
  pairs = pairs && lanes == 16 && nr % 16 == 0;
  e.packed = packedConvWeights(b, loc, cv, nr, sources, pairs);
  if (!e.packed)
    return false;
  TileFusion fusion = findTileFusion(op, cv.y, ArrayRef<unsigned>{2, 3});
  e.fusion = &fusion;
  SmallVector<ReassociationIndices> planes = {{0}, {1, 2, 3}};
  SmallVector<ReassociationIndices> maps = {{0}, {1}, {2, 3}};
  e.x = memref::CollapseShapeOp::create(b, loc, cv.x, planes);
  if (pairs) {
    ArrayRef<int64_t> xShape = cast<MemRefType>(cv.x.getType()).getShape();
    e.xPairs = e.pairInput(b, xShape[2] * xShape[3]);
  }
  e.y = memref::CollapseShapeOp::create(b, loc, cv.y, maps);
  if (fusion.epilogueOut)
    e.z = memref::CollapseShapeOp::create(b, loc, fusion.epilogueOut, maps);

  int64_t channelTiles = (cv.channelsOut + nr - 1) / nr;
  int64_t fullChannelTiles = cv.channelsOut / nr;
  int64_t lastChannels = cv.channelsOut % nr;
  int64_t pixelTiles = (pixels + mr - 1) / mr, fullPixelTiles = pixels / mr;
  int64_t lastRows = pixels % mr;
  // K blocks of whole input channels for 1x1 convs over more than 256
  // (a 16 KiB panel), about 128 each, split evenly: a block's weights and
  // the input lines its pixel tiles read stay in L1 while a group of pixel
  // tiles goes by, their partial sums parked on the stack. Measured on
  // Zen 3, 1x1 2048 -> 512 channels at 7x7: 63 GFLOP/s unblocked, 88 with
  // 128-channel blocks (64: 87, 256: 72). KxK windows measured no gain.
  int64_t blockChannels = cv.channelsIn;
  if (cv.kernelH * cv.kernelW == 1 && cv.channelsIn > 256) {
    int64_t blocks = (cv.channelsIn + 127) / 128;
    blockChannels = (cv.channelsIn + blocks - 1) / blocks;
    // Pairs of channels never straddle two blocks.
    blockChannels += pairs && blockChannels % 2;
  }
  bool blocked = blockChannels < cv.channelsIn;
  // A group's partial sums take at most 16 KiB.
  int64_t group = blocked ? std::clamp<int64_t>((16 << 10) / (mr * nr * 4),
                                                1, pixelTiles)
                          : 1;
  // Fewer channel tiles than 8 (e.g. MobileNetV2's 960 -> 160 at 7x7: 5)
  // would leave 2 threads 3 items against 2: split the pixel tiles in two
  // groups so that the items share evenly.
  if (blocked && cv.batch * channelTiles < 8 && pixelTiles > 1)
    group = std::min(group, (pixelTiles + 1) / 2);
  int64_t groups = (pixelTiles + group - 1) / group;
  Value zero = e.cst(b, 0), one = e.cst(b, 1);
  // Consecutive items of one thread share a channel tile: its weights
  // stay in cache while the pixel tiles go by.
  scf::ParallelOp::create(
      b, loc, ValueRange{zero, zero, zero},
      ValueRange{e.cst(b, cv.batch), e.cst(b, channelTiles),
                 e.cst(b, groups)},
      ValueRange{one, one, one},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        Value n = ivs[0], ft = ivs[1];
        Value firstTile =
            arith::MulIOp::create(pb, loc, ivs[2], e.cst(pb, group));
        Value endTile = arith::MinSIOp::create(
            pb, loc, arith::AddIOp::create(pb, loc, firstTile,
                                           e.cst(pb, group)),
            e.cst(pb, pixelTiles));
        // Every pixel tile of the group over one K block.
        auto blockOf = [&](OpBuilder &ob, int64_t channels,
                           ChannelConvEmitter::Block block) {
          scf::ForOp::create(
              ob, loc, firstTile, endTile, e.cst(ob, 1), ValueRange{},
              [&](OpBuilder &tb, Location, Value pt, ValueRange) {
                block.slot = arith::SubIOp::create(tb, loc, pt, firstTile);
                Value p0 = arith::MulIOp::create(tb, loc, pt, e.cst(tb, mr));
                if (lastRows == 0) {
                  e.tile(tb, n, ft, channels, p0, mr, block);
                } else {
                  Value full = arith::CmpIOp::create(
                      tb, loc, arith::CmpIPredicate::slt, pt,
                      e.cst(tb, fullPixelTiles));
                  emitIfElse(
                      tb, loc, full,
                      [&](OpBuilder &ib) {
                        e.tile(ib, n, ft, channels, p0, mr, block);
                      },
                      [&](OpBuilder &ib) {
                        e.tile(ib, n, ft, channels, p0, lastRows, block);
                      });
                }
                scf::YieldOp::create(tb, loc);
              });
        };
        auto channelTile = [&](OpBuilder &ob, int64_t channels) {
          if (!blocked)
            return blockOf(ob, channels,
                           {e.cst(ob, 0), e.cst(ob, cv.channelsIn), Value(),
                            Value()});
          // The partial sums live on this thread's stack for the item.
          Value saved = LLVM::StackSaveOp::create(
              ob, loc, LLVM::LLVMPointerType::get(ob.getContext()));
          Value scratch = memref::AllocaOp::create(
              ob, loc, MemRefType::get({group, mr, nr}, ob.getF32Type()),
              ob.getI64IntegerAttr(64));
          scf::ForOp::create(
              ob, loc, e.cst(ob, 0), e.cst(ob, cv.channelsIn),
              e.cst(ob, blockChannels), ValueRange{},
              [&](OpBuilder &kb, Location, Value c, ValueRange) {
                Value cEnd = arith::MinSIOp::create(
                    kb, loc,
                    arith::AddIOp::create(kb, loc, c,
                                          e.cst(kb, blockChannels)),
                    e.cst(kb, cv.channelsIn));
                blockOf(kb, channels, {c, cEnd, scratch, Value()});
                scf::YieldOp::create(kb, loc);
              });
          LLVM::StackRestoreOp::create(ob, loc, saved);
        };
        if (lastChannels == 0)
          return channelTile(pb, nr);
        Value full = arith::CmpIOp::create(pb, loc, arith::CmpIPredicate::slt,
                                           ft, e.cst(pb, fullChannelTiles));
        emitIfElse(
            pb, loc, full, [&](OpBuilder &tb) { channelTile(tb, nr); },
            [&](OpBuilder &tb) { channelTile(tb, lastChannels); });
      });
  if (description)
    *description =
        (describeConvShape(cv) + ", tile " + Twine(mr) + " pixels x " + Twine(nr) +
         " channels (channel vectors)" +
         (pairs ? ", bf16 pairs (vdpbf16ps)" : "") +
         (blocked ? ", K blocks of " + Twine(blockChannels) + " channels"
                  : Twine()) +
         describeFusion(fusion))
            .str();
  eraseLowered(op, fusion);
  return true;
}
