//===- Attention.cpp - kiln.attention and kiln.kv_append -> linalg --------===//
//
// Part of kiln. The reference forms:
//
//   kiln.attention becomes kiln ops, which the other patterns of this
//   conversion then lower (the two matmuls reach the GEMM kernels):
//     q'   = reshape q [B, Hkv, G * S, D]    (G = Hq / Hkv: the grouped
//                                             query heads share their K/V
//                                             head, which is never repeated)
//     s    = (q' x transpose(k)) * scale     [B, Hkv, G * S, L]
//     s   += bias[G * S, L]  (0 where allowed, -inf elsewhere; a constant,
//                             or computed from kv_length at run time)
//     y    = reshape(softmax(s) x v)         [B, Hq, S, Dv]
//   kiln.kv_append becomes a tensor.insert_slice at the run-time position,
//   which bufferizes to a copy of the new rows into the cache's buffer
//   (kiln.kv_append_quantized: the rows quantized first, and their scales
//   inserted beside them).
//
// An attention with a run-time `kv_length` (a cache, see kiln-kv-layout)
// instead becomes one streaming loop nest, since the decomposition would
// read all L rows of the cache: per (batch, head, query) a single pass over
// the allowed keys j < limit (limit = n, or n - S + i + 1 when causal), in
// blocks of up to 16 keys, keeps the running max m, the sum l and the
// output row acc in registers (online softmax):
//     s_j = scale * q . k_j  (the block's scores: one vector)
//     m' = max(m, max_j s_j);  c = exp(m - m');  p_j = exp(s_j - m')
//     l = l * c + sum_j p_j;   acc = acc * c + sum_j p_j * v_j;   y = acc / l
// It reads each K/V row once, never forms the score matrix or a mask, and
// reads the grouped heads' shared K/V head directly.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using lowering::scalarIndex;

namespace {

/// `rows` (the new rows, dims 0, 1 and the trailing ones matching `cache`)
/// written into `cache` from row `row` of dim 2 on.
Value insertRows(OpBuilder &b, Location loc, Value rows, Value cache,
                 Value row) {
  auto type = cast<RankedTensorType>(rows.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  offsets[2] = row;
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim : type.getShape())
    sizes.push_back(b.getIndexAttr(dim));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, rows, cache, offsets, sizes,
                                       strides);
}

/// Where row t of a paged cache lives: (block_table[t / N], t % N), N the
/// rows per block (dim 2 of the pool [P, H, N, ...]).
std::pair<Value, Value> pagedRow(OpBuilder &b, Location loc, Value table,
                                 int64_t blockRows, Value t) {
  Value n = arith::ConstantIndexOp::create(b, loc, blockRows);
  Value entry = tensor::ExtractOp::create(
      b, loc, table, ValueRange{arith::DivUIOp::create(b, loc, t, n)});
  Value block =
      arith::IndexCastOp::create(b, loc, b.getIndexType(), entry);
  return {block, arith::RemUIOp::create(b, loc, t, n)};
}

/// `rows` [1, H, S, ...] written into the paged pool `cache` [P, H, N,
/// ...] from row `row` of the sequence on, one row at a time through
/// `table` (see pagedRow).
Value insertRowsPaged(OpBuilder &b, Location loc, Value rows, Value cache,
                      Value row, Value table) {
  auto type = cast<RankedTensorType>(rows.getType());
  int64_t blockRows = cast<RankedTensorType>(cache.getType()).getShape()[2];
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim : type.getShape())
    sizes.push_back(b.getIndexAttr(dim));
  sizes[2] = b.getIndexAttr(1);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  SmallVector<int64_t> oneRow(type.getShape());
  oneRow[2] = 1;
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(type.getShape()[2]), index(1),
      ValueRange{cache},
      [&](OpBuilder &lb, Location l, Value r, ValueRange state) {
        Value t = arith::AddIOp::create(lb, l, row, r);
        auto [block, local] = pagedRow(lb, l, table, blockRows, t);
        SmallVector<OpFoldResult> from(type.getRank(), lb.getIndexAttr(0));
        from[2] = r;
        Value one = tensor::ExtractSliceOp::create(
            lb, l, RankedTensorType::get(oneRow, type.getElementType()), rows,
            from, sizes, strides);
        SmallVector<OpFoldResult> to(type.getRank(), lb.getIndexAttr(0));
        to[0] = block;
        to[2] = local;
        scf::YieldOp::create(
            lb, l,
            ValueRange{tensor::InsertSliceOp::create(lb, l, one, state[0], to,
                                                     sizes, strides)
                           .getResult()});
      });
  return loop.getResult(0);
}

/// `rows` [B, H, S, D] written into `cache` [B, H, M, D] from row `row` on
/// in kiln.attention's key_tiled layout: key j's coordinate d at flat
/// offset 16 ((j / 16) D + d) + j % 16 of its head, i.e. row 16 (j / 16) +
/// (16 d + j % 16) / D, column (16 d + j % 16) % D. With `table` the cache
/// is a paged pool [P, H, N, D] and j the row within its block (N is a
/// multiple of 16: a tile never straddles two blocks).
Value insertRowsTiled(OpBuilder &b, Location loc, Value rows, Value cache,
                      Value row, Value table = Value()) {
  int64_t blockRows = cast<RankedTensorType>(cache.getType()).getShape()[2];
  ArrayRef<int64_t> u = cast<RankedTensorType>(rows.getType()).getShape();
  auto index = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  Value zero = index(b, 0), one = index(b, 1);
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, ValueRange{zero, zero, zero, zero},
      ValueRange{index(b, u[0]), index(b, u[1]), index(b, u[2]),
                 index(b, u[3])},
      ValueRange{one, one, one, one}, ValueRange{cache},
      [&](OpBuilder &ib, Location l, ValueRange ivs,
          ValueRange state) -> scf::ValueVector {
        Value j = arith::AddIOp::create(ib, l, row, ivs[2]);
        Value dim0 = ivs[0];
        if (table)
          std::tie(dim0, j) = pagedRow(ib, l, table, blockRows, j);
        Value c16 = index(ib, 16);
        Value base = arith::MulIOp::create(
            ib, l, arith::DivUIOp::create(ib, l, j, c16), c16);
        Value inner = arith::AddIOp::create(
            ib, l, arith::MulIOp::create(ib, l, ivs[3], c16),
            arith::RemUIOp::create(ib, l, j, c16));
        Value at = arith::AddIOp::create(
            ib, l, base, arith::DivUIOp::create(ib, l, inner, index(ib, u[3])));
        Value col = arith::RemUIOp::create(ib, l, inner, index(ib, u[3]));
        Value v = tensor::ExtractOp::create(ib, l, rows, ivs);
        return {tensor::InsertOp::create(ib, l, v, state[0],
                                         ValueRange{dim0, ivs[1], at, col})};
      });
  return nest.results[0];
}

Value constantTensor(OpBuilder &b, Location loc, RankedTensorType type,
                     ArrayRef<int64_t> values) {
  return ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value scalarTensor(OpBuilder &b, Location loc, Type elt, double value) {
  auto type = RankedTensorType::get({}, elt);
  if (isa<FloatType>(elt))
    return ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            type, FloatAttr::get(elt, value).getValue()));
  return ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, APInt(elt.getIntOrFloatBitWidth(),
                                                 int64_t(value), true)));
}

/// row . P for a row vector<D> and a QJL projection P (tensor [D, m]): a
/// loop over the D rows of P, one vector<m> FMA each.
Value projectRow(OpBuilder &b, Location loc, Value row, Value sketch) {
  auto pt = cast<RankedTensorType>(sketch.getType());
  auto type = VectorType::get({pt.getShape()[1]}, b.getF32Type());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value init =
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, 0.0f));
  Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  return scf::ForOp::create(
             b, loc, zero,
             arith::ConstantIndexOp::create(b, loc, pt.getShape()[0]),
             arith::ConstantIndexOp::create(b, loc, 1), ValueRange{init},
             [&](OpBuilder &pb, Location l, Value c, ValueRange acc) {
               Value rc =
                   vector::ExtractOp::create(pb, l, row, OpFoldResult(c));
               Value pRow = vector::TransferReadOp::create(
                   pb, l, type, sketch, ValueRange{c, zero}, pad,
                   ArrayRef<bool>{true});
               scf::YieldOp::create(
                   pb, l,
                   ValueRange{vector::FMAOp::create(
                       pb, l, vector::BroadcastOp::create(pb, l, type, rc),
                       pRow, acc[0])});
             })
      .getResult(0);
}

