//===- MatMulConv.cpp - kiln matmul / conv2d -> linalg
//---------------------===//
//
// Part of kiln. Contractions accumulate in f32 (or the element type when it
// is wider, or an integer type) into a zero-filled (matmul) or
// bias-filled (conv) init, and truncate afterwards when the element type is
// narrower.
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

/// acc + a * b in the accumulator type; with an L-Mul mode (float
/// accumulators only) the product is an L-Mul (LMul.cpp) of operands
/// already prepared by prepareLMulOperand.
Value multiplyAccumulate(OpBuilder &b, Location loc, Value x, Value y,
                         Value acc, LMulAttr lmul = {}) {
  Type t = acc.getType();
  if (lmul && isa<FloatType>(t))
    return arith::AddFOp::create(
        b, loc, acc,
        convertScalar(b, loc,
                      buildLMulProduct(b, loc, x, y, lmul, /*prepared=*/true),
                      t));
  x = convertScalar(b, loc, x, t);
  y = convertScalar(b, loc, y, t);
  if (isa<FloatType>(t))
    return arith::AddFOp::create(b, loc, acc,
                                 arith::MulFOp::create(b, loc, x, y));
  return arith::AddIOp::create(b, loc, acc,
                               arith::MulIOp::create(b, loc, x, y));
}

/// Converts an accumulator-typed tensor to `resultType` (no-op when the
/// types match).
Value toResultType(OpBuilder &b, Location loc, Value acc,
                   RankedTensorType resultType) {
  if (acc.getType() == resultType)
    return acc;
  Type element = resultType.getElementType();
  return buildElementwise(b, loc, resultType, acc,
                          [&](OpBuilder &nb, Location nloc, ValueRange x) {
                            return convertScalar(nb, nloc, x[0], element);
                          });
}

bool isContractible(Type t) {
  return isa<FloatType>(t) || (isa<IntegerType>(t) && !t.isInteger(1));
}

//===----------------------------------------------------------------------===//
// MatMul
//===----------------------------------------------------------------------===//

struct MatMulLowering : OpConversionPattern<MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    auto lt = cast<RankedTensorType>(lhs.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    Type element = resultType.getElementType();
    if (!isContractible(element))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    Type acc = accumulatorType(element);
    ArrayRef<int64_t> out = resultType.getShape();
    auto accType = RankedTensorType::get(out, acc);
    Value zero = scalarConstant(rewriter, loc, acc, 0.0);
    int64_t lr = lt.getRank(), rr = rt.getRank(), orank = out.size();

    // Named ops when there is no batch broadcasting, no widening and no
    // L-Mul.
    LMulAttr lmul = isa<FloatType>(element) ? op.getLmulAttr() : LMulAttr();
    if (acc == element && !lmul) {
      if (lr == 2 && rr == 2) {
        Value init = filledTensor(rewriter, loc, out, zero);
        rewriter.replaceOp(
            op, linalg::MatmulOp::create(rewriter, loc, TypeRange{resultType},
                                         ValueRange{lhs, rhs}, ValueRange{init})
                    .getResult(0));
        return success();
      }
      // [B.., M, K] x [K, N]: fold the batch dims into M.
      if (rr == 2 && lr > 2) {
        int64_t rows = lt.getNumElements() / lt.getShape().back();
        auto flatType =
            RankedTensorType::get({rows, lt.getShape().back()}, element);
        Value flat = reshapeTo(rewriter, loc, lhs, flatType);
        Value init = filledTensor(rewriter, loc, {rows, out.back()}, zero);
        Value product =
            linalg::MatmulOp::create(rewriter, loc, TypeRange{init.getType()},
                                     ValueRange{flat, rhs}, ValueRange{init})
                .getResult(0);
        rewriter.replaceOp(op, reshapeTo(rewriter, loc, product, resultType));
        return success();
      }
      if (lr == 3 && rr == 3 && lt.getDimSize(0) == rt.getDimSize(0)) {
        Value init = filledTensor(rewriter, loc, out, zero);
        rewriter.replaceOp(op, linalg::BatchMatmulOp::create(
                                   rewriter, loc, TypeRange{resultType},
                                   ValueRange{lhs, rhs}, ValueRange{init})
                                   .getResult(0));
        return success();
      }
    }

    // L-Mul: round/saturate/flush each operand element once.
    if (lmul) {
      lhs = prepareLMulOperand(rewriter, loc, lhs, lmul);
      rhs = prepareLMulOperand(rewriter, loc, rhs, lmul);
      lt = cast<RankedTensorType>(lhs.getType());
      rt = cast<RankedTensorType>(rhs.getType());
    }

    // General case: loops (batch.., m, n, k), batch dims broadcast.
    MLIRContext *context = rewriter.getContext();
    unsigned loops = orank + 1;
    int64_t batch = orank - 2;
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, context); };
    auto operandMap = [&](RankedTensorType t, AffineExpr row, AffineExpr col) {
      SmallVector<AffineExpr> exprs;
      int64_t tb = t.getRank() - 2;
      for (int64_t i = 0; i < tb; ++i) {
        int64_t d = batch - tb + i;
        if (t.getDimSize(i) == 1 && out[d] != 1)
          exprs.push_back(getAffineConstantExpr(0, context));
        else
          exprs.push_back(dim(d));
      }
      exprs.push_back(row);
      exprs.push_back(col);
      return AffineMap::get(loops, 0, exprs, context);
    };
    AffineExpr m = dim(batch), n = dim(batch + 1), k = dim(batch + 2);
    SmallVector<AffineExpr> outExprs;
    for (int64_t d = 0; d < orank; ++d)
      outExprs.push_back(dim(d));
    SmallVector<AffineMap> maps = {operandMap(lt, m, k), operandMap(rt, k, n),
                                   AffineMap::get(loops, 0, outExprs, context)};
    SmallVector<utils::IteratorType> iterators = parallelIterators(loops);
    iterators.back() = utils::IteratorType::reduction;
    Value init = filledTensor(rewriter, loc, out, zero);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{accType}, ValueRange{lhs, rhs},
        ValueRange{init}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l,
                                  multiplyAccumulate(b, l, args[0], args[1],
                                                     args[2], lmul));
        });
    rewriter.replaceOp(
        op, toResultType(rewriter, loc, generic.getResult(0), resultType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Conv2D
//===----------------------------------------------------------------------===//

/// A new tensor of `shape` whose element at index i is x[read(i)].
Value gather(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> shape,
             ArrayRef<AffineExpr> read) {
  Type element = cast<RankedTensorType>(x.getType()).getElementType();
  unsigned rank = shape.size();
  SmallVector<AffineMap> maps = {
      AffineMap::get(rank, 0, read, b.getContext()),
      b.getMultiDimIdentityMap(rank)};
  return linalg::GenericOp::create(
             b, loc, TypeRange{RankedTensorType::get(shape, element)},
             ValueRange{x}, ValueRange{emptyTensor(b, loc, shape, element)},
             maps, parallelIterators(rank),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, args[0]);
             })
      .getResult(0);
}

