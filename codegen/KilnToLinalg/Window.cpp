//===- Window.cpp - kiln N-D conv / max_pool / avg_pool -> linalg ---------===//
//
// Part of kiln. The N-D forms of MatMulConv.cpp's conv2d and Pooling.cpp's
// pools, for any number of spatial dims:
//   conv     -> tensor.pad + a bias-filled init + one linalg.generic over
//               (n, [g,] f, o.., c, k..) reading input[n, c', o*s + k*d]
//   max_pool -> tensor.pad with the lowest value (also past the end for
//               ceil_mode) + a generic reducing (k..) windows
//   avg_pool -> the same with zeros, then a division by the number of
//               counted positions (a compile-time constant per output).
// Contractions and sums accumulate in f32 for narrower floats.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Converts an accumulator tensor to `resultType` (no-op when equal).
Value castTensor(OpBuilder &b, Location loc, Value acc,
                 RankedTensorType resultType) {
  if (acc.getType() == resultType)
    return acc;
  Type element = resultType.getElementType();
  return buildElementwise(b, loc, resultType, acc,
                          [&](OpBuilder &nb, Location l, ValueRange x) {
                            return convertScalar(nb, l, x[0], element);
                          });
}

/// Extra end padding each spatial dim needs so that every window of the
/// result (ceil mode) reads inside the padded input.
SmallVector<int64_t> ceilExtra(ArrayRef<int64_t> in, ArrayRef<int64_t> out,
                               ArrayRef<int64_t> kernel,
                               ArrayRef<int64_t> strides,
                               ArrayRef<int64_t> padding,
                               ArrayRef<int64_t> dilations) {
  int64_t k = kernel.size();
  SmallVector<int64_t> extra;
  for (int64_t i = 0; i < k; ++i) {
    int64_t effective = (kernel[i] - 1) * dilations[i] + 1;
    int64_t needed = (out[i] - 1) * strides[i] + effective;
    int64_t have = in[i] + padding[i] + padding[k + i];
    extra.push_back(std::max<int64_t>(0, needed - have));
  }
  return extra;
}

/// Pads the spatial dims of `input`: begins `padding[0..k)`, ends
/// `padding[k..2k) + extra`.
Value padSpatial(OpBuilder &b, Location loc, Value input,
                 ArrayRef<int64_t> padding, ArrayRef<int64_t> extra,
                 Value value) {
  int64_t k = padding.size() / 2;
  SmallVector<int64_t> low = {0, 0}, high = {0, 0};
  for (int64_t i = 0; i < k; ++i) {
    low.push_back(padding[i]);
    high.push_back(padding[k + i] + (extra.empty() ? 0 : extra[i]));
  }
  return padTensor(b, loc, input, low, high, value);
}

//===----------------------------------------------------------------------===//
// conv
//===----------------------------------------------------------------------===//