/// QJL's sketch of a row vector<D> with the projection P [D, m]: the signs
/// of row . P packed 8 to a byte (lane c in bit c % 8 of byte c / 8,
/// LLVM's bitcast order), and sqrt(pi/2) / m |row|.
std::pair<Value, Value> sketchRow(OpBuilder &b, Location loc, Value row,
                                  Value sketch) {
  int64_t m = cast<RankedTensorType>(sketch.getType()).getShape()[1];
  auto type = VectorType::get({m}, b.getF32Type());
  Value positive = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OGT, projectRow(b, loc, row, sketch),
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, 0.0f)));
  Value packed = vector::BitCastOp::create(
      b, loc, VectorType::get({m / 8}, b.getI8Type()), positive);
  Value squares = vector::ReductionOp::create(
      b, loc, vector::CombiningKind::ADD,
      arith::MulFOp::create(b, loc, row, row), arith::FastMathFlags::reassoc);
  Value scale = arith::MulFOp::create(
      b, loc, math::SqrtOp::create(b, loc, squares),
      arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(std::sqrt(M_PI / 2) / double(m))));
  return {packed, scale};
}

/// 2- or 4-bit codes (one per i8 lane) packed little end first: lane e in
/// bits [(e % k) * bits, ...) of byte e / k, k = 8 / bits.
Value packCodes(OpBuilder &b, Location loc, Value codes, int64_t bits) {
  auto shifted = [&](Value v, int64_t by) -> Value {
    if (!by)
      return v;
    auto type = cast<VectorType>(v.getType());
    return arith::ShLIOp::create(
        b, loc, v,
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(type, APInt(8, uint64_t(by)))));
  };
  auto halves = vector::DeinterleaveOp::create(b, loc, codes);
  Value even = halves.getRes1(), odd = halves.getRes2();
  if (bits == 4)
    return arith::OrIOp::create(b, loc, even, shifted(odd, 4));
  auto evens = vector::DeinterleaveOp::create(b, loc, even);
  auto odds = vector::DeinterleaveOp::create(b, loc, odd);
  Value lanes[4] = {evens.getRes1(), odds.getRes1(), evens.getRes2(),
                    odds.getRes2()};
  Value packed = lanes[0];
  for (int64_t k = 1; k < 4; ++k)
    packed = arith::OrIOp::create(b, loc, packed, shifted(lanes[k], 2 * k));
  return packed;
}

/// The codes of packCodes' bytes, one per i8 lane.
Value unpackCodes(OpBuilder &b, Location loc, Value bytes, int64_t bits) {
  auto type = cast<VectorType>(bytes.getType());
  auto field = [&](int64_t k) -> Value {
    Value v = bytes;
    if (k)
      v = arith::ShRUIOp::create(
          b, loc, v,
          arith::ConstantOp::create(
              b, loc, DenseElementsAttr::get(type, APInt(8, uint64_t(k * bits)))));
    return arith::AndIOp::create(
        b, loc, v,
        arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(type, APInt(8, uint64_t((1 << bits) - 1)))));
  };
  if (bits == 4)
    return vector::InterleaveOp::create(b, loc, field(0), field(1));
  return vector::InterleaveOp::create(
      b, loc, vector::InterleaveOp::create(b, loc, field(0), field(2)),
      vector::InterleaveOp::create(b, loc, field(1), field(3)));
}

/// The additive mask over [rows = G * S, L], or null when every key is
/// allowed. Row r is query r % S.
Value attentionBias(OpBuilder &b, Location loc, Value kvLength, bool causal,
                    Type elt, int64_t groups, int64_t s, int64_t l) {
  if (!kvLength && !causal)
    return nullptr;
  int64_t rows = groups * s;
  Value zero = scalarTensor(b, loc, elt, 0.0);
  Value negInf =
      scalarTensor(b, loc, elt, -std::numeric_limits<double>::infinity());
  auto boolType = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getI1Type());
  };
  if (!kvLength) {
    // allowed(i, j) = j <= i + L - S.
    SmallVector<bool> allowed;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < l; ++j)
        allowed.push_back(j <= r % s + l - s);
    Value mask = ConstantOp::create(
        b, loc, DenseElementsAttr::get(boolType({rows, l}), allowed));
    return WhereOp::create(b, loc, mask, zero, negInf);
  }
  // valid(j) = j < n; causal(i, j) = !(j > i - S + n).
  Type i64 = b.getI64Type();
  SmallVector<int64_t> iota;
  for (int64_t j = 0; j < l; ++j)
    iota.push_back(j);
  Value j = constantTensor(b, loc, RankedTensorType::get({1, l}, i64), iota);
  Value allowed = LessOp::create(b, loc, j, kvLength);
  if (causal) {
    SmallVector<int64_t> offsets;
    for (int64_t r = 0; r < rows; ++r)
      offsets.push_back(r % s - s);
    Value rowOffset = constantTensor(
        b, loc, RankedTensorType::get({rows, 1}, i64), offsets);
    Value last = AddOp::create(b, loc, rowOffset, kvLength);
    Value after = GreaterOp::create(b, loc, j, last);
    allowed = AndOp::create(b, loc, allowed, NotOp::create(b, loc, after));
  }
  return WhereOp::create(b, loc, allowed, zero, negInf);
}

struct AttentionLowering : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto qt = cast<RankedTensorType>(op.getQuery().getType());
    auto kt = cast<RankedTensorType>(op.getKey().getType());
    auto vt = cast<RankedTensorType>(op.getValue().getType());
    Type elt = qt.getElementType();
    int64_t b = qt.getShape()[0], hq = qt.getShape()[1], s = qt.getShape()[2],
            d = qt.getShape()[3];
    int64_t hkv = kt.getShape()[1], l = kt.getShape()[2],
            dv = vt.getShape()[3];
    int64_t groups = hq / hkv;

    Value q = ReshapeOp::create(
        rewriter, loc, RankedTensorType::get({b, hkv, groups * s, d}, elt),
        adaptor.getQuery());
    Value kT = TransposeOp::create(rewriter, loc, adaptor.getKey(),
                                   rewriter.getDenseI64ArrayAttr({0, 1, 3, 2}));
    Value scores = MatMulOp::create(rewriter, loc, q, kT);
    scores = MulOp::create(
        rewriter, loc, scores,
        scalarTensor(rewriter, loc, elt, op.getScale().convertToDouble()));
    if (Value bias = attentionBias(rewriter, loc, adaptor.getKvLength(),
                                   op.getCausal(), elt, groups, s, l))
      scores = AddOp::create(rewriter, loc, scores, bias);
    Value probs = SoftmaxOp::create(rewriter, loc, scores,
                                    rewriter.getI64IntegerAttr(3));
    Value y = MatMulOp::create(rewriter, loc, probs, adaptor.getValue());
    rewriter.replaceOpWithNewOp<ReshapeOp>(
        op, RankedTensorType::get({b, hq, s, dv}, elt), y);
    return success();
  }
};

struct CachedAttentionLowering : OpConversionPattern<AttentionOp> {
  CachedAttentionLowering(MLIRContext *ctx)
      : OpConversionPattern(ctx, /*benefit=*/2) {}
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto qt = cast<RankedTensorType>(op.getQuery().getType());
    auto kt = cast<RankedTensorType>(op.getKey().getType());
    if (!adaptor.getKvLength() || !qt.getElementType().isF32())
      return failure();
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type();
    int64_t batch = qt.getShape()[0], hq = qt.getShape()[1],
            s = qt.getShape()[2], d = qt.getShape()[3];
    // The result's head dim: packed low-bit values hold fewer bytes.
    int64_t groups = hq / kt.getShape()[1], dv = op.getType().getShape()[3];
    auto qType = VectorType::get({d}, f32), vType = VectorType::get({dv}, f32);
    // Keys per block of the online softmax (16 f32 lanes: one AVX-512
    // register of scores), at most the cache's rows.
    // A paged cache: pools [P, Hkv, N, ...] read through the sequence's
    // block table, L = N times its length.
    Value table = adaptor.getBlockTable();
    int64_t blockRows = kt.getShape()[2];
    int64_t keysLen =
        table ? blockRows *
                    cast<RankedTensorType>(table.getType()).getShape()[0]
              : blockRows;
    int64_t width = std::min<int64_t>(16, keysLen);
    // The verifier holds key_tiled to L and D multiples of 16: blocks
    // start at multiples of 16 (the loops over the cache start at 0).
    bool tiled = op.getKeyTiled();
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    auto f32Const = [&](OpBuilder &ob, double v) -> Value {
      return arith::ConstantOp::create(ob, loc, ob.getF32FloatAttr(v));
    };
    Value zero = index(0), one = index(1);
    Value n = scalarIndex(b, loc, adaptor.getKvLength());
    // The rows of the block of keys at jb: clamped to the last row; in a
    // paged cache the block (jb a multiple of 16, as N) sits in one pool
    // block, located once.
    auto blockRowsAt = [&](OpBuilder &kb, Location l, Value bi, Value jb) {
      SmallVector<std::pair<Value, Value>> rowsAt;
      if (table) {
        auto [block, first] = pagedRow(kb, l, table, blockRows, jb);
        for (int64_t w = 0; w < width; ++w)
          rowsAt.push_back(
              {block, arith::AddIOp::create(kb, l, first, index(w))});
        return rowsAt;
      }
      for (int64_t w = 0; w < width; ++w)
        rowsAt.push_back(
            {bi, arith::MinSIOp::create(
                     kb, l, arith::AddIOp::create(kb, l, jb, index(w)),
                     index(keysLen - 1))});
      return rowsAt;
    };
    Value q = adaptor.getQuery(), k = adaptor.getKey(), v = adaptor.getValue();
    Value pad = f32Const(b, 0.0);
    Value out = tensor::EmptyOp::create(b, loc, op.getType().getShape(), f32);

