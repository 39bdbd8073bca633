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
//   which bufferizes to a copy of the new rows into the cache's buffer.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::kiln;

namespace {

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

struct KVAppendLowering : OpConversionPattern<KVAppendOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVAppendOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ut = cast<RankedTensorType>(op.getUpdate().getType());
    Value position = tensor::ExtractOp::create(rewriter, loc,
                                               adaptor.getPosition(),
                                               ValueRange{});
    Value row = arith::IndexCastOp::create(rewriter, loc,
                                           rewriter.getIndexType(), position);
    OpFoldResult zero = rewriter.getIndexAttr(0), one = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> offsets = {zero, zero, row, zero};
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim : ut.getShape())
      sizes.push_back(rewriter.getIndexAttr(dim));
    SmallVector<OpFoldResult> strides(4, one);
    rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(
        op, adaptor.getUpdate(), adaptor.getCache(), offsets, sizes, strides);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateAttentionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<AttentionLowering, KVAppendLowering>(patterns.getContext());
}