/// x[n, c, oh * sh, ow * sw] as a dense [N, C, OH, OW] tensor.
Value subsample(OpBuilder &b, Location loc, Value x, int64_t oh, int64_t ow,
                int64_t sh, int64_t sw) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto dim = [&](unsigned i) { return b.getAffineDimExpr(i); };
  return gather(b, loc, x, {xt.getDimSize(0), xt.getDimSize(1), oh, ow},
                {dim(0), dim(1), dim(2) * sh, dim(3) * sw});
}

/// x [N, C, H, W] as [N, C, H, S, ceil(W / S)]: column w at phase w % S,
/// position w / S (zeros past W). A conv with column stride S then reads
/// each tap's columns contiguously: ow * S + kw * d is phase (kw * d) % S,
/// position ow + (kw * d) / S.
Value splitColumnPhases(OpBuilder &b, Location loc, Value x, int64_t s) {
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t w = xt.getDimSize(3), per = (w + s - 1) / s;
  Value zero = scalarConstant(b, loc, xt.getElementType(), 0.0);
  x = padTensor(b, loc, x, {0, 0, 0, 0}, {0, 0, 0, per * s - w}, zero);
  auto dim = [&](unsigned i) { return b.getAffineDimExpr(i); };
  return gather(b, loc, x,
                {xt.getDimSize(0), xt.getDimSize(1), xt.getDimSize(2), s, per},
                {dim(0), dim(1), dim(2), dim(4) * s + dim(3)});
}