    // One key or value row as f32 (an int8 cache's row unscaled: its scale
    // multiplies the score or the weight instead).
    auto readRow = [&](OpBuilder &rb, Value t, int64_t width,
                       ArrayRef<Value> at) -> Value {
      auto elt = cast<RankedTensorType>(t.getType()).getElementType();
      auto f32Type = VectorType::get({width}, f32);
      if (elt.isF32())
        return vector::TransferReadOp::create(rb, loc, f32Type, t, at, pad,
                                              ArrayRef<bool>{true});
      Value zero8 = arith::ConstantOp::create(rb, loc, rb.getI8IntegerAttr(0));
      Value raw = vector::TransferReadOp::create(
          rb, loc, VectorType::get({width}, elt), t, at, zero8,
          ArrayRef<bool>{true});
      return arith::SIToFPOp::create(rb, loc, f32Type, raw);
    };
    // One row of the result: (bi, h, i) -> out.
    Value sketch = adaptor.getKeySketch();
    // QJL outlier channels (kiln.kv_qjl_outliers).
    Value outBits = adaptor.getOutlierBits(),
          outScales = adaptor.getOutlierScales(),
          outChannels = adaptor.getOutlierChannels(),
          outSketch = adaptor.getOutlierSketch();
    int64_t outlierGroup =
        op.getOutlierGroup() ? int64_t(*op.getOutlierGroup()) : 0;
    int64_t outlierCount =
        outChannels
            ? cast<RankedTensorType>(outChannels.getType()).getShape()[3]
            : 0;
    VectorType outType =
        outSketch ? VectorType::get(
                        {cast<RankedTensorType>(outSketch.getType())
                             .getShape()[1]},
                        f32)
                  : VectorType();
    Value recent = adaptor.getRecentKeys();
    Value tags = adaptor.getRecentPositions();
    int64_t sketchRows = sketch
        ? cast<RankedTensorType>(sketch.getType()).getShape()[1] : 0;
    // The ring's rows, and the keys before each query it reads whole.
    int64_t ring = recent
        ? cast<RankedTensorType>(recent.getType()).getShape()[2] : 0;
    int64_t window =
        op.getRecentWindow() ? int64_t(*op.getRecentWindow()) : ring;
    // Low-bit values: codes * scale + min per group of channels.
    int64_t valueBits = op.getValueBits() ? int64_t(*op.getValueBits()) : 0;
    Value valueMins = adaptor.getValueMins();
    int64_t valueGroups =
        valueMins ? cast<RankedTensorType>(valueMins.getType()).getShape()[3]
                  : 0;
    auto readValue = [&](OpBuilder &vb, Location l, Value bi, Value hk,
                         Value at) -> Value {
      if (!valueBits)
        return readRow(vb, v, dv, {bi, hk, at, zero});
      Value bytes = vector::TransferReadOp::create(
          vb, l, VectorType::get({dv * valueBits / 8}, vb.getI8Type()), v,
          ValueRange{bi, hk, at, zero},
          arith::ConstantOp::create(vb, l, vb.getI8IntegerAttr(0)),
          ArrayRef<bool>{true});
      Value codes = arith::UIToFPOp::create(
          vb, l, vType, unpackCodes(vb, l, bytes, valueBits));
      // Each group's scale and min spread over its channels (a shuffle).
      SmallVector<int64_t> spread;
      for (int64_t e = 0; e < dv; ++e)
        spread.push_back(e / (dv / valueGroups));
      auto perGroup = [&](Value t) -> Value {
        Value g = vector::TransferReadOp::create(
            vb, l, VectorType::get({valueGroups}, f32), t,
            ValueRange{bi, hk, at, zero}, pad, ArrayRef<bool>{true});
        return vector::ShuffleOp::create(vb, l, g, g, spread);
      };
      return vector::FMAOp::create(vb, l, codes,
                                   perGroup(adaptor.getValueScales()),
                                   perGroup(valueMins));
    };
    // ThinK: rows below the pruned count (the channels' last column) hold
    // their kept channels at stride T, read from the head's flat [L * D]
    // view.
    // A row is read as `keptRead` lanes in pieces of 8 (T rounded up: the
    // lanes past T hold the next row's first channels, which the query's
    // zero lanes cancel; non-power-of-2 vectors such as 39 lanes would
    // otherwise lower lane by lane), unless that would read past the
    // cache's end.
    Value keyChannels = adaptor.getKeyChannels(), flatKeys;
    int64_t keptChannels = 0, keptRead = 0;
    constexpr int64_t kPiece = 8;
    if (keyChannels) {
      keptChannels =
          cast<RankedTensorType>(keyChannels.getType()).getShape()[2] - 1;
      keptRead = llvm::alignTo(keptChannels, kPiece);
      int64_t d = kt.getShape()[3];
      if ((keysLen - 1) * keptChannels + keptRead > keysLen * d)
        keptRead = keptChannels;
      flatKeys = tensor::CollapseShapeOp::create(
          b, loc, k, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    }
    // One block's step of a query's online softmax: its running max m and
    // sum l updated with the block's `scores`, its output row scaled by
    // c = exp(m - m'), and the block's weights p = exp(scores - m').
    struct SoftmaxStep {
      Value m, sum, acc, p;
    };
    auto softmaxStep = [&](OpBuilder &kb, Location l, Value scores,
                           Value mPrev, Value sumPrev,
                           Value accPrev) -> SoftmaxStep {
      auto scoresType = cast<VectorType>(scores.getType());
      Value blockMax = vector::ReductionOp::create(
          kb, l, vector::CombiningKind::MAXIMUMF, scores);
      Value m = arith::MaximumFOp::create(kb, l, mPrev, blockMax);
      Value c =
          math::ExpOp::create(kb, l, arith::SubFOp::create(kb, l, mPrev, m));
      Value p = math::ExpOp::create(
          kb, l,
          arith::SubFOp::create(
              kb, l, scores,
              vector::BroadcastOp::create(kb, l, scoresType, m)));
      Value sum = arith::AddFOp::create(
          kb, l, arith::MulFOp::create(kb, l, sumPrev, c),
          vector::ReductionOp::create(kb, l, vector::CombiningKind::ADD, p,
                                      arith::FastMathFlags::reassoc));
      Value acc = arith::MulFOp::create(
          kb, l, accPrev, vector::BroadcastOp::create(kb, l, vType, c));
      return {m, sum, acc, p};
    };
    auto scoresType = VectorType::get({width}, f32);
    // key_tiled: the scores of a block of 16 keys for each of `queries`
    // (scaled query rows) as D vector FMAs, key j's coordinate d (j in the
    // block) read from row jb + 16 d / D, column 16 d % D (see
    // insertRowsTiled; `block` is dims 0 and 2 of row jb), once for all
    // the queries; 4 accumulators per query for the FMA latency.
    auto tiledScores = [&](OpBuilder &kb, Location l, Value hk,
                           std::pair<Value, Value> block,
                           ArrayRef<Value> queries) -> SmallVector<Value> {
      Value zeros = arith::ConstantOp::create(
          kb, l, DenseElementsAttr::get(scoresType, 0.0f));
      SmallVector<SmallVector<Value>> part(queries.size(),
                                           SmallVector<Value>(4, zeros));
      auto [d0, first] = block;
      for (int64_t c = 0; c < d; ++c) {
        Value at = arith::AddIOp::create(kb, l, first, index(16 * c / d));
        Value kv = readRow(kb, k, width, {d0, hk, at, index(16 * c % d)});
        for (auto [r, qv] : llvm::enumerate(queries)) {
          Value qc = vector::BroadcastOp::create(
              kb, l, scoresType, vector::ExtractOp::create(kb, l, qv, c));
          part[r][c % 4] = vector::FMAOp::create(kb, l, qc, kv, part[r][c % 4]);
        }
      }
      Value keyScales;
      if (Value ks = adaptor.getKeyScales())
        keyScales = vector::TransferReadOp::create(
            kb, l, scoresType, ks, ValueRange{d0, hk, first}, pad,
            ArrayRef<bool>{true});
      SmallVector<Value> sums;
      for (ArrayRef<Value> acc : part) {
        Value sum = arith::AddFOp::create(
            kb, l, arith::AddFOp::create(kb, l, acc[0], acc[1]),
            arith::AddFOp::create(kb, l, acc[2], acc[3]));
        if (keyScales)
          sum = arith::MulFOp::create(kb, l, sum, keyScales);
        sums.push_back(sum);
      }
      return sums;
    };
    // Lanes w of a block at jb with jb + w < hi (the rest score -1e30).
    auto lanesType = VectorType::get({width}, b.getI32Type());
    SmallVector<int32_t> iota;
    for (int32_t w = 0; w < width; ++w)
      iota.push_back(w);
    auto lanesBelow = [&](OpBuilder &kb, Location l, Value jb,
                          Value hi) -> Value {
      Value room = arith::IndexCastOp::create(
          kb, l, kb.getI32Type(), arith::SubIOp::create(kb, l, hi, jb));
      return arith::CmpIOp::create(
          kb, l, arith::CmpIPredicate::slt,
          arith::ConstantOp::create(
              kb, l, DenseElementsAttr::get(lanesType, ArrayRef<int32_t>(iota))),
          vector::BroadcastOp::create(kb, l, lanesType, room));
    };
    // acc[r] += sum_w probs[r][w] * value row rowsAt[w]: each value row
    // read once for all the queries (an int8 row's scale multiplies the
    // weight).
    auto addValues = [&](OpBuilder &kb, Location l, Value hk,
                         ArrayRef<std::pair<Value, Value>> rowsAt,
                         ArrayRef<Value> probs, MutableArrayRef<Value> accs) {
      Value vs = adaptor.getValueScales();
      for (auto [w, rowAt] : llvm::enumerate(rowsAt)) {
        auto [d0, at] = rowAt;
        Value valueScale;
        if (vs && !valueBits)
          valueScale =
              tensor::ExtractOp::create(kb, l, vs, ValueRange{d0, hk, at});
        Value vv = readValue(kb, l, d0, hk, at);
        for (auto [p, acc] : llvm::zip(probs, accs)) {
          Value pw = vector::ExtractOp::create(kb, l, p, int64_t(w));
          if (valueScale)
            pw = arith::MulFOp::create(kb, l, pw, valueScale);
          acc = vector::FMAOp::create(
              kb, l, vv, vector::BroadcastOp::create(kb, l, vType, pw), acc);
        }
      }
    };
    auto row = [&](OpBuilder &rb, Value bi, Value h, Value i, Value acc) {
      Value hk = arith::DivUIOp::create(rb, loc, h, index(groups));
      Value qv = vector::TransferReadOp::create(
          rb, loc, qType, q, ValueRange{bi, h, i, zero}, pad,
          ArrayRef<bool>{true});
      // Built here, not above the loops: kiln-outline-parallel passes only
      // memrefs and scalars into a parallel body.
      Value scale = vector::BroadcastOp::create(
          rb, loc, qType, f32Const(rb, op.getScale().convertToDouble()));
      qv = arith::MulFOp::create(rb, loc, qv, scale);
      Value limit = n;
      if (op.getCausal()) {
        // Query i sits at position n - S + i: keys up to it are allowed.
        Value last = arith::AddIOp::create(
            rb, loc, arith::SubIOp::create(rb, loc, n, index(s - 1)), i);
        limit = arith::MinSIOp::create(rb, loc, n, last);
      }
      // QJL: the query projected once, sq = q . P, and its negation; a
      // key's score is then the sum of sq's lanes signed by its bits.
      Value sq, negSq;
      if (sketch) {
        sq = projectRow(rb, loc, qv, sketch);
        negSq = arith::NegFOp::create(rb, loc, sq);
      }
      // ThinK: the query's kept channels (gathered once per row).
      Value keptQuery;
      SmallVector<Value> keptPieces;
      if (keyChannels) {
        keptQuery = lowering::gatherLanes(rb, loc, qv, keyChannels,
                                          ValueRange{bi, hk}, keptChannels,
                                          keptRead);
        if (keptRead % kPiece == 0)
          for (int64_t c = 0; c < keptRead; c += kPiece)
            keptPieces.push_back(vector::ExtractStridedSliceOp::create(
                rb, loc, keptQuery, ArrayRef<int64_t>{c},
                ArrayRef<int64_t>{kPiece}, ArrayRef<int64_t>{1}));
      }
      // QJL with outlier channels: the projections of the query's parts
      // on and off the channels of key j's group, q_in . P = q . P -
      // sum_c q_c P[c] and q_out . Q = sum_c q_c Q[c] (the k channels'
      // rows), with their negations.
      auto groupProjections = [&](OpBuilder &kb, Location l,
                                  Value j) -> SmallVector<Value> {
        Value g = arith::DivUIOp::create(kb, l, j, index(outlierGroup));
        Value in = sq;
        Value out = arith::ConstantOp::create(
            kb, l, DenseElementsAttr::get(outType, 0.0f));
        for (int64_t r = 0; r < outlierCount; ++r) {
          Value code = tensor::ExtractOp::create(
              kb, l, outChannels, ValueRange{bi, hk, g, index(r)});
          Value c = arith::IndexCastUIOp::create(
              kb, l, kb.getIndexType(),
              arith::ExtUIOp::create(kb, l, kb.getI32Type(), code));
          Value qc = vector::ExtractOp::create(kb, l, qv, OpFoldResult(c));
          Value pRow = vector::TransferReadOp::create(
              kb, l, cast<VectorType>(sq.getType()), sketch,
              ValueRange{c, zero}, pad, ArrayRef<bool>{true});
          Value qRow = vector::TransferReadOp::create(
              kb, l, outType, outSketch, ValueRange{c, zero}, pad,
              ArrayRef<bool>{true});
          in = vector::FMAOp::create(
              kb, l,
              vector::BroadcastOp::create(kb, l, sq.getType(),
                                          arith::NegFOp::create(kb, l, qc)),
              pRow, in);
          out = vector::FMAOp::create(
              kb, l, vector::BroadcastOp::create(kb, l, outType, qc), qRow,
              out);
        }
        return {in, arith::NegFOp::create(kb, l, in), out,
                arith::NegFOp::create(kb, l, out)};
      };
      // Sum of `proj`'s lanes signed by the bits of row `at` of `bits`.
      auto signedSum = [&](OpBuilder &kb, Location l, Value bits, Value d0,
                           Value at, Value proj, Value negProj) -> Value {
        int64_t lanes = cast<VectorType>(proj.getType()).getShape()[0];
        Value raw = vector::TransferReadOp::create(
            kb, l, VectorType::get({lanes / 8}, kb.getI8Type()), bits,
            ValueRange{d0, hk, at, zero},
            arith::ConstantOp::create(kb, l, kb.getI8IntegerAttr(0)),
            ArrayRef<bool>{true});
        // Bit c % 8 of byte c / 8 is lane c: each byte spread over its 8
        // lanes and tested against the lane's bit (byte shuffles, ands and
        // compares; an i1 bitcast would unpack bit by bit).
        SmallVector<int64_t> spread;
        SmallVector<int8_t> lanesBit;
        for (int64_t c = 0; c < lanes; ++c) {
          spread.push_back(c / 8);
          lanesBit.push_back(int8_t(1u << (c % 8)));
        }
        auto byteLanes = VectorType::get({lanes}, kb.getI8Type());
        Value bytes = vector::ShuffleOp::create(kb, l, raw, raw, spread);
        Value zeros = arith::ConstantOp::create(
            kb, l, DenseElementsAttr::get(byteLanes, int8_t(0)));
        Value signs = arith::CmpIOp::create(
            kb, l, arith::CmpIPredicate::ne,
            arith::AndIOp::create(
                kb, l, bytes,
                arith::ConstantOp::create(
                    kb, l,
                    DenseElementsAttr::get(byteLanes,
                                           ArrayRef<int8_t>(lanesBit)))),
            zeros);
        return vector::ReductionOp::create(
            kb, l, vector::CombiningKind::ADD,
            arith::SelectOp::create(kb, l, signs, proj, negProj),
            arith::FastMathFlags::reassoc);
      };
      // The score of the key in row `at` (of batch or pool block d0),
      // read from the cache (`proj`: its group's outlier projections, when
      // the caller has them).
      auto cachedScore = [&](OpBuilder &kb, Location l, Value d0, Value at,
                             ArrayRef<Value> proj = {}) -> Value {
        Value score;
        if (outBits) {
          SmallVector<Value> own;
          if (proj.empty())
            proj = own = groupProjections(kb, l, at);
          Value keyScale = tensor::ExtractOp::create(
              kb, l, adaptor.getKeyScales(), ValueRange{d0, hk, at});
          Value outScale = tensor::ExtractOp::create(
              kb, l, outScales, ValueRange{d0, hk, at});
          return arith::AddFOp::create(
              kb, l,
              arith::MulFOp::create(
                  kb, l, keyScale,
                  signedSum(kb, l, k, d0, at, proj[0], proj[1])),
              arith::MulFOp::create(
                  kb, l, outScale,
                  signedSum(kb, l, outBits, d0, at, proj[2], proj[3])));
        }
        if (sketch) {
          score = signedSum(kb, l, k, d0, at, sq, negSq);
        } else {
          Value kv = readRow(kb, k, d, {d0, hk, at, zero});
          // Reassociated (a tree, fixed at compile time): an ordered
          // sum would be D dependent adds per key.
          score = vector::ReductionOp::create(
              kb, l, vector::CombiningKind::ADD,
              arith::MulFOp::create(kb, l, qv, kv),
              arith::FastMathFlags::reassoc);
        }
        if (Value ks = adaptor.getKeyScales())
          score = arith::MulFOp::create(
              kb, l, score,
              tensor::ExtractOp::create(kb, l, ks, ValueRange{d0, hk, at}));
        return score;
      };
      // Keys j in [lo, hi) in blocks of `width`: the block's scores form
      // one vector, so the max and the exponentials are one vector op per
      // block, not two scalar exps per key. Lanes past `hi` score -1e30
      // (weight 0) and read row min(j, L - 1), which exists.
      using ScoreFn = llvm::function_ref<Value(OpBuilder &, Location, Value,
                                               Value, Value)>;
      // Values a block's scores share (QJL outliers: the projections of
      // the block's group; a block of 16 from a multiple of 16 lies in one
      // group), carried from block to block after the softmax state, so
      // that `setup` may reuse the previous block's.
      SmallVector<Value> blockValues;
      using SetupFn = llvm::function_ref<SmallVector<Value>(
          OpBuilder &, Location, Value, ValueRange)>;
      auto keyBlocks = [&](Value lo, Value hi, ValueRange init,
                           int64_t maxTrips, ScoreFn scoreOf,
                           SetupFn setup = nullptr, ValueRange carried = {}) {
        SmallVector<Value> loopInit(init);
        loopInit.append(carried.begin(), carried.end());
        auto keys = scf::ForOp::create(
            rb, loc, lo, hi, index(width), loopInit,
            [&](OpBuilder &kb, Location l, Value jb, ValueRange st) {
              Value masked = f32Const(kb, -1e30);
              Value scores = vector::BroadcastOp::create(kb, l, scoresType,
                                                         masked);
              SmallVector<std::pair<Value, Value>> rowsAt =
                  blockRowsAt(kb, l, bi, jb);
              if (setup)
                blockValues = setup(kb, l, jb, st.drop_front(3));
              for (int64_t w = 0; w < width && !tiled; ++w) {
                Value j = arith::AddIOp::create(kb, l, jb, index(w));
                Value score =
                    scoreOf(kb, l, j, rowsAt[w].first, rowsAt[w].second);
                Value inside = arith::CmpIOp::create(
                    kb, l, arith::CmpIPredicate::slt, j, hi);
                score = arith::SelectOp::create(kb, l, inside, score, masked);
                scores = vector::InsertOp::create(kb, l, score, scores, w);
              }
              if (tiled) {
                Value inside = lanesBelow(kb, l, jb, hi);
                scores = arith::SelectOp::create(
                    kb, l, inside, tiledScores(kb, l, hk, rowsAt[0], qv).front(),
                    scores);
              }
              SoftmaxStep step =
                  softmaxStep(kb, l, scores, st[0], st[1], st[2]);
              Value accNew = step.acc;
              addValues(kb, l, hk, rowsAt, step.p, accNew);
              SmallVector<Value> next = {step.m, step.sum, accNew};
              if (setup)
                next.append(blockValues);
              scf::YieldOp::create(kb, l, next);
            });
        // What kiln-outline-parallel weighs the heads by.
        keys->setAttr("kiln.max_trips", rb.getI64IntegerAttr(maxTrips));
        return keys;
      };
      // A finite start for m: exp(m - m') is then 0, never NaN.
      Value init[] = {f32Const(rb, -1e30), f32Const(rb, 0.0),
                      arith::ConstantOp::create(
                          rb, loc, DenseElementsAttr::get(vType, 0.0f))};
      auto fromCache = [&](OpBuilder &kb, Location l, Value, Value d0,
                           Value at) { return cachedScore(kb, l, d0, at); };
      auto fromGroupSketch = [&](OpBuilder &kb, Location l, Value, Value d0,
                                 Value at) {
        return cachedScore(kb, l, d0, at, blockValues);
      };
      int64_t cacheTrips = llvm::divideCeil(keysLen, width);
      scf::ForOp keys;
      if (keyChannels) {
        // Rows below the pruned count score on the kept channels alone.
        Value prunedRows = arith::IndexCastOp::create(
            rb, loc, rb.getIndexType(),
            tensor::ExtractOp::create(rb, loc, keyChannels,
                                      ValueRange{bi, hk, index(keptChannels)}));
        Value split = arith::MinSIOp::create(rb, loc, prunedRows, limit);
        scf::ForOp first = keyBlocks(
            zero, split, init, cacheTrips,
            [&](OpBuilder &kb, Location l, Value, Value, Value at) -> Value {
              Value from = arith::MulIOp::create(kb, l, at,
                                                 index(keptChannels));
              Value product;
              if (keptPieces.empty()) {
                product = arith::MulFOp::create(
                    kb, l, keptQuery,
                    readRow(kb, flatKeys, keptChannels, {bi, hk, from}));
              } else {
                for (auto [c, piece] : llvm::enumerate(keptPieces)) {
                  Value kv = readRow(
                      kb, flatKeys, kPiece,
                      {bi, hk,
                       arith::AddIOp::create(kb, l, from,
                                             index(int64_t(c) * kPiece))});
                  product = product ? vector::FMAOp::create(kb, l, piece, kv,
                                                            product)
                                    : arith::MulFOp::create(kb, l, piece, kv)
                                          .getResult();
                }
              }
              return vector::ReductionOp::create(
                  kb, l, vector::CombiningKind::ADD, product,
                  arith::FastMathFlags::reassoc);
            });
        keys = keyBlocks(split, limit, first.getResults(), cacheTrips,
                         fromCache);
      } else if (!recent) {
        keys = keyBlocks(zero, limit, init, cacheTrips, fromCache);
      } else {
        // Keys before limit - W come from the cache only; the W before
        // the query's own position (its limit) are read whole where their
        // ring slot still holds them (tag == j).
        Value split = arith::MaxSIOp::create(
            rb, loc, zero, arith::SubIOp::create(rb, loc, limit, index(window)));
        scf::ForOp first;
        if (outBits) {
          // A group's projections once per group: the first of its blocks
          // computes them, the next reuses them.
          SmallVector<Value> none;
          for (Type t : {sq.getType(), sq.getType(), Type(outType),
                         Type(outType)})
            none.push_back(arith::ConstantOp::create(
                rb, loc,
                DenseElementsAttr::get(cast<VectorType>(t), 0.0f)));
          auto perGroup = [&](OpBuilder &kb, Location l, Value jb,
                              ValueRange previous) -> SmallVector<Value> {
            Value starts = arith::CmpIOp::create(
                kb, l, arith::CmpIPredicate::eq,
                arith::RemUIOp::create(kb, l, jb, index(outlierGroup)),
                index(0));
            auto pick = scf::IfOp::create(
                kb, l, starts,
                [&](OpBuilder &tb, Location tl) {
                  scf::YieldOp::create(tb, tl,
                                       groupProjections(tb, tl, jb));
                },
                [&](OpBuilder &eb, Location el) {
                  scf::YieldOp::create(eb, el, previous);
                });
            return SmallVector<Value>(pick.getResults());
          };
          first = keyBlocks(zero, split, init, cacheTrips, fromGroupSketch,
                            perGroup, none);
        } else {
          first = keyBlocks(zero, split, init, cacheTrips, fromCache);
        }
        keys = keyBlocks(
            split, limit, first.getResults().take_front(3),
            llvm::divideCeil(window, width) + 1,
            [&](OpBuilder &kb, Location l, Value j, Value d0,
                Value at) -> Value {
              Value slot = arith::RemUIOp::create(kb, l, j, index(ring));
              Value tag = tensor::ExtractOp::create(kb, l, tags,
                                                    ValueRange{slot});
              Value whole = arith::CmpIOp::create(
                  kb, l, arith::CmpIPredicate::eq, tag,
                  arith::IndexCastOp::create(kb, l, kb.getI64Type(), j));
              Value kv = readRow(kb, recent, d, {bi, hk, slot, zero});
              Value exact = vector::ReductionOp::create(
                  kb, l, vector::CombiningKind::ADD,
                  arith::MulFOp::create(kb, l, qv, kv),
                  arith::FastMathFlags::reassoc);
              if (!outBits)
                return arith::SelectOp::create(kb, l, whole, exact,
                                               cachedScore(kb, l, d0, at));
              // With outliers a key's sketch needs its group's
              // projections: only for a key that left the ring (after a
              // truncate), not for every key of the window.
              Value fromSketch = arith::AndIOp::create(
                  kb, l,
                  arith::XOrIOp::create(
                      kb, l, whole,
                      arith::ConstantOp::create(kb, l, kb.getBoolAttr(true))),
                  arith::CmpIOp::create(kb, l, arith::CmpIPredicate::slt, j,
                                        limit));
              auto pick = scf::IfOp::create(
                  kb, l, fromSketch,
                  [&](OpBuilder &tb, Location tl) {
                    scf::YieldOp::create(tb, tl,
                                         cachedScore(tb, tl, d0, at));
                  },
                  [&](OpBuilder &eb, Location el) {
                    scf::YieldOp::create(eb, el, exact);
                  });
              return pick.getResult(0);
            });
      }
      Value y = arith::DivFOp::create(
          rb, loc, keys.getResult(2),
          vector::BroadcastOp::create(rb, loc, vType, keys.getResult(1)));
      // `acc` is this (batch, head)'s [1, 1, S, Dv] slice of the result.
      return vector::TransferWriteOp::create(rb, loc, y, acc,
                                             ValueRange{zero, zero, i, zero},
                                             ArrayRef<bool>{true})
          .getResult();
    };
    // Prefill over tiled keys (not QJL, not ThinK): kQueries queries at a
    // time share every key tile and value row they read, which a query
    // alone reloads for each of the S queries of a chunk. Per query the
    // arithmetic is `row`'s, in the same order: the same results.
    constexpr int64_t kQueries = 4;
    bool blockQueries = tiled && !sketch && !recent && !keyChannels &&
                        s % kQueries == 0;
    auto queryBlock = [&](OpBuilder &rb, Value bi, Value h, Value i0,
                          Value acc) -> Value {
      Value hk = arith::DivUIOp::create(rb, loc, h, index(groups));
      Value scale = vector::BroadcastOp::create(
          rb, loc, qType, f32Const(rb, op.getScale().convertToDouble()));
      SmallVector<Value> qvs, limits;
      for (int64_t r = 0; r < kQueries; ++r) {
        Value i = arith::AddIOp::create(rb, loc, i0, index(r));
        Value qv = vector::TransferReadOp::create(
            rb, loc, qType, q, ValueRange{bi, h, i, zero}, pad,
            ArrayRef<bool>{true});
        qvs.push_back(arith::MulFOp::create(rb, loc, qv, scale));
        Value limit = n;
        if (op.getCausal())
          limit = arith::MinSIOp::create(
              rb, loc, n,
              arith::AddIOp::create(
                  rb, loc, arith::SubIOp::create(rb, loc, n, index(s - 1)),
                  i));
        limits.push_back(limit);
      }
      SmallVector<Value> init;
      for (int64_t r = 0; r < kQueries; ++r)
        init.append({f32Const(rb, -1e30), f32Const(rb, 0.0),
                     arith::ConstantOp::create(
                         rb, loc, DenseElementsAttr::get(vType, 0.0f))});
      // The last query allows the most keys (causal or not).
      auto keys = scf::ForOp::create(
          rb, loc, zero, limits.back(), index(width), init,
          [&](OpBuilder &kb, Location l, Value jb, ValueRange st) {
            SmallVector<std::pair<Value, Value>> rowsAt =
                blockRowsAt(kb, l, bi, jb);
            SmallVector<Value> sums = tiledScores(kb, l, hk, rowsAt[0], qvs);
            Value masked = vector::BroadcastOp::create(kb, l, scoresType,
                                                       f32Const(kb, -1e30));
            SmallVector<SoftmaxStep> steps;
            SmallVector<Value> probs, accs;
            for (int64_t r = 0; r < kQueries; ++r) {
              // Lanes w with jb + w < this query's limit keep their score.
              Value scores = arith::SelectOp::create(
                  kb, l, lanesBelow(kb, l, jb, limits[r]), sums[r], masked);
              steps.push_back(softmaxStep(kb, l, scores, st[3 * r],
                                          st[3 * r + 1], st[3 * r + 2]));
              probs.push_back(steps.back().p);
              accs.push_back(steps.back().acc);
            }
            addValues(kb, l, hk, rowsAt, probs, accs);
            SmallVector<Value> next;
            for (auto [step, acc] : llvm::zip(steps, accs))
              next.append({step.m, step.sum, acc});
            scf::YieldOp::create(kb, l, next);
          });
      keys->setAttr("kiln.max_trips",
                    rb.getI64IntegerAttr(llvm::divideCeil(keysLen, width) *
                                         kQueries));
      for (int64_t r = 0; r < kQueries; ++r) {
        Value y = arith::DivFOp::create(
            rb, loc, keys.getResult(3 * r + 2),
            vector::BroadcastOp::create(rb, loc, vType,
                                        keys.getResult(3 * r + 1)));
        acc = vector::TransferWriteOp::create(
                  rb, loc, y, acc,
                  ValueRange{zero, zero,
                             arith::AddIOp::create(rb, loc, i0, index(r)),
                             zero},
                  ArrayRef<bool>{true})
                  .getResult();
      }
      return acc;
    };
    // (batch, head) pairs are independent: an scf.forall, which becomes the
    // scf.parallel that kiln-outline-parallel spreads over the threads.
    // Each writes its [1, 1, S, Dv] slice, its queries in a loop.
    OpFoldResult one1 = b.getIndexAttr(1);
    SmallVector<OpFoldResult> sliceSizes = {one1, one1, b.getIndexAttr(s),
                                            b.getIndexAttr(dv)};
    SmallVector<OpFoldResult> unitStrides(4, one1);
    auto heads = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(batch), b.getIndexAttr(hq)},
        ValueRange{out}, std::nullopt,
        [&](OpBuilder &fb, Location l, ValueRange args) {
          Value bi = args[0], h = args[1], shared = args[2];
          SmallVector<OpFoldResult> at = {bi, h, fb.getIndexAttr(0),
                                          fb.getIndexAttr(0)};
          Value slice = tensor::ExtractSliceOp::create(
              fb, l, RankedTensorType::get({1, 1, s, dv}, f32), shared, at,
              sliceSizes, unitStrides);
          Value rows =
              scf::ForOp::create(
                  fb, l, index(0), index(s),
                  index(blockQueries ? kQueries : 1), ValueRange{slice},
                  [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
                    scf::YieldOp::create(
                        ib, il,
                        blockQueries ? queryBlock(ib, bi, h, i, acc[0])
                                     : row(ib, bi, h, i, acc[0]));
                  })
                  .getResult(0);
          auto terminator = scf::InParallelOp::create(fb, l);
          OpBuilder::InsertionGuard guard(fb);
          fb.setInsertionPointToStart(terminator.getBody());
          tensor::ParallelInsertSliceOp::create(fb, l, rows, shared, at,
                                                sliceSizes, unitStrides);
        });
    Value result = heads.getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct KVAppendLowering : OpConversionPattern<KVAppendOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVAppendOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value row = scalarIndex(rewriter, loc, adaptor.getPosition());
    Value table = adaptor.getBlockTable();
    rewriter.replaceOp(
        op, op.getTiled() ? insertRowsTiled(rewriter, loc, adaptor.getUpdate(),
                                            adaptor.getCache(), row, table)
            : table ? insertRowsPaged(rewriter, loc, adaptor.getUpdate(),
                                      adaptor.getCache(), row, table)
                    : insertRows(rewriter, loc, adaptor.getUpdate(),
                                 adaptor.getCache(), row));
    return success();
  }
};