struct ConvLowering : OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto wt = cast<RankedTensorType>(adaptor.getWeight().getType());
    Type element = resultType.getElementType();
    Type acc = accumulatorType(element);
    ArrayRef<int64_t> s = op.getStrides(), d = op.getDilations();
    int64_t k = resultType.getRank() - 2;
    int64_t group = op.getGroup();
    int64_t n = resultType.getDimSize(0), f = resultType.getDimSize(1);
    int64_t cg = wt.getDimSize(1);
    ArrayRef<int64_t> outSpatial = resultType.getShape().drop_front(2);
    ArrayRef<int64_t> kernel = wt.getShape().drop_front(2);
    bool grouped = group > 1;

    Value zero = scalarConstant(rewriter, loc, element, 0.0);
    Value input =
        padSpatial(rewriter, loc, adaptor.getInput(), op.getPadding(), {}, zero);
    Value weight = adaptor.getWeight();
    Value bias = adaptor.getBias();
    SmallVector<int64_t> outShape = {n};
    if (grouped) {
      outShape.append({group, f / group});
      SmallVector<int64_t> wShape = {group, f / group, cg};
      llvm::append_range(wShape, kernel);
      weight = reshapeTo(rewriter, loc, weight,
                         RankedTensorType::get(wShape, element));
      bias = reshapeTo(rewriter, loc, bias,
                       RankedTensorType::get({group, f / group}, element));
    } else {
      outShape.push_back(f);
    }
    llvm::append_range(outShape, outSpatial);
    int64_t outRank = outShape.size();
    int64_t lead = outRank - k; // n, [g,] f

    auto accType = RankedTensorType::get(outShape, acc);
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, context); };
    SmallVector<AffineExpr> biasExprs = {dim(1)};
    if (grouped)
      biasExprs.push_back(dim(2));
    SmallVector<AffineMap> initMaps = {
        AffineMap::get(outRank, 0, biasExprs, context),
        rewriter.getMultiDimIdentityMap(outRank)};
    Value init =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{accType}, ValueRange{bias},
            ValueRange{emptyTensor(rewriter, loc, outShape, acc)}, initMaps,
            parallelIterators(outRank),
            [&](OpBuilder &b, Location l, ValueRange args) {
              linalg::YieldOp::create(b, l, convertScalar(b, l, args[0], acc));
            })
            .getResult(0);

    // Loops: outer (outRank), c, kernel (k).
    unsigned loops = outRank + 1 + k;
    AffineExpr dc = dim(outRank);
    AffineExpr channel = grouped ? dim(1) * cg + dc : dc;
    SmallVector<AffineExpr> inExprs = {dim(0), channel};
    for (int64_t i = 0; i < k; ++i)
      inExprs.push_back(dim(lead + i) * s[i] + dim(outRank + 1 + i) * d[i]);
    SmallVector<AffineExpr> weightExprs, outExprs;
    for (int64_t i = 1; i < lead; ++i)
      weightExprs.push_back(dim(i)); // [g,] f
    weightExprs.push_back(dc);
    for (int64_t i = 0; i < k; ++i)
      weightExprs.push_back(dim(outRank + 1 + i));
    for (int64_t i = 0; i < outRank; ++i)
      outExprs.push_back(dim(i));
    SmallVector<AffineMap> maps = {
        AffineMap::get(loops, 0, inExprs, context),
        AffineMap::get(loops, 0, weightExprs, context),
        AffineMap::get(loops, 0, outExprs, context)};
    SmallVector<utils::IteratorType> iterators = parallelIterators(loops);
    for (unsigned i = outRank; i < loops; ++i)
      iterators[i] = utils::IteratorType::reduction;
    Value conv =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{accType}, ValueRange{input, weight},
            ValueRange{init}, maps, iterators,
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value x = convertScalar(b, l, args[0], acc);
              Value y = convertScalar(b, l, args[1], acc);
              Value prod = arith::MulFOp::create(b, l, x, y);
              Value sum = arith::AddFOp::create(b, l, args[2], prod);
              linalg::YieldOp::create(b, l, sum);
            })
            .getResult(0);
    if (grouped) {
      SmallVector<int64_t> flat = {n, f};
      llvm::append_range(flat, outSpatial);
      conv = reshapeTo(rewriter, loc, conv, RankedTensorType::get(flat, acc));
    }
    rewriter.replaceOp(op, castTensor(rewriter, loc, conv, resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pools
//===----------------------------------------------------------------------===//

/// Reduces every window of the padded `input` into `init` (shape [N, C,
/// O..]) with `combine(element, accumulator)`.
Value reduceWindows(OpBuilder &b, Location loc, Value input, Value init,
                    ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                    ArrayRef<int64_t> dilations, CombineFn combine) {
  MLIRContext *context = b.getContext();
  int64_t k = kernel.size();
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  Value window = emptyTensor(b, loc, kernel, element);
  unsigned loops = 2 + 2 * k;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, context); };
  SmallVector<AffineExpr> inExprs = {dim(0), dim(1)}, winExprs, outExprs;
  for (int64_t i = 0; i < k; ++i) {
    inExprs.push_back(dim(2 + i) * strides[i] + dim(2 + k + i) * dilations[i]);
    winExprs.push_back(dim(2 + k + i));
  }
  for (int64_t i = 0; i < 2 + k; ++i)
    outExprs.push_back(dim(i));
  SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, inExprs, context),
                                 AffineMap::get(loops, 0, winExprs, context),
                                 AffineMap::get(loops, 0, outExprs, context)};
  SmallVector<utils::IteratorType> iterators = parallelIterators(loops);
  for (unsigned i = 2 + k; i < loops; ++i)
    iterators[i] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{input, window},
             ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l, combine(nb, l, args.take_front(), args[2]));
             })
      .getResult(0);
}

