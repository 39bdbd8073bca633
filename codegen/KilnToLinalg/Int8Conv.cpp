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
// A depthwise conv has no reduction over channels for a GEMM to share: it
// is one elementwise loop over y with a term per tap,
//
//   y[n, oh, ow, c] = sum_{kh, kw} (x_pad[n, oh*sh + kh*dh, ow*sw + kw*dw, c]
//                                   - zp) * weights[kh * KW + kw, c]
//
// which the elementwise vectorizer runs on vectors of channels (channels
// last) and fuses with the requantization that reads it.
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

/// The depthwise conv of `padded` (zero point already in the border) as
/// one elementwise generic over the result, a term per tap.
Value depthwiseTaps(OpBuilder &b, Location loc, Value padded, Value weights,
                    IntegerZeroPoint zp, IntegerConv2DOp op) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> kernel = op.getKernel(), s = op.getStrides(),
                    d = op.getDilations();
  bool last = op.getChannelsLast();
  auto dim = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // Result dims: (n, oh, ow, c) channels last, else (n, c, oh, ow).
  AffineExpr channel = dim(last ? 3 : 1), outRow = dim(last ? 1 : 2),
             outCol = dim(last ? 2 : 3);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  // `padded` has one more (unread) row and column before the window's
  // padding, so no tap reads it at plain (oh, ow): linalg takes each loop's
  // extent from the first operand indexed by that dim alone, which would
  // be the padded input's instead of the result's.
  for (int64_t kh = 0; kh < kernel[0]; ++kh)
    for (int64_t kw = 0; kw < kernel[1]; ++kw) {
      AffineExpr row = outRow * s[0] + (kh * d[0] + 1),
                 column = outCol * s[1] + (kw * d[1] + 1);
      inputs.append({padded, weights});
      maps.push_back(AffineMap::get(
          4, 0,
          last ? SmallVector<AffineExpr>{dim(0), row, column, channel}
               : SmallVector<AffineExpr>{dim(0), channel, row, column},
          ctx));
      maps.push_back(AffineMap::get(
          4, 0, {getAffineConstantExpr(kh * kernel[1] + kw, ctx), channel},
          ctx));
    }
  if (zp.runtime) {
    inputs.push_back(zp.runtime);
    maps.push_back(AffineMap::get(4, 0, {}, ctx));
  }
  maps.push_back(b.getMultiDimIdentityMap(4));
  Value out = emptyTensor(b, loc, op.getType().getShape(), b.getI32Type());
  int64_t taps = kernel[0] * kernel[1];
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{out.getType()}, inputs, ValueRange{out}, maps,
      parallelIterators(4), [&](OpBuilder &nb, Location l, ValueRange args) {
        Type i32 = nb.getI32Type();
        Value offset = zeroPointI32(nb, l, zp, args[2 * taps]);
        Value sum;
        for (int64_t t = 0; t < taps; ++t) {
          Value a = convertScalar(nb, l, args[2 * t], i32);
          if (offset)
            a = arith::SubIOp::create(nb, l, a, offset);
          Value w = arith::ExtSIOp::create(nb, l, i32, args[2 * t + 1]);
          Value term = arith::MulIOp::create(nb, l, a, w);
          sum = sum ? arith::AddIOp::create(nb, l, sum, term).getResult()
                    : term;
        }
        linalg::YieldOp::create(nb, l, sum);
      });
  return generic.getResult(0);
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
    // A depthwise conv's taps read from one row and column further in (see
    // depthwiseTaps).
    int64_t extra = op.getGroup() != 1 ? 1 : 0;
    SmallVector<int64_t> low = {0, 0, p[0] + extra, p[1] + extra},
                         high = {0, 0, p[2], p[3]};
    if (last) {
      low = {0, p[0] + extra, p[1] + extra, 0};
      high = {0, p[2], p[3], 0};
    }
    Value padded =
        padTensor(rewriter, loc, adaptor.getInput(), low, high, padValue);
    if (op.getGroup() != 1) {
      rewriter.replaceOp(op, depthwiseTaps(rewriter, loc, padded,
                                           adaptor.getWeights(), zp, op));
      return success();
    }

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
