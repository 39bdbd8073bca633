//===- Sampling.cpp - kiln grid_sample -> linalg.generic ------------------===//
//
// Part of kiln. kiln.grid_sample becomes one linalg.generic over the result
// [N, C, O..] whose body does, per output element, what ONNX's reference
// does per pixel: read the k grid components (tensor.extract), map them to
// input coordinates (align_corners), round (nearest) or split into integer
// taps and weights (linear: 2 per dim, cubic: 4 per dim, Keys A = -0.75),
// apply the padding mode to the coordinate (border clamp, reflection) and
// to every tap (zeros outside, clamp, reflect), and sum weight * input over
// the taps' tensor product. Arithmetic is in f32 (f64 for f64 inputs).
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Scalar arithmetic helpers on one float type.
struct Scalar {
  OpBuilder &b;
  Location loc;
  Type t;
  Value c(double v) { return scalarConstant(b, loc, t, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value floor(Value x) { return math::FloorOp::create(b, loc, x); }
  Value lt(Value x, Value y) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, y);
  }
  Value gt(Value x, Value y) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, y);
  }
  Value eq(Value x, Value y) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, y);
  }
  Value select(Value cond, Value x, Value y) {
    return arith::SelectOp::create(b, loc, cond, x, y);
  }
  Value clamp(Value x, double lo, double hi) {
    Value a = arith::MaximumFOp::create(b, loc, x, c(lo));
    return arith::MinimumFOp::create(b, loc, a, c(hi));
  }
  /// ONNX's _gs_reflect: reflect x by the near border until it lies in
  /// [lo, hi].
  Value reflect(Value x, double lo, double hi) {
    double range = hi - lo;
    if (range <= 0)
      return c(lo);
    Value below = lt(x, c(lo)), above = gt(x, c(hi));
    Value dx = select(below, sub(c(lo), x), sub(x, c(hi)));
    Value n = floor(div(dx, c(range)));
    Value r = sub(dx, mul(n, c(range)));
    Value half = floor(mul(n, c(0.5)));
    Value even = eq(sub(n, mul(half, c(2))), c(0));
    Value fromLo = add(c(lo), r), fromHi = sub(c(hi), r);
    Value belowV = select(even, fromLo, fromHi);
    Value aboveV = select(even, fromHi, fromLo);
    return select(below, belowV, select(above, aboveV, x));
  }
};

/// Keys cubic convolution weights for fraction `f` (A = -0.75).
SmallVector<Value> cubicCoeffs(Scalar &s, Value f) {
  double a = -0.75;
  Value one = s.c(1), two = s.c(2);
  auto outer = [&](Value x) { // ((a*x - 5a)*x + 8a)*x - 4a, 1 < x < 2
    Value t = s.sub(s.mul(s.c(a), x), s.c(5 * a));
    t = s.add(s.mul(t, x), s.c(8 * a));
    return s.sub(s.mul(t, x), s.c(4 * a));
  };
  auto inner = [&](Value x) { // ((a+2)*x - (a+3))*x*x + 1, x <= 1
    Value t = s.sub(s.mul(s.c(a + 2), x), s.c(a + 3));
    return s.add(s.mul(s.mul(t, x), x), one);
  };
  Value q = s.sub(one, f);
  return {outer(s.add(f, one)), inner(f), inner(q), outer(s.sub(two, f))};
}

