//===- Scatter.cpp - kiln scatter_nd / cumulative -> scf.for --------------===//
//
// Part of kiln. Ops whose steps depend on the previous ones become one
// scf.for with the result tensor as an iteration argument.
//
// Scatters apply their index rows in order (a repeated index keeps the
// last update, or accumulates), which a parallel linalg op cannot express:
//   row i: coordinates = indices[i, :] (negative += dim, clamped), then
//     "none":   insert updates[i] at the coordinates
//     others:   extract the slice there, combine it elementwise with
//               updates[i] (add/mul/max/min), insert it back.
// Bufferization turns the chain of inserts into in-place stores.
//
// kiln.cumulative walks the axis (backwards with `reverse`) carrying the
// running sum/product of the slices seen so far: each step writes the carry
// (exclusive) or the carry combined with the current slice (inclusive).
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Combines two scalars of `element` as `reduction` says.
Value combineScalars(OpBuilder &b, Location loc, StringRef reduction,
                     Value acc, Value update, Type element) {
  if (isa<FloatType>(element)) {
    if (reduction == "add")
      return arith::AddFOp::create(b, loc, acc, update);
    if (reduction == "mul")
      return arith::MulFOp::create(b, loc, acc, update);
    if (reduction == "max")
      return arith::MaximumFOp::create(b, loc, acc, update);
    return arith::MinimumFOp::create(b, loc, acc, update);
  }
  bool isUnsigned = element.isUnsignedInteger();
  Value a = toSignless(b, loc, acc), u = toSignless(b, loc, update);
  Value r;
  if (reduction == "add")
    r = arith::AddIOp::create(b, loc, a, u);
  else if (reduction == "mul")
    r = arith::MulIOp::create(b, loc, a, u);
  else if (reduction == "max")
    r = isUnsigned ? arith::MaxUIOp::create(b, loc, a, u).getResult()
                   : arith::MaxSIOp::create(b, loc, a, u).getResult();
  else
    r = isUnsigned ? arith::MinUIOp::create(b, loc, a, u).getResult()
                   : arith::MinSIOp::create(b, loc, a, u).getResult();
  return fromSignless(b, loc, r, element);
}

struct ScatterNDLowering : OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto dataType = cast<RankedTensorType>(op.getType());
    auto idxType = cast<RankedTensorType>(adaptor.getIndices().getType());
    auto updType = cast<RankedTensorType>(adaptor.getUpdates().getType());
    Type element = dataType.getElementType();
    StringRef reduction = op.getReduction();
    ArrayRef<int64_t> dataShape = dataType.getShape();
    int64_t rank = dataShape.size();
    int64_t k = idxType.getShape().back();
    int64_t rows = 1;
    for (int64_t dsz : idxType.getShape().drop_back())
      rows *= dsz;
    ArrayRef<int64_t> rest = dataShape.drop_front(k);
    if (rows == 0 || dataType.getNumElements() == 0) {
      rewriter.replaceOp(op, adaptor.getData());
      return success();
    }
    // [rows, k] indices and [rows, rest..] updates.
    Value indices = reshapeTo(
        rewriter, loc, adaptor.getIndices(),
        RankedTensorType::get({rows, k}, idxType.getElementType()));
    SmallVector<int64_t> updFlat = {rows};
    llvm::append_range(updFlat, rest);
    Value updates = reshapeTo(rewriter, loc, adaptor.getUpdates(),
                              RankedTensorType::get(updFlat, element));
    (void)updType;

    Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value ub = arith::ConstantIndexOp::create(rewriter, loc, rows);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(
        rewriter, loc, lb, ub, one, ValueRange{adaptor.getData()},
        [&](OpBuilder &b, Location l, Value iv, ValueRange iterArgs) {
          Value acc = iterArgs[0];
          SmallVector<Value> coords;
          Value zero = arith::ConstantIndexOp::create(b, l, 0);
          for (int64_t j = 0; j < k; ++j) {
            Value jv = arith::ConstantIndexOp::create(b, l, j);
            Value raw = tensor::ExtractOp::create(b, l, indices,
                                                  ValueRange{iv, jv});
            Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
            Value size = arith::ConstantIndexOp::create(b, l, dataShape[j]);
            Value last = arith::ConstantIndexOp::create(b, l, dataShape[j] - 1);
            Value negative =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
            Value wrapped = arith::SelectOp::create(
                b, l, negative, arith::AddIOp::create(b, l, i, size), i);
            coords.push_back(arith::MinSIOp::create(
                b, l, arith::MaxSIOp::create(b, l, wrapped, zero), last));
          }
          Value next;
          if (rest.empty()) {
            // One element per row.
            Value u = tensor::ExtractOp::create(b, l, updates, ValueRange{iv});
            if (reduction != "none") {
              Value old = tensor::ExtractOp::create(b, l, acc, coords);
              u = combineScalars(b, l, reduction, old, u, element);
            }
            next = tensor::InsertOp::create(b, l, u, acc, coords);
          } else {
            auto sliceType = RankedTensorType::get(rest, element);
            // updates[iv, :..]
            SmallVector<OpFoldResult> uOff = {iv}, uSize = {b.getIndexAttr(1)},
                                      uStride(1 + rest.size(),
                                              b.getIndexAttr(1));
            for (int64_t r : rest) {
              uOff.push_back(b.getIndexAttr(0));
              uSize.push_back(b.getIndexAttr(r));
            }
            Value u = tensor::ExtractSliceOp::create(b, l, sliceType, updates,
                                                     uOff, uSize, uStride);
            SmallVector<OpFoldResult> off, size, stride(rank, b.getIndexAttr(1));
            for (Value c : coords) {
              off.push_back(c);
              size.push_back(b.getIndexAttr(1));
            }
            for (int64_t r : rest) {
              off.push_back(b.getIndexAttr(0));
              size.push_back(b.getIndexAttr(r));
            }
            if (reduction != "none") {
              Value old = tensor::ExtractSliceOp::create(b, l, sliceType, acc,
                                                         off, size, stride);
              u = buildElementwise(
                  b, l, sliceType, ValueRange{old, u},
                  [&](OpBuilder &nb, Location nl, ValueRange x) {
                    return combineScalars(nb, nl, reduction, x[0], x[1],
                                          element);
                  });
            }
            next = tensor::InsertSliceOp::create(b, l, u, acc, off, size,
                                                 stride);
          }
          scf::YieldOp::create(b, l, next);
        });
    rewriter.replaceOp(op, loop.getResult(0));
    (void)rank;
    return success();
  }
};


