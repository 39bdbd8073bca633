//===- Scatter.cpp - kiln scatter_nd -> scf.for over tensors --------------===//
//
// Part of kiln. Scatters apply their index rows in order (a repeated index
// keeps the last update, or accumulates), which a parallel linalg op cannot
// express, so kiln.scatter_nd becomes one scf.for over the index rows with
// the result tensor as its iteration argument:
//   row i: coordinates = indices[i, :] (negative += dim, clamped), then
//     "none":   insert updates[i] at the coordinates
//     others:   extract the slice there, combine it elementwise with
//               updates[i] (add/mul/max/min), insert it back.
// Bufferization turns the chain of inserts into in-place stores.
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

} // namespace

void mlir::kiln::lowering::populateScatterPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ScatterNDLowering>(patterns.getContext());
}
