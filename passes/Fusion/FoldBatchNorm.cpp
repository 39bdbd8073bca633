//===- FoldBatchNorm.cpp - batch norm folded into conv weights ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Fusion/Passes.h"

#include "dialects/Kiln/KilnOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFOLDBATCHNORMPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The f32 values of a kiln.constant, or nullopt.
std::optional<std::vector<float>> constantValues(Value v) {
  auto constant = v.getDefiningOp<kiln::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto attr = dyn_cast<ElementsAttr>(constant.getValue());
  if (!attr || !attr.getElementType().isF32())
    return std::nullopt;
  int64_t count = attr.getNumElements();
  std::vector<float> values(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    auto it = dense.getValues<float>().begin();
    for (int64_t i = 0; i < count; ++i, ++it)
      values[i] = *it;
    return values;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || int64_t(blob->getData().size()) != count * 4)
      return std::nullopt;
    std::memcpy(values.data(), blob->getData().data(), count * 4);
    return values;
  }
  return std::nullopt;
}

Value makeConstant(PatternRewriter &rewriter, Location loc,
                   RankedTensorType type, const std::vector<float> &data,
                   StringRef name) {
  Attribute attr;
  if (data.size() <= 64)
    attr = DenseElementsAttr::get(type, ArrayRef<float>(data));
  else
    attr = DenseResourceElementsAttr::get(
        type, name,
        HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(data)));
  return kiln::ConstantOp::create(rewriter, loc, cast<ElementsAttr>(attr))
      .getResult();
}

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
    auto w = constantValues(conv.getWeight()),
         b = constantValues(conv.getBias()),
         gamma = constantValues(bn.getScale()),
         beta = constantValues(bn.getBias()),
         mean = constantValues(bn.getMean()),
         var = constantValues(bn.getVariance());
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
    Value weight = makeConstant(rewriter, loc, wType, newW, "bn_folded_w");
    Value bias = makeConstant(rewriter, loc, bType, newB, "bn_folded_b");
    auto folded = Conv2DOp::create(
        rewriter, loc, bn.getType(), conv.getInput(), weight, bias,
        conv.getStridesAttr(), conv.getPaddingAttr(), conv.getDilationsAttr(),
        conv.getGroupAttr(), conv.getLmulAttr());
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