struct CumulativeLowering : OpConversionPattern<CumulativeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CumulativeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Type element = type.getElementType();
    int64_t axis = op.getAxis(), rank = type.getRank();
    int64_t n = type.getDimSize(axis);
    if (type.getNumElements() == 0) {
      rewriter.replaceOp(op, adaptor.getInput());
      return success();
    }
    bool isProd = op.getKind() == "prod";
    bool exclusive = op.getExclusive(), reverse = op.getReverse();
    StringRef combineKind = isProd ? "mul" : "add";
    // Slices: the full shape with the axis of size 1.
    SmallVector<int64_t> sliceShape(type.getShape());
    sliceShape[axis] = 1;
    auto sliceType = RankedTensorType::get(sliceShape, element);
    Value identity = scalarConstant(rewriter, loc, signlessType(element),
                                    isProd ? 1.0 : 0.0);
    identity = fromSignless(rewriter, loc, identity, element);
    Value carry0 = filledTensor(rewriter, loc, sliceShape, identity);
    Value init = emptyTensor(rewriter, loc, type.getShape(), element);
    Value input = adaptor.getInput();
    Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value ub = arith::ConstantIndexOp::create(rewriter, loc, n);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(
        rewriter, loc, lb, ub, one, ValueRange{init, carry0},
        [&](OpBuilder &b, Location l, Value iv, ValueRange iterArgs) {
          Value pos = iv;
          if (reverse)
            pos = arith::SubIOp::create(
                b, l, arith::ConstantIndexOp::create(b, l, n - 1), iv);
          SmallVector<OpFoldResult> off(rank, b.getIndexAttr(0)), size,
              stride(rank, b.getIndexAttr(1));
          for (int64_t d : sliceShape)
            size.push_back(b.getIndexAttr(d));
          off[axis] = pos;
          Value x = tensor::ExtractSliceOp::create(b, l, sliceType, input, off,
                                                   size, stride);
          Value carry = iterArgs[1], result = iterArgs[0];
          // The carry is updated in place (outs), so that both yielded
          // values bufferize to their iteration arguments.
          auto update = [&](Value c) {
            AffineMap id = b.getMultiDimIdentityMap(rank);
            return linalg::GenericOp::create(
                       b, l, TypeRange{sliceType}, ValueRange{x},
                       ValueRange{c}, ArrayRef<AffineMap>{id, id},
                       parallelIterators(rank),
                       [&](OpBuilder &nb, Location nl, ValueRange v) {
                         linalg::YieldOp::create(
                             nb, nl,
                             combineScalars(nb, nl, combineKind, v[1], v[0],
                                            element));
                       })
                .getResult(0);
          };
          Value next;
          if (exclusive) {
            result = tensor::InsertSliceOp::create(b, l, carry, result, off,
                                                   size, stride);
            next = update(carry);
          } else {
            next = update(carry);
            result = tensor::InsertSliceOp::create(b, l, next, result, off,
                                                   size, stride);
          }
          scf::YieldOp::create(b, l, ValueRange{result, next});
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateScatterPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ScatterNDLowering, CumulativeLowering>(patterns.getContext());
}