struct GridSampleLowering : OpConversionPattern<GridSampleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GridSampleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    Type element = resultType.getElementType();
    Type acc = element.isF64() ? element : rewriter.getF32Type();
    int64_t rank = resultType.getRank(), k = rank - 2;
    ArrayRef<int64_t> lengths = inType.getShape().drop_front(2);
    StringRef mode = op.getMode(), padding = op.getPaddingMode();
    bool align = op.getAlignCorners();
    Value input = adaptor.getInput(), grid = adaptor.getGrid();
    if (resultType.getNumElements() == 0 || inType.getNumElements() == 0) {
      Value zero = scalarConstant(rewriter, loc, element, 0.0);
      rewriter.replaceOp(
          op, filledTensor(rewriter, loc, resultType.getShape(), zero));
      return success();
    }
    Value init =
        emptyTensor(rewriter, loc, resultType.getShape(), element);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, ValueRange{}, ValueRange{init},
        ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(rank)},
        parallelIterators(rank),
        [&](OpBuilder &b, Location l, ValueRange) {
          Scalar s{b, l, acc};
          SmallVector<Value> iv;
          for (int64_t d = 0; d < rank; ++d)
            iv.push_back(linalg::IndexOp::create(b, l, d));
          // Coordinates per spatial dim d (grid component k - 1 - d).
          SmallVector<Value> coord(k);
          SmallVector<double> lo(k), hi(k);
          for (int64_t d = 0; d < k; ++d) {
            double len = double(lengths[d]);
            lo[d] = align ? 0.0 : -0.5;
            hi[d] = align ? len - 1 : len - 0.5;
            SmallVector<Value> gi = {iv[0]};
            for (int64_t o = 0; o < k; ++o)
              gi.push_back(iv[2 + o]);
            gi.push_back(arith::ConstantIndexOp::create(b, l, k - 1 - d));
            Value g = convertScalar(
                b, l, tensor::ExtractOp::create(b, l, grid, gi), acc);
            // align_corners: (g + 1) / 2 * (L - 1); else ((g + 1) L - 1) / 2
            Value x =
                align ? s.mul(s.mul(s.add(g, s.c(1)), s.c(0.5)),
                              s.c(len - 1))
                      : s.mul(s.sub(s.mul(s.add(g, s.c(1)), s.c(len)),
                                    s.c(1)),
                              s.c(0.5));
            if (mode == "nearest")
              x = math::RoundEvenOp::create(b, l, x);
            if (padding == "border") {
              Value out = arith::OrIOp::create(b, l, s.lt(x, s.c(lo[d])),
                                               s.gt(x, s.c(hi[d])));
              x = s.select(out, s.clamp(x, 0, len - 1), x);
            } else if (padding == "reflection") {
              x = s.reflect(x, lo[d], hi[d]);
            }
            coord[d] = x;
          }
          // Taps and weights per dim.
          SmallVector<SmallVector<Value>> tapPos(k), tapWeight(k);
          for (int64_t d = 0; d < k; ++d) {
            Value x = coord[d];
            if (mode == "nearest") {
              tapPos[d] = {x};
              tapWeight[d] = {Value()};
              continue;
            }
            Value x0 = s.floor(x);
            Value f = s.sub(x, x0);
            if (mode == "linear") {
              tapPos[d] = {x0, s.add(x0, s.c(1))};
              tapWeight[d] = {s.sub(s.c(1), f), f};
            } else {
              tapPos[d] = {s.sub(x0, s.c(1)), x0, s.add(x0, s.c(1)),
                           s.add(x0, s.c(2))};
              tapWeight[d] = cubicCoeffs(s, f);
            }
          }
          // Pixel index (and validity) of a tap coordinate along dim d.
          Type i64 = b.getI64Type();
          auto pixel = [&](int64_t d, Value pos, Value &valid) -> Value {
            double len = double(lengths[d]);
            if (padding == "reflection")
              pos = s.reflect(pos, lo[d], hi[d]);
            Value ip = arith::FPToSIOp::create(b, l, i64, pos);
            Value zero = arith::ConstantOp::create(b, l, b.getI64IntegerAttr(0));
            Value last = arith::ConstantOp::create(
                b, l, b.getI64IntegerAttr(lengths[d] - 1));
            if (padding == "zeros") {
              Value inLo = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::sge, ip, zero);
              Value inHi = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::sle, ip, last);
              Value ok = arith::AndIOp::create(b, l, inLo, inHi);
              valid = valid ? arith::AndIOp::create(b, l, valid, ok).getResult()
                            : ok;
            }
            (void)len;
            Value cl = arith::MinSIOp::create(
                b, l, arith::MaxSIOp::create(b, l, ip, zero), last);
            return arith::IndexCastOp::create(b, l, b.getIndexType(), cl);
          };
          int64_t perDim = tapPos[0].size();
          int64_t taps = 1;
          for (int64_t d = 0; d < k; ++d)
            taps *= perDim;
          Value sum = s.c(0);
          SmallVector<int64_t> tap(k, 0);
          for (int64_t t = 0; t < taps; ++t) {
            SmallVector<Value> idx = {iv[0], iv[1]};
            Value valid, weight;
            for (int64_t d = 0; d < k; ++d) {
              idx.push_back(pixel(d, tapPos[d][tap[d]], valid));
              if (Value w = tapWeight[d][tap[d]])
                weight = weight ? s.mul(weight, w) : w;
            }
            Value v = convertScalar(
                b, l, tensor::ExtractOp::create(b, l, input, idx), acc);
            if (valid)
              v = s.select(valid, v, s.c(0));
            sum = weight ? s.add(sum, s.mul(weight, v)) : s.add(sum, v);
            for (int64_t d = k - 1; d >= 0; --d) {
              if (++tap[d] < perDim)
                break;
              tap[d] = 0;
            }
          }
          linalg::YieldOp::create(b, l, convertScalar(b, l, sum, element));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateSamplingPatterns(
    RewritePatternSet &patterns) {
  patterns.add<GridSampleLowering>(patterns.getContext());
}