/// Per row: s = max|u| / 127 (1 for zeros), q = clamp(rint(u / s)) as i8,
/// both inserted at the position (the same f32 steps as
/// kiln-w8a8-quantize's weights).
struct KVAppendQuantizedLowering : OpConversionPattern<KVAppendQuantizedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVAppendQuantizedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type(), i8 = b.getI8Type();
    auto ut = cast<RankedTensorType>(op.getUpdate().getType());
    ArrayRef<int64_t> u = ut.getShape();
    Value amax = lowering::buildReduction(
        b, loc, ValueRange{adaptor.getUpdate()}, {3},
        lowering::scalarConstant(b, loc, f32, 0),
        [](OpBuilder &rb, Location l, ValueRange in, Value acc) -> Value {
          return arith::MaximumFOp::create(rb, l, acc,
                                           math::AbsFOp::create(rb, l, in[0]));
        });
    auto rowsType = RankedTensorType::get(u.drop_back(), f32);
    Value scales = lowering::buildElementwise(
        b, loc, rowsType, ValueRange{amax},
        [](OpBuilder &rb, Location l, ValueRange in) -> Value {
          Value zero = lowering::scalarConstant(rb, l, rb.getF32Type(), 0);
          Value isZero = arith::CmpFOp::create(
              rb, l, arith::CmpFPredicate::OEQ, in[0], zero);
          Value s = arith::DivFOp::create(
              rb, l, in[0],
              lowering::scalarConstant(rb, l, rb.getF32Type(), 127));
          return arith::SelectOp::create(
              rb, l, isZero,
              lowering::scalarConstant(rb, l, rb.getF32Type(), 1), s);
        });
    // The scales broadcast along the row (the map drops the last dim).
    Value scalesRow = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({u[0], u[1], u[2], 1}, f32), scales,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    Value q = lowering::buildElementwise(
        b, loc, RankedTensorType::get(u, i8),
        ValueRange{adaptor.getUpdate(), scalesRow},
        [](OpBuilder &rb, Location l, ValueRange in) -> Value {
          Type f = rb.getF32Type();
          Value r = math::RoundEvenOp::create(
              rb, l, arith::DivFOp::create(rb, l, in[0], in[1]));
          r = arith::MaximumFOp::create(
              rb, l, r, lowering::scalarConstant(rb, l, f, -127));
          r = arith::MinimumFOp::create(
              rb, l, r, lowering::scalarConstant(rb, l, f, 127));
          return arith::FPToSIOp::create(rb, l, rb.getI8Type(), r);
        });
    Value row = scalarIndex(b, loc, adaptor.getPosition());
    Value table = adaptor.getBlockTable();
    Value cache =
        op.getTiled()
            ? insertRowsTiled(b, loc, q, adaptor.getCache(), row, table)
        : table ? insertRowsPaged(b, loc, q, adaptor.getCache(), row, table)
                : insertRows(b, loc, q, adaptor.getCache(), row);
    Value newScales =
        table ? insertRowsPaged(b, loc, scales, adaptor.getScales(), row, table)
              : insertRows(b, loc, scales, adaptor.getScales(), row);
    rewriter.replaceOp(op, {cache, newScales});
    return success();
  }
};

