//===- Int8Conv.cpp - kiln.integer_conv2d -> linalg -----------------------===//
//
// Part of kiln. An 8-bit convolution as one integer GEMM over its im2col
// rows, so that it runs on the int8 kernel of kiln.integer_matmul
// (codegen/cpu/Int8MatmulKernel.cpp):
//
//   x_pad[n, c, h, w]            = x, padded with the zero point (adds 0)
//   col[n, oh, ow, kh, kw, c]    = x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw]
//   acc[(n, oh, ow), f]          = sum_k (col[.., k] - zp) * weights[k, f]
//   y[n, f, oh, ow]              = acc[(n, oh, ow), f]
//
// The rows stay 8-bit (a 3x3 conv's col is 9 bytes per input byte, a
// quarter of an f32 im2col), channels last so that the copy runs on
// vectors of channels; a 1x1 stride-1 conv's col is a transpose. The
// last step is a transposing copy that elementwise fusion merges with the
// dequantization that reads y; a channels-last conv (kiln-channels-last-
// conv) has none, and its 1x1 stride-1 rows are the input itself.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// A generic copying `input` into a fresh tensor of `shape` with `readMap`
/// (from the result's indices to the input's).
Value gatherCopy(OpBuilder &b, Location loc, Value input,
                 ArrayRef<int64_t> shape, AffineMap readMap) {
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  Value out = emptyTensor(b, loc, shape, element);
  auto copy = linalg::GenericOp::create(
      b, loc, TypeRange{out.getType()}, ValueRange{input}, ValueRange{out},
      {readMap, b.getMultiDimIdentityMap(shape.size())},
      parallelIterators(shape.size()),
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, args[0]);
      });
  return copy.getResult(0);
}

struct IntegerConv2DLowering : OpConversionPattern<IntegerConv2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IntegerConv2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto xt = cast<RankedTensorType>(op.getInput().getType());
    auto yt = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> kernel = op.getKernel(), s = op.getStrides(),
                      p = op.getPadding(), d = op.getDilations();
    bool last = op.getChannelsLast();
    int64_t n = xt.getDimSize(0), c = xt.getDimSize(last ? 3 : 1),
            f = yt.getDimSize(last ? 3 : 1), oh = yt.getDimSize(last ? 1 : 2),
            ow = yt.getDimSize(last ? 2 : 3);
    IntegerZeroPoint zp = integerZeroPoint(op.getInputZeroPoint(),
                                           adaptor.getInputZeroPoint());

    // Padded positions hold the zero point, so they contribute 0.
    Value padValue =
        zp.runtime ? tensor::ExtractOp::create(rewriter, loc, zp.runtime,
                                               ValueRange{})
                         .getResult()
                   : scalarConstant(rewriter, loc, xt.getElementType(),
                                    double(zp.constant));
    SmallVector<int64_t> low = {0, 0, p[0], p[1]}, high = {0, 0, p[2], p[3]};
    if (last) {
      low = {0, p[0], p[1], 0};
      high = {0, p[2], p[3], 0};
    }
    Value padded =
        padTensor(rewriter, loc, adaptor.getInput(), low, high, padValue);

    // col[n, oh, ow, kh, kw, c] = x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw]
    // (channels last: x_pad[n, oh*sh + kh*dh, ow*sw + kw*dw, c], and a 1x1
    // stride-1 conv's rows are the input itself).
    auto dim = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineExpr row = dim(1) * s[0] + dim(3) * d[0],
               column = dim(2) * s[1] + dim(4) * d[1];
    AffineMap window = AffineMap::get(
        6, 0,
        last ? SmallVector<AffineExpr>{dim(0), row, column, dim(5)}
             : SmallVector<AffineExpr>{dim(0), dim(5), row, column},
        ctx);
    bool pointwise = last && kernel[0] == 1 && kernel[1] == 1 && s[0] == 1 &&
                     s[1] == 1;
    Value col = pointwise ? padded
                          : gatherCopy(rewriter, loc, padded,
                                       {n, oh, ow, kernel[0], kernel[1], c},
                                       window);
    int64_t rows = n * oh * ow, k = c * kernel[0] * kernel[1];
    col = reshapeTo(rewriter, loc, col,
                    RankedTensorType::get({rows, k}, xt.getElementType()));

    Value acc =
        integerContraction(rewriter, loc, col, adaptor.getWeights(), zp);
    acc = reshapeTo(rewriter, loc, acc,
                    RankedTensorType::get({n, oh, ow, f}, yt.getElementType()));
    if (last) {
      rewriter.replaceOp(op, acc);
      return success();
    }
    // y[n, f, oh, ow] = acc[n, oh, ow, f].
    AffineMap toNHWC =
        AffineMap::get(4, 0, {dim(0), dim(2), dim(3), dim(1)}, ctx);
    rewriter.replaceOp(op, gatherCopy(rewriter, loc, acc, yt.getShape(), toNHWC));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateInt8ConvPatterns(
    RewritePatternSet &patterns) {
  patterns.add<IntegerConv2DLowering>(patterns.getContext());
}
