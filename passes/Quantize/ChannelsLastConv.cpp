//===- ChannelsLastConv.cpp - kiln-channels-last-conv ---------------------===//
//
// Part of kiln. kiln.integer_conv2d reads im2col rows whose channels are
// contiguous and writes output pixels with their channels contiguous: in
// ONNX's NCHW layout both sides need a transpose (a gather per element).
// This pass runs a chain of such convs in NHWC instead:
//
//   1. every NCHW integer conv becomes
//        transpose(conv_channels_last(transpose(x, NCHW -> NHWC)), back)
//   2. transposes sink through elementwise ops (casts, the float ops of a
//      QDQ model's quantize/dequantize steps, activations, residual adds,
//      batch norms written as such ops; a broadcast constant with one
//      non-unit dim is reshaped to match)
//   3. a transpose followed by its inverse cancels.
//
// Between two convs of a QDQ ResNet every op is elementwise, so the
// transposes meet and vanish; they remain only where a non-elementwise op
// (a pool, a reshape) reads a conv's result, once per such op.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/Passes.h"

#include "dialects/Kiln/KilnOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCHANNELSLASTCONVPASS
#include "passes/Quantize/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

constexpr int64_t kToChannelsLast[] = {0, 2, 3, 1};
constexpr int64_t kToChannelsFirst[] = {0, 3, 1, 2};

/// `type` permuted: result dim i is dim perm[i].
RankedTensorType permuted(RankedTensorType type, ArrayRef<int64_t> perm) {
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  return type.clone(shape);
}

Value transpose(PatternRewriter &b, Location loc, Value v,
                ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(v.getType());
  return TransposeOp::create(b, loc, permuted(type, perm), v,
                             b.getDenseI64ArrayAttr(perm));
}

bool isElementwiseUnary(Operation *op) {
  return isa<CastOp, ReluOp, NegOp, AbsOp, SqrtOp, ExpOp, LogOp, ErfOp, TanhOp,
             SigmoidOp, ReciprocalOp, RoundOp, FloorOp, CeilOp, SignOp,
             LeakyReluOp, ClipOp, GeluOp>(op);
}

bool isElementwiseBinary(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp>(op);
}

/// The NCHW integer conv as a channels-last one between transposes.
struct ConvToChannelsLast : OpRewritePattern<IntegerConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(IntegerConv2DOp op,
                                PatternRewriter &b) const override {
    if (op.getChannelsLast())
      return failure();
    Location loc = op.getLoc();
    Value x = transpose(b, loc, op.getInput(), kToChannelsLast);
    auto type = cast<RankedTensorType>(op.getType());
    auto conv = IntegerConv2DOp::create(
        b, loc, permuted(type, kToChannelsLast), x, op.getWeights(),
        op.getInputZeroPoint(), op.getKernelAttr(), op.getStridesAttr(),
        op.getPaddingAttr(), op.getDilationsAttr(), b.getUnitAttr(),
        op.getGroupAttr());
    b.replaceOp(op, transpose(b, loc, conv, kToChannelsFirst));
    return success();
  }
};

/// transpose(transpose(x, p), q) -> x when q undoes p.
struct CancelTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &b) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    ArrayRef<int64_t> p = inner.getPerm(), q = op.getPerm();
    for (size_t i = 0; i < q.size(); ++i)
      if (p[q[i]] != int64_t(i))
        return failure();
    b.replaceOp(op, inner.getInput());
    return success();
  }
};

/// The shape in the untransposed layout of a broadcast operand of a
/// binary op whose other operand is transposed by `perm`: a value with at
/// most one non-unit dim only needs a reshape (its elements keep their
/// order). Nullopt for any other value.
std::optional<SmallVector<int64_t>> untransposedShape(RankedTensorType type,
                                                      ArrayRef<int64_t> perm) {
  int64_t rank = perm.size();
  if (type.getRank() > rank ||
      llvm::count_if(type.getShape(), [](int64_t d) { return d != 1; }) > 1)
    return std::nullopt;
  if (type.getRank() == 0)
    return SmallVector<int64_t>();
  // Right-aligned to `rank` dims, then permuted back.
  SmallVector<int64_t> full(rank - type.getRank(), 1);
  full.append(type.getShape().begin(), type.getShape().end());
  SmallVector<int64_t> shape(rank, 1);
  for (int64_t i = 0; i < rank; ++i)
    shape[perm[i]] = full[i];
  // Without leading unit dims, as numpy broadcasting aligns from the right
  // (a per-channel [F, 1, 1] becomes [F], not [1, 1, 1, F]).
  while (shape.size() > 1 && shape.front() == 1)
    shape.erase(shape.begin());
  return shape;
}