/// QJL keys (see kiln.kv_append_qjl): per new row u at t = position + r,
/// p = u . P accumulated over d (FMA), the signs packed 8 to a byte, the
/// scale sqrt(pi/2) / m * |u|; then the last min(S, W) rows whole into the
/// window slots t % W, each tagged t.
struct KVAppendQJLLowering : OpConversionPattern<KVAppendQJLOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVAppendQJLOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type();
    ArrayRef<int64_t> u =
        cast<RankedTensorType>(op.getUpdate().getType()).getShape();
    int64_t window =
        cast<RankedTensorType>(op.getRecent().getType()).getShape()[2];
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value zero = index(0), one = index(1);
    Value position = scalarIndex(b, loc, adaptor.getPosition());
    Value update = adaptor.getUpdate(), sketch = adaptor.getSketch();
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    auto rowType = VectorType::get({u[3]}, f32);
    auto readUpdate = [&](OpBuilder &rb, Location l, ValueRange bhr) {
      return vector::TransferReadOp::create(
          rb, l, rowType, update, ValueRange{bhr[0], bhr[1], bhr[2], zero},
          pad, ArrayRef<bool>{true});
    };
    scf::LoopNest quantized = scf::buildLoopNest(
        b, loc, ValueRange{zero, zero, zero},
        ValueRange{index(u[0]), index(u[1]), index(u[2])},
        ValueRange{one, one, one},
        ValueRange{adaptor.getBits(), adaptor.getScales()},
        [&](OpBuilder &rb, Location l, ValueRange ivs,
            ValueRange state) -> scf::ValueVector {
          Value t = arith::AddIOp::create(rb, l, position, ivs[2]);
          auto [packed, scale] =
              sketchRow(rb, l, readUpdate(rb, l, ivs), sketch);
          Value bits = vector::TransferWriteOp::create(
                           rb, l, packed, state[0],
                           ValueRange{ivs[0], ivs[1], t, zero},
                           ArrayRef<bool>{true})
                           .getResult();
          Value scales = tensor::InsertOp::create(
              rb, l, scale, state[1], ValueRange{ivs[0], ivs[1], t});
          return {bits, scales};
        });

    // The window: the last min(S, W) rows whole, and their tags.
    int64_t firstKept = std::max<int64_t>(0, u[2] - window);
    scf::LoopNest kept = scf::buildLoopNest(
        b, loc, ValueRange{zero, zero, index(firstKept)},
        ValueRange{index(u[0]), index(u[1]), index(u[2])},
        ValueRange{one, one, one}, ValueRange{adaptor.getRecent()},
        [&](OpBuilder &rb, Location l, ValueRange ivs,
            ValueRange state) -> scf::ValueVector {
          Value slot = arith::RemUIOp::create(
              rb, l, arith::AddIOp::create(rb, l, position, ivs[2]),
              index(window));
          return {vector::TransferWriteOp::create(
                      rb, l, readUpdate(rb, l, ivs), state[0],
                      ValueRange{ivs[0], ivs[1], slot, zero},
                      ArrayRef<bool>{true})
                      .getResult()};
        });
    rewriter.replaceOp(
        op, {quantized.results[0], quantized.results[1], kept.results[0],
             lowering::tagRingSlots(b, loc, adaptor.getRecentPositions(),
                                    position, firstKept, u[2], window)});
    return success();
  }
};