/// Loops (n, [g,] f, oh, ow, c, kh, kw); with groups the weight is viewed as
/// [G, F/G, C/G, KH, KW] and the output as [N, G, F/G, OH, OW], and input
/// channel g * C/G + c is read.
struct Conv2DLowering : OpConversionPattern<Conv2DOp> {
  Conv2DLowering(MLIRContext *context, bool columnPhases)
      : OpConversionPattern(context), columnPhases(columnPhases) {}
  bool columnPhases;
  LogicalResult
  matchAndRewrite(Conv2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    auto resultType = cast<RankedTensorType>(op.getType());
    auto wt = cast<RankedTensorType>(adaptor.getWeight().getType());
    Type element = resultType.getElementType();
    Type acc = accumulatorType(element);
    ArrayRef<int64_t> s = op.getStrides(), p = op.getPadding(),
                      d = op.getDilations();
    int64_t group = op.getGroup();
    int64_t n = resultType.getDimSize(0), f = resultType.getDimSize(1),
            oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
    int64_t cg = wt.getDimSize(1), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
    bool grouped = group > 1;

    Value zero = scalarConstant(rewriter, loc, element, 0.0);
    Value input = padTensor(rewriter, loc, adaptor.getInput(),
                            {0, 0, p[0], p[1]}, {0, 0, p[2], p[3]}, zero);
    SmallVector<int64_t, 2> strides(s.begin(), s.end());
    // A strided 1x1 conv (ResNet's downsampling) reads one input pixel per
    // output pixel: gather those first (C*OH*OW copies against F*C*OH*OW
    // MACs), so the contraction is a stride-1 1x1 conv, i.e. a matmul over
    // contiguous pixels. The strided form's vectors gather every other
    // column and ran at 22-46 GFLOP/s instead of 80-97 on a Zen 3 core.
    if (!grouped && kh == 1 && kw == 1 && (s[0] > 1 || s[1] > 1))
      input = subsample(rewriter, loc, input, oh, ow, s[0], s[1]),
      strides = {1, 1};
    Value weight = adaptor.getWeight();
    Value bias = adaptor.getBias();
    // L-Mul: round/saturate/flush each operand element once.
    LMulAttr lmul = isa<FloatType>(element) ? op.getLmulAttr() : LMulAttr();
    // Other strided convs (ResNet's 3x3 and 7x7 stride 2) read the input
    // split into column phases: every tap's vector is then a contiguous
    // load (C*H*W copies against F*C*KH*KW*OH*OW MACs). Gathering every
    // other column ran 3x3 stride-2 convs at 37-48 GFLOP/s on a Zen 3 core,
    // against 60-84 for stride 1.
    int64_t phases =
        columnPhases && !grouped && !lmul && kw > 1 && strides[1] > 1
            ? strides[1]
            : 0;
    if (phases)
      input = splitColumnPhases(rewriter, loc, input, phases);
    if (lmul) {
      input = prepareLMulOperand(rewriter, loc, input, lmul);
      weight = prepareLMulOperand(rewriter, loc, weight, lmul);
    }
    SmallVector<int64_t> outShape = {n, f, oh, ow};
    if (grouped) {
      outShape = {n, group, f / group, oh, ow};
      weight = reshapeTo(
          rewriter, loc, weight,
          RankedTensorType::get(
              {group, f / group, cg, kh, kw},
              cast<RankedTensorType>(weight.getType()).getElementType()));
      bias = reshapeTo(rewriter, loc, bias,
                       RankedTensorType::get({group, f / group}, element));
    }
    int64_t outRank = outShape.size();

    // Init: the bias broadcast over (n, [g,] f, oh, ow), in the accumulator
    // type.
    auto accType = RankedTensorType::get(outShape, acc);
    SmallVector<AffineExpr> biasExprs = {getAffineDimExpr(1, context)};
    if (grouped)
      biasExprs.push_back(getAffineDimExpr(2, context));
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

    std::optional<WinogradMatrices> winograd =
        op.getWinograd() ? winogradMatrices(*op.getWinograd()) : std::nullopt;
    if (winograd && !grouped && !lmul) {
      auto constant = op.getWeight().getDefiningOp<ConstantOp>();
      if (std::optional<std::vector<float>> u =
              constant ? winogradWeights(constant.getValue(), f, cg, *winograd)
                       : std::nullopt) {
        Value y = winogradConv2D(rewriter, loc, adaptor.getInput(), *u, init, p,
                                 *winograd);
        rewriter.replaceOp(op, toResultType(rewriter, loc, y, resultType));
        return success();
      }
    }

    // The convolution.
    unsigned loops = outRank + 3;
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, context); };
    AffineExpr dn = dim(0), dOh = dim(outRank - 2), dOw = dim(outRank - 1),
               dc = dim(outRank), dKh = dim(outRank + 1),
               dKw = dim(outRank + 2);
    AffineExpr channel = grouped ? dim(1) * cg + dc : dc;
    AffineExpr row = dOh * strides[0] + dKh * d[0];
    AffineExpr col = dOw * strides[1] + dKw * d[1];
    SmallVector<AffineExpr> weightExprs, outExprs;
    for (int64_t i = 1; i < outRank - 2; ++i)
      weightExprs.push_back(dim(i)); // [g,] f
    weightExprs.append({dc, dKh, dKw});
    for (int64_t i = 0; i < outRank; ++i)
      outExprs.push_back(dim(i));
    SmallVector<AffineExpr> inputExprs = {dn, channel, row, col};
    if (phases)
      inputExprs = {dn, channel, row, (dKw * d[1]) % phases,
                    dOw + (dKw * d[1]).floorDiv(phases)};
    SmallVector<AffineMap> maps = {
        AffineMap::get(loops, 0, inputExprs, context),
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
              linalg::YieldOp::create(
                  b, l,
                  multiplyAccumulate(b, l, args[0], args[1], args[2], lmul));
            })
            .getResult(0);
    if (grouped)
      conv = reshapeTo(rewriter, loc, conv,
                       RankedTensorType::get({n, f, oh, ow}, acc));
    rewriter.replaceOp(op, toResultType(rewriter, loc, conv, resultType));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateMatMulConvPatterns(
    RewritePatternSet &patterns, bool columnPhases) {
  patterns.add<MatMulLowering>(patterns.getContext());
  patterns.add<Conv2DLowering>(patterns.getContext(), columnPhases);
}
