//===- QuantizedMatMul.cpp - kiln.quantized_matmul -> linalg --------------===//
//
// Part of kiln. The reference form: one linalg.generic over (m, n, k) that
// dequantizes each weight where it multiplies,
//   C[m, n] += A[m, k] * ((W[k, n] - Z[k / g, n]) * S[k / g, n]),
// marked with the op's #kiln.weight_quant under `kQuantizedMatmulAttr` so
// the CPU kernel (codegen/cpu/QuantizedMatmulKernel.cpp) can replace it
// with packed weights. Leading lhs dims fold into M.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

struct QuantizedMatMulLowering : OpConversionPattern<QuantizedMatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizedMatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    Type element = resultType.getElementType();
    Type acc = accumulatorType(element);
    auto lt = cast<RankedTensorType>(adaptor.getLhs().getType());
    int64_t k = lt.getShape().back(), n = resultType.getShape().back();
    int64_t m = lt.getNumElements() / std::max<int64_t>(k, 1);
    Value lhs = reshapeTo(rewriter, loc, adaptor.getLhs(),
                          RankedTensorType::get({m, k}, lt.getElementType()));
    Value init =
        filledTensor(rewriter, loc, {m, n}, scalarConstant(rewriter, loc, acc, 0));

    MLIRContext *ctx = rewriter.getContext();
    AffineExpr dm = getAffineDimExpr(0, ctx), dn = getAffineDimExpr(1, ctx),
               dk = getAffineDimExpr(2, ctx);
    int64_t g = op.getQuant().getGroup();
    auto map = [&](ArrayRef<AffineExpr> results) {
      return AffineMap::get(3, 0, results, ctx);
    };
    SmallVector<Value> inputs = {lhs, adaptor.getWeights(), adaptor.getScales()};
    SmallVector<AffineMap> maps = {map({dm, dk}), map({dk, dn}),
                                   map({dk.floorDiv(g), dn})};
    bool hasZero = static_cast<bool>(adaptor.getZeroPoints());
    if (hasZero) {
      inputs.push_back(adaptor.getZeroPoints());
      maps.push_back(map({dk.floorDiv(g), dn}));
    }
    maps.push_back(map({dm, dn}));
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
        maps,
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value w = convertScalar(b, l, args[1], acc);
          if (hasZero)
            w = arith::SubFOp::create(b, l, w,
                                      convertScalar(b, l, args[3], acc));
          w = arith::MulFOp::create(b, l, w, convertScalar(b, l, args[2], acc));
          Value a = convertScalar(b, l, args[0], acc);
          Value sum = arith::AddFOp::create(
              b, l, args.back(), arith::MulFOp::create(b, l, a, w));
          linalg::YieldOp::create(b, l, sum);
        });
    generic->setAttr(kQuantizedMatmulAttr, op.getQuant());
    Value product = generic.getResult(0);
    if (acc != element)
      product = buildElementwise(
          rewriter, loc, RankedTensorType::get({m, n}, element), product,
          [&](OpBuilder &b, Location l, ValueRange x) {
            return convertScalar(b, l, x[0], element);
          });
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, product, resultType));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateQuantizedMatMulPatterns(
    RewritePatternSet &patterns) {
  patterns.add<QuantizedMatMulLowering>(patterns.getContext());
}