/// QJL outlier channels (see kiln.kv_qjl_outliers): per batch, head and
/// group g the call completes (g in [position / G, (position + S) / G)):
/// the channels' squared norms over the group's keys from the ring, the k
/// largest chosen one at a time (the lowest index among equals), then
/// every key of the group still in the ring sketched as k_in and k_out.
struct KVQJLOutliersLowering : OpConversionPattern<KVQJLOutliersOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVQJLOutliersOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type(), i32 = b.getI32Type(), i8 = b.getI8Type();
    ArrayRef<int64_t> shape =
        cast<RankedTensorType>(op.getBits().getType()).getShape();
    auto rt = cast<RankedTensorType>(op.getRecent().getType());
    int64_t d = rt.getShape()[3], ring = rt.getShape()[2];
    int64_t group = op.getGroup(), count = op.getOutliers();
    auto index = [&](OpBuilder &ib, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ib, loc, v);
    };
    Value zero = index(b, 0), one = index(b, 1);
    Value position = scalarIndex(b, loc, adaptor.getPosition());
    Value groupSize = index(b, group);
    Value firstGroup = arith::DivUIOp::create(b, loc, position, groupSize);
    Value endGroup = arith::DivUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, position, index(b, op.getTokens())),
        groupSize);
    Value tags = adaptor.getRecentPositions(), recent = adaptor.getRecent();
    auto rowType = VectorType::get({d}, f32);
    auto laneType = VectorType::get({d}, i32);
    SmallVector<int32_t> iotaValues;
    for (int32_t c = 0; c < int32_t(d); ++c)
      iotaValues.push_back(c);
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    // Ring slot of key t, and whether it still holds t.
    auto slotOf = [&](OpBuilder &ib, Location l, Value t) {
      Value slot = arith::RemUIOp::create(ib, l, t, index(ib, ring));
      Value tag = tensor::ExtractOp::create(ib, l, tags, ValueRange{slot});
      Value held = arith::CmpIOp::create(
          ib, l, arith::CmpIPredicate::eq, tag,
          arith::IndexCastOp::create(ib, l, ib.getI64Type(), t));
      return std::make_pair(slot, held);
    };
    scf::LoopNest nest = scf::buildLoopNest(
        b, loc, ValueRange{zero, zero, firstGroup},
        ValueRange{index(b, shape[0]), index(b, shape[1]), endGroup},
        ValueRange{one, one, one},
        ValueRange{adaptor.getBits(), adaptor.getScales(),
                   adaptor.getOutlierBits(), adaptor.getOutlierScales(),
                   adaptor.getChannels()},
        [&](OpBuilder &gb, Location l, ValueRange ivs,
            ValueRange state) -> scf::ValueVector {
          Value bi = ivs[0], h = ivs[1], g = ivs[2];
          Value base = arith::MulIOp::create(gb, l, g, index(gb, group));
          auto readKey = [&](OpBuilder &kb, Value slot) -> Value {
            return vector::TransferReadOp::create(
                kb, l, rowType, recent, ValueRange{bi, h, slot, zero}, pad,
                ArrayRef<bool>{true});
          };
          Value iota = arith::ConstantOp::create(
              gb, l,
              DenseElementsAttr::get(laneType, ArrayRef<int32_t>(iotaValues)));
          // The group's keys all in the ring, and their channels' norms.
          Value zeros = arith::ConstantOp::create(
              gb, l, DenseElementsAttr::get(rowType, 0.0f));
          auto scan = scf::ForOp::create(
              gb, l, index(gb, 0), index(gb, group), index(gb, 1),
              ValueRange{arith::ConstantOp::create(gb, l, gb.getBoolAttr(true)),
                         zeros},
              [&](OpBuilder &kb, Location kl, Value i, ValueRange acc) {
                auto [slot, held] =
                    slotOf(kb, kl, arith::AddIOp::create(kb, kl, base, i));
                Value key = readKey(kb, slot);
                scf::YieldOp::create(
                    kb, kl,
                    ValueRange{arith::AndIOp::create(kb, kl, acc[0], held),
                               vector::FMAOp::create(kb, kl, key, key,
                                                     acc[1])});
              });
          // A complete ring chooses the channels; otherwise (keys lost
          // after a truncate) the group keeps those it has.
          auto choose = scf::IfOp::create(
              gb, l, scan.getResult(0),
              [&](OpBuilder &tb, Location tl) {
                Value norms = scan.getResult(1);
                Value channels = state[4];
                for (int64_t r = 0; r < count; ++r) {
                  Value top = vector::ReductionOp::create(
                      tb, tl, vector::CombiningKind::MAXIMUMF, norms);
                  Value isTop = arith::CmpFOp::create(
                      tb, tl, arith::CmpFPredicate::OEQ, norms,
                      vector::BroadcastOp::create(tb, tl, rowType, top));
                  Value c = vector::ReductionOp::create(
                      tb, tl, vector::CombiningKind::MINSI,
                      arith::SelectOp::create(
                          tb, tl, isTop, iota,
                          vector::BroadcastOp::create(
                              tb, tl, laneType,
                              arith::ConstantOp::create(
                                  tb, tl, tb.getI32IntegerAttr(d)))));
                  channels = tensor::InsertOp::create(
                      tb, tl, arith::TruncIOp::create(tb, tl, i8, c), channels,
                      ValueRange{bi, h, g, index(tb, r)});
                  // Taken: below every norm (norms are >= 0).
                  norms = arith::SelectOp::create(
                      tb, tl,
                      arith::CmpIOp::create(
                          tb, tl, arith::CmpIPredicate::eq, iota,
                          vector::BroadcastOp::create(tb, tl, laneType, c)),
                      vector::BroadcastOp::create(
                          tb, tl, rowType,
                          arith::ConstantOp::create(tb, tl,
                                                    tb.getF32FloatAttr(-1))),
                      norms);
                }
                scf::YieldOp::create(tb, tl, channels);
              },
              [&](OpBuilder &eb, Location el) {
                scf::YieldOp::create(eb, el, state[4]);
              });
          Value channels = choose.getResult(0);
          // The lanes of the group's channels.
          Value outlier = arith::ConstantOp::create(
              gb, l,
              DenseElementsAttr::get(
                  VectorType::get({d}, gb.getI1Type()), false));
          for (int64_t r = 0; r < count; ++r) {
            Value c = arith::ExtUIOp::create(
                gb, l, i32,
                tensor::ExtractOp::create(gb, l, channels,
                                          ValueRange{bi, h, g, index(gb, r)}));
            outlier = arith::OrIOp::create(
                gb, l, outlier,
                arith::CmpIOp::create(
                    gb, l, arith::CmpIPredicate::eq, iota,
                    vector::BroadcastOp::create(gb, l, laneType, c)));
          }
          auto keys = scf::ForOp::create(
              gb, l, index(gb, 0), index(gb, group), index(gb, 1),
              ValueRange{state[0], state[1], state[2], state[3]},
              [&](OpBuilder &kb, Location kl, Value i, ValueRange st) {
                Value t = arith::AddIOp::create(kb, kl, base, i);
                auto [slot, held] = slotOf(kb, kl, t);
                auto write = scf::IfOp::create(
                    kb, kl, held,
                    [&](OpBuilder &wb, Location wl) {
                      Value key = readKey(wb, slot);
                      Value inside = arith::SelectOp::create(
                          wb, wl, outlier, zeros, key);
                      Value apart = arith::SelectOp::create(
                          wb, wl, outlier, key, zeros);
                      auto [inBits, inScale] =
                          sketchRow(wb, wl, inside, adaptor.getSketch());
                      auto [outBits, outScale] = sketchRow(
                          wb, wl, apart, adaptor.getOutlierSketch());
                      auto writeBits = [&](Value packed, Value into) {
                        return vector::TransferWriteOp::create(
                                   wb, wl, packed, into,
                                   ValueRange{bi, h, t, zero},
                                   ArrayRef<bool>{true})
                            .getResult();
                      };
                      scf::YieldOp::create(
                          wb, wl,
                          ValueRange{writeBits(inBits, st[0]),
                                     tensor::InsertOp::create(
                                         wb, wl, inScale, st[1],
                                         ValueRange{bi, h, t}),
                                     writeBits(outBits, st[2]),
                                     tensor::InsertOp::create(
                                         wb, wl, outScale, st[3],
                                         ValueRange{bi, h, t})});
                    },
                    [&](OpBuilder &eb, Location el) {
                      scf::YieldOp::create(eb, el, st);
                    });
                scf::YieldOp::create(kb, kl, write.getResults());
              });
          scf::ValueVector out(keys.getResults().begin(),
                               keys.getResults().end());
          out.push_back(channels);
          return out;
        });
    rewriter.replaceOp(op, nest.results);
    return success();
  }
};

