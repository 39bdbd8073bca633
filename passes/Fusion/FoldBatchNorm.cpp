//===- FoldBatchNorm.cpp - batch norm folded into conv weights ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Fusion/Passes.h"
#include "passes/Constants.h"

#include "dialects/Kiln/KilnOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFOLDBATCHNORMPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct FoldIntoConv : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp bn,
                                PatternRewriter &rewriter) const override {
    auto conv = bn.getInput().getDefiningOp<Conv2DOp>();
    if (!conv || !conv->hasOneUse() || conv.getLmulAttr())
      return failure();
    auto wType = cast<RankedTensorType>(conv.getWeight().getType());
    auto bType = cast<RankedTensorType>(conv.getBias().getType());
    if (!wType.hasStaticShape() || !bType.hasStaticShape())
      return failure();
    auto w = constantF32Values(conv.getWeight()),
         b = constantF32Values(conv.getBias()),
         gamma = constantF32Values(bn.getScale()),
         beta = constantF32Values(bn.getBias()),
         mean = constantF32Values(bn.getMean()),
         var = constantF32Values(bn.getVariance());
    if (!w || !b || !gamma || !beta || !mean || !var)
      return failure();
    size_t f = wType.getDimSize(0);
    if (b->size() != f || gamma->size() != f || beta->size() != f ||
        mean->size() != f || var->size() != f || w->size() % f != 0)
      return failure();
    size_t per = w->size() / f;
    double eps = bn.getEpsilon().convertToFloat();
    std::vector<float> newW(w->size()), newB(f);
    for (size_t o = 0; o < f; ++o) {
      double s = double((*gamma)[o]) / std::sqrt(double((*var)[o]) + eps);
      for (size_t i = 0; i < per; ++i)
        newW[o * per + i] = float(double((*w)[o * per + i]) * s);
      newB[o] = float((double((*b)[o]) - double((*mean)[o])) * s +
                      double((*beta)[o]));
    }
    Location loc = conv.getLoc();
    rewriter.setInsertionPoint(conv);
    Value weight = createConstant(rewriter, loc, wType, newW, "bn_folded_w");
    Value bias = createConstant(rewriter, loc, bType, newB, "bn_folded_b");
    auto folded = Conv2DOp::create(
        rewriter, loc, bn.getType(), conv.getInput(), weight, bias,
        conv.getStridesAttr(), conv.getPaddingAttr(), conv.getDilationsAttr(),
        conv.getGroupAttr(), conv.getLmulAttr(), conv.getWinogradAttr());
    rewriter.replaceOp(bn, folded.getResult());
    rewriter.eraseOp(conv);
    return success();
  }
};

struct KilnFoldBatchNormPass
    : kiln::impl::KilnFoldBatchNormPassBase<KilnFoldBatchNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIntoConv>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