struct MaxPoolLowering : OpConversionPattern<MaxPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    Type element = resultType.getElementType();
    SmallVector<int64_t> extra = ceilExtra(
        inType.getShape().drop_front(2), resultType.getShape().drop_front(2),
        op.getKernel(), op.getStrides(), op.getPadding(), op.getDilations());
    Value lowest = lowestValue(rewriter, loc, element);
    Value input = padSpatial(rewriter, loc, adaptor.getInput(),
                             op.getPadding(), extra, lowest);
    Value init = filledTensor(rewriter, loc, resultType.getShape(), lowest);
    bool isFloat = isa<FloatType>(element);
    bool isUnsigned = element.isUnsignedInteger();
    Value result = reduceWindows(
        rewriter, loc, input, init, op.getKernel(), op.getStrides(),
        op.getDilations(),
        [&](OpBuilder &b, Location l, ValueRange x, Value acc) -> Value {
          if (isFloat)
            return arith::MaximumFOp::create(b, l, acc, x[0]);
          Value a = toSignless(b, l, acc), v = toSignless(b, l, x[0]);
          Value m = isUnsigned ? arith::MaxUIOp::create(b, l, a, v).getResult()
                               : arith::MaxSIOp::create(b, l, a, v).getResult();
          return fromSignless(b, l, m, element);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Number of counted positions of each window along one dim: taps at
/// o * stride - padBegin + t * dilation inside [lo, hi).
SmallVector<int64_t> windowCounts(int64_t outSize, int64_t inSize,
                                  int64_t kernel, int64_t stride,
                                  int64_t dilation, int64_t padBegin,
                                  int64_t padEnd, bool includePad) {
  int64_t lo = includePad ? -padBegin : 0;
  int64_t hi = includePad ? inSize + padEnd : inSize;
  SmallVector<int64_t> counts;
  for (int64_t o = 0; o < outSize; ++o) {
    int64_t count = 0;
    for (int64_t t = 0; t < kernel; ++t) {
      int64_t pos = o * stride - padBegin + t * dilation;
      count += pos >= lo && pos < hi;
    }
    counts.push_back(count);
  }
  return counts;
}

struct AvgPoolLowering : OpConversionPattern<AvgPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AvgPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    Type element = resultType.getElementType();
    Type acc = accumulatorType(element);
    ArrayRef<int64_t> p = op.getPadding(), kernel = op.getKernel(),
                      s = op.getStrides(), d = op.getDilations();
    ArrayRef<int64_t> out = resultType.getShape();
    ArrayRef<int64_t> in = inType.getShape();
    int64_t k = kernel.size(), rank = out.size();
    SmallVector<int64_t> extra =
        ceilExtra(in.drop_front(2), out.drop_front(2), kernel, s, p, d);

    Value zero = scalarConstant(rewriter, loc, element, 0.0);
    Value input =
        padSpatial(rewriter, loc, adaptor.getInput(), p, extra, zero);
    Value init = filledTensor(rewriter, loc, out,
                              scalarConstant(rewriter, loc, acc, 0.0));
    Value sum = reduceWindows(
        rewriter, loc, input, init, kernel, s, d,
        [&](OpBuilder &b, Location l, ValueRange x, Value a) -> Value {
          return arith::AddFOp::create(b, l, a, convertScalar(b, l, x[0], acc));
        });

    // Divisors: the product of the per-dim counts, as one constant over the
    // spatial output dims (a scalar when uniform).
    bool includePad = op.getCountIncludePad();
    SmallVector<SmallVector<int64_t>> counts;
    bool uniform = true;
    for (int64_t i = 0; i < k; ++i) {
      counts.push_back(windowCounts(out[2 + i], in[2 + i], kernel[i], s[i],
                                    d[i], p[i], p[k + i], includePad));
      uniform &= llvm::all_equal(counts.back());
    }
    SmallVector<Value> inputs = {sum};
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(rank)};
    double area = 1;
    for (auto &c : counts)
      area *= static_cast<double>(c.front());
    if (!uniform) {
      ArrayRef<int64_t> spatial = out.drop_front(2);
      int64_t total = 1;
      for (int64_t v : spatial)
        total *= v;
      SmallVector<APFloat> values;
      auto ft = cast<FloatType>(acc);
      SmallVector<int64_t> counter(k, 0);
      for (int64_t e = 0; e < total; ++e) {
        double prod = 1;
        for (int64_t i = 0; i < k; ++i)
          prod *= static_cast<double>(counts[i][counter[i]]);
        APFloat v(prod);
        bool lost;
        v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
        values.push_back(v);
        for (int64_t i = k - 1; i >= 0; --i) {
          if (++counter[i] < spatial[i])
            break;
          counter[i] = 0;
        }
      }
      auto type = RankedTensorType::get(spatial, acc);
      inputs.push_back(arith::ConstantOp::create(
          rewriter, loc, DenseFPElementsAttr::get(type, values)));
      SmallVector<AffineExpr> exprs;
      for (int64_t i = 0; i < k; ++i)
        exprs.push_back(getAffineDimExpr(2 + i, context));
      maps.push_back(AffineMap::get(rank, 0, exprs, context));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(rank));
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{resultType}, inputs,
            ValueRange{emptyTensor(rewriter, loc, out, element)}, maps,
            parallelIterators(rank),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value count =
                  uniform ? scalarConstant(b, l, acc, area) : args[1];
              Value mean = arith::DivFOp::create(b, l, args[0], count);
              linalg::YieldOp::create(b, l, convertScalar(b, l, mean, element));
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateWindowPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvLowering, MaxPoolLowering, AvgPoolLowering>(
      patterns.getContext());
}