/// Low-bit values (see kiln.kv_append_grouped): per new row and group,
/// lo = min, s = (max - lo) / (2^bits - 1) (1 when 0), codes
/// clamp(rint((u - lo) / s)) packed at the position; s and lo beside.
struct KVAppendGroupedLowering : OpConversionPattern<KVAppendGroupedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVAppendGroupedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type f32 = b.getF32Type(), i8 = b.getI8Type();
    ArrayRef<int64_t> u =
        cast<RankedTensorType>(op.getUpdate().getType()).getShape();
    int64_t bits = op.getBits(), d = u[3];
    int64_t groups =
        cast<RankedTensorType>(op.getScales().getType()).getShape()[3];
    int64_t width = d / groups;
    double top = double((1 << bits) - 1);
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value zero = index(0), one = index(1);
    Value position = scalarIndex(b, loc, adaptor.getPosition());
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    auto groupType = VectorType::get({width}, f32);
    scf::LoopNest nest = scf::buildLoopNest(
        b, loc, ValueRange{zero, zero, zero},
        ValueRange{index(u[0]), index(u[1]), index(u[2])},
        ValueRange{one, one, one},
        ValueRange{adaptor.getCache(), adaptor.getScales(), adaptor.getMins()},
        [&](OpBuilder &rb, Location l, ValueRange ivs,
            ValueRange state) -> scf::ValueVector {
          auto f32Const = [&](double v) -> Value {
            return arith::ConstantOp::create(rb, l, rb.getF32FloatAttr(v));
          };
          Value t = arith::AddIOp::create(rb, l, position, ivs[2]);
          Value row = vector::TransferReadOp::create(
              rb, l, VectorType::get({d}, f32), adaptor.getUpdate(),
              ValueRange{ivs[0], ivs[1], ivs[2], zero}, pad,
              ArrayRef<bool>{true});
          Value codes = arith::ConstantOp::create(
              rb, l,
              DenseElementsAttr::get(VectorType::get({d}, i8), APInt(8, 0)));
          Value scales = state[1], mins = state[2];
          for (int64_t g = 0; g < groups; ++g) {
            Value piece = vector::ExtractStridedSliceOp::create(
                rb, l, row, ArrayRef<int64_t>{g * width},
                ArrayRef<int64_t>{width}, ArrayRef<int64_t>{1});
            Value lo = vector::ReductionOp::create(
                rb, l, vector::CombiningKind::MINIMUMF, piece);
            Value hi = vector::ReductionOp::create(
                rb, l, vector::CombiningKind::MAXIMUMF, piece);
            Value s = arith::DivFOp::create(
                rb, l, arith::SubFOp::create(rb, l, hi, lo), f32Const(top));
            Value flat = arith::CmpFOp::create(
                rb, l, arith::CmpFPredicate::OEQ, s, f32Const(0));
            s = arith::SelectOp::create(rb, l, flat, f32Const(1), s);
            Value q = math::RoundEvenOp::create(
                rb, l,
                arith::DivFOp::create(
                    rb, l,
                    arith::SubFOp::create(
                        rb, l, piece,
                        vector::BroadcastOp::create(rb, l, groupType, lo)),
                    vector::BroadcastOp::create(rb, l, groupType, s)));
            q = arith::MaximumFOp::create(
                rb, l, q, vector::BroadcastOp::create(rb, l, groupType,
                                                      f32Const(0)));
            q = arith::MinimumFOp::create(
                rb, l, q, vector::BroadcastOp::create(rb, l, groupType,
                                                      f32Const(top)));
            codes = vector::InsertStridedSliceOp::create(
                rb, l,
                arith::FPToUIOp::create(rb, l, VectorType::get({width}, i8),
                                        q),
                codes, ArrayRef<int64_t>{g * width}, ArrayRef<int64_t>{1});
            Value at[] = {ivs[0], ivs[1], t, index(g)};
            scales = tensor::InsertOp::create(rb, l, s, scales, at);
            mins = tensor::InsertOp::create(rb, l, lo, mins, at);
          }
          Value cache = vector::TransferWriteOp::create(
                            rb, l, packCodes(rb, l, codes, bits), state[0],
                            ValueRange{ivs[0], ivs[1], t, zero},
                            ArrayRef<bool>{true})
                            .getResult();
          return {cache, scales, mins};
        });
    rewriter.replaceOp(op, nest.results);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateAttentionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<AttentionLowering, CachedAttentionLowering, KVAppendLowering,
               KVAppendQuantizedLowering, KVAppendQJLLowering,
               KVQJLOutliersLowering,
               KVAppendGroupedLowering>(
      patterns.getContext());
}
