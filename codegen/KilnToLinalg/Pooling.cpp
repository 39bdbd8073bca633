//===- Pooling.cpp - kiln max/avg pooling -> linalg.generic ---------------===//
//
// Part of kiln. The input is padded (-inf for max, 0 for average) and one
// linalg.generic over (n, c, oh, ow, kh, kw) reduces each window; a
// `tensor.empty` of the kernel shape gives the (kh, kw) loops their extent.
// Averages are then divided by the number of counted positions, computed
// per output row and column at compile time.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Reduces every (kh, kw) window of the padded `input` into `init`
/// (shape [N, C, OH, OW]) with `combine(element, accumulator)`.
Value poolWindows(OpBuilder &b, Location loc, Value input, Value init,
                  ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                  CombineFn combine) {
  MLIRContext *context = b.getContext();
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  Value window = emptyTensor(b, loc, kernel, element);
  auto dim = [&](unsigned i) { return getAffineDimExpr(i, context); };
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0,
                     {dim(0), dim(1), dim(2) * strides[0] + dim(4),
                      dim(3) * strides[1] + dim(5)},
                     context),
      AffineMap::get(6, 0, {dim(4), dim(5)}, context),
      AffineMap::get(6, 0, {dim(0), dim(1), dim(2), dim(3)}, context)};
  SmallVector<utils::IteratorType> iterators = parallelIterators(6);
  iterators[4] = iterators[5] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{input, window},
             ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l, combine(nb, l, args.take_front(), args[2]));
             })
      .getResult(0);
}

struct MaxPool2DLowering : OpConversionPattern<MaxPool2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPool2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    Type element = resultType.getElementType();
    ArrayRef<int64_t> p = op.getPadding();
    Value lowest = lowestValue(rewriter, loc, element);
    Value input = padTensor(rewriter, loc, adaptor.getInput(),
                            {0, 0, p[0], p[1]}, {0, 0, p[2], p[3]}, lowest);
    Value init = filledTensor(rewriter, loc, resultType.getShape(), lowest);
    Value result = poolWindows(
        rewriter, loc, input, init, op.getKernel(), op.getStrides(),
        [](OpBuilder &b, Location l, ValueRange x, Value acc) -> Value {
          return arith::MaximumFOp::create(b, l, acc, x[0]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Number of counted input positions of each window along one dim.
SmallVector<int64_t> windowCounts(int64_t outSize, int64_t inSize,
                                  int64_t kernel, int64_t stride,
                                  int64_t padBegin, int64_t padEnd,
                                  bool includePad) {
  // With count_include_pad the padded positions count but, as in ONNX
  // Runtime, the window is still clipped to [-padBegin, inSize + padEnd).
  int64_t lo = includePad ? -padBegin : 0;
  int64_t hi = includePad ? inSize + padEnd : inSize;
  SmallVector<int64_t> counts;
  for (int64_t o = 0; o < outSize; ++o) {
    int64_t start = o * stride - padBegin;
    int64_t end = start + kernel;
    counts.push_back(std::min(end, hi) - std::max(start, lo));
  }
  return counts;
}

struct AvgPool2DLowering : OpConversionPattern<AvgPool2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AvgPool2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    Type element = resultType.getElementType();
    Type acc = accumulatorType(element);
    ArrayRef<int64_t> p = op.getPadding(), k = op.getKernel(),
                      s = op.getStrides();
    ArrayRef<int64_t> out = resultType.getShape();

    Value zero = scalarConstant(rewriter, loc, element, 0.0);
    Value input = padTensor(rewriter, loc, adaptor.getInput(),
                            {0, 0, p[0], p[1]}, {0, 0, p[2], p[3]}, zero);
    Value init = filledTensor(rewriter, loc, out,
                              scalarConstant(rewriter, loc, acc, 0.0));
    Value sum = poolWindows(
        rewriter, loc, input, init, k, s,
        [&](OpBuilder &b, Location l, ValueRange x, Value a) -> Value {
          return arith::AddFOp::create(b, l, a, convertScalar(b, l, x[0], acc));
        });

    bool includePad = op.getCountIncludePad();
    SmallVector<int64_t> rows = windowCounts(out[2], inType.getDimSize(2), k[0],
                                             s[0], p[0], p[2], includePad);
    SmallVector<int64_t> cols = windowCounts(out[3], inType.getDimSize(3), k[1],
                                             s[1], p[1], p[3], includePad);
    bool uniform = llvm::all_equal(rows) && llvm::all_equal(cols);

    // sum / (rows[oh] * cols[ow]); the counts are constants.
    SmallVector<Value> inputs = {sum};
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(4)};
    auto countTensor = [&](ArrayRef<int64_t> counts) {
      SmallVector<APFloat> values;
      auto ft = cast<FloatType>(acc);
      for (int64_t c : counts) {
        APFloat v(static_cast<double>(c));
        bool lost;
        v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
        values.push_back(v);
      }
      auto type =
          RankedTensorType::get({static_cast<int64_t>(counts.size())}, acc);
      return arith::ConstantOp::create(rewriter, loc,
                                       DenseFPElementsAttr::get(type, values));
    };
    if (!uniform) {
      inputs.push_back(countTensor(rows));
      inputs.push_back(countTensor(cols));
      maps.push_back(AffineMap::get(4, 0, getAffineDimExpr(2, context)));
      maps.push_back(AffineMap::get(4, 0, getAffineDimExpr(3, context)));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(4));
    double area = static_cast<double>(rows.front() * cols.front());
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{resultType}, inputs,
            ValueRange{emptyTensor(rewriter, loc, out, element)}, maps,
            parallelIterators(4),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value count = uniform
                                ? scalarConstant(b, l, acc, area)
                                : arith::MulFOp::create(b, l, args[1], args[2])
                                      .getResult();
              Value mean = arith::DivFOp::create(b, l, args[0], count);
              linalg::YieldOp::create(b, l, convertScalar(b, l, mean, element));
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populatePoolingPatterns(
    RewritePatternSet &patterns) {
  patterns.add<MaxPool2DLowering, AvgPool2DLowering>(patterns.getContext());
}