/// A batch norm reading a transposed conv result (a QDQ model keeps it
/// between the conv's DequantizeLinear and the next QuantizeLinear) as
/// the elementwise ops its lowering computes, in the same order and
/// precision, with [C, 1, 1] parameters: ((x - mean) / sqrt(var + eps)) *
/// scale + bias. Those ops then take the transpose further down.
struct BatchNormAsElementwise : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp op,
                                PatternRewriter &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    auto paramType = cast<RankedTensorType>(op.getScale().getType());
    if (!op.getInput().getDefiningOp<TransposeOp>() || type.getRank() != 4 ||
        paramType.getRank() != 1 || !type.getElementType().isF32())
      return failure();
    Location loc = op.getLoc();
    auto channelType = paramType.clone({paramType.getDimSize(0), 1, 1});
    auto param = [&](Value v) -> Value {
      return ReshapeOp::create(b, loc, channelType, v);
    };
    auto epsType = RankedTensorType::get({}, b.getF32Type());
    Value eps = ConstantOp::create(
        b, loc, DenseElementsAttr::get(epsType, op.getEpsilon()));
    Value d = SubOp::create(b, loc, op.getInput(), param(op.getMean()));
    Value stddev = SqrtOp::create(
        b, loc, AddOp::create(b, loc, param(op.getVariance()), eps));
    Value y = DivOp::create(b, loc, d, stddev);
    y = MulOp::create(b, loc, y, param(op.getScale()));
    y = AddOp::create(b, loc, y, param(op.getBias()));
    b.replaceOp(op, y);
    return success();
  }
};

/// op(transpose(x, p)) -> transpose(op(x), p) for elementwise ops.
struct SinkTranspose : RewritePattern {
  SinkTranspose(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &b) const override {
    bool unary = isElementwiseUnary(op), binary = isElementwiseBinary(op);
    if (!unary && !binary)
      return failure();
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    // The operand that is a transpose with the result's full shape.
    std::optional<ArrayRef<int64_t>> perm;
    for (Value operand : op->getOperands())
      if (auto t = operand.getDefiningOp<TransposeOp>())
        if (cast<RankedTensorType>(t.getType()).getShape() ==
            resultType.getShape()) {
          perm = t.getPerm();
          break;
        }
    if (!perm)
      return failure();
    // Every operand must have an untransposed form before anything is
    // created: the transpose's input, or a reshaped broadcast operand.
    SmallVector<std::optional<SmallVector<int64_t>>> reshapes;
    for (Value operand : op->getOperands()) {
      auto t = operand.getDefiningOp<TransposeOp>();
      if (t && t.getPerm() == *perm &&
          cast<RankedTensorType>(t.getType()).getShape() ==
              resultType.getShape()) {
        reshapes.push_back(std::nullopt);
        continue;
      }
      auto shape = untransposedShape(
          cast<RankedTensorType>(operand.getType()), *perm);
      if (!shape)
        return failure();
      reshapes.push_back(shape);
    }
    Location loc = op->getLoc();
    SmallVector<Value> operands;
    for (auto [operand, shape] : llvm::zip(op->getOperands(), reshapes)) {
      auto type = cast<RankedTensorType>(operand.getType());
      if (!shape)
        operands.push_back(operand.getDefiningOp<TransposeOp>().getInput());
      else if (ArrayRef<int64_t>(*shape) == type.getShape())
        operands.push_back(operand);
      else
        operands.push_back(
            ReshapeOp::create(b, loc, type.clone(*shape), operand));
    }
    // The inverse permutation gives the untransposed result type.
    SmallVector<int64_t> inverse(perm->size());
    for (auto [i, p] : llvm::enumerate(*perm))
      inverse[p] = int64_t(i);
    Operation *moved = b.clone(*op);
    moved->setOperands(operands);
    moved->getResult(0).setType(permuted(resultType, inverse));
    b.replaceOp(op, transpose(b, loc, moved->getResult(0), *perm));
    return success();
  }
};

struct KilnChannelsLastConvPass
    : kiln::impl::KilnChannelsLastConvPassBase<KilnChannelsLastConvPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ConvToChannelsLast, CancelTransposes, SinkTranspose,
                 BatchNormAsElementwise>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
