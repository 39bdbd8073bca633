//===- FuseAttention.cpp - decomposed attention becomes kiln.attention ----===//
//
// Part of kiln. See Passes.td for what the pass matches and why each
// condition makes the rewrite exact.
//
//===----------------------------------------------------------------------===//

#include "passes/Fusion/Passes.h"
#include "passes/Constants.h"

#include "dialects/Kiln/KilnOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>
#include <optional>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFUSEATTENTIONPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// A masked score at most this far below zero: exp(masked - max) is exactly
/// 0 in f32 for every row whose allowed scores stay below 1e38 in magnitude,
/// so dropping the masked keys changes nothing (HF writes finfo.min).
constexpr double kMaskedAtMost = -0.5 * double(std::numeric_limits<float>::max());

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// The value of a constant f32 tensor whose elements are all equal.
std::optional<double> scalarConstant(Value v) {
  std::optional<std::vector<float>> values = constantF32Values(v);
  if (!values || values->empty())
    return std::nullopt;
  for (float x : *values)
    if (x != values->front())
      return std::nullopt;
  return double(values->front());
}

/// `x` when `v` is x * c, c * x or x / c (c a constant scalar that does not
/// broadcast x, the op read only here), with `scale` multiplied by c or 1/c.
Value peelScale(Value v, double &scale) {
  if (!v.hasOneUse())
    return nullptr;
  if (auto mul = v.getDefiningOp<MulOp>()) {
    if (mul.getLmulAttr())
      return nullptr;
    for (auto [x, c] : {std::pair(mul.getLhs(), mul.getRhs()),
                        std::pair(mul.getRhs(), mul.getLhs())})
      if (x.getType() == v.getType())
        if (std::optional<double> s = scalarConstant(c)) {
          scale *= *s;
          return x;
        }
    return nullptr;
  }
  if (auto div = v.getDefiningOp<DivOp>()) {
    if (div.getLhs().getType() != v.getType())
      return nullptr;
    if (std::optional<double> s = scalarConstant(div.getRhs())) {
      scale /= *s;
      return div.getLhs();
    }
  }
  return nullptr;
}

/// Strips any chain of scalar scales from `v`.
Value peelScales(Value v, double &scale) {
  while (Value x = peelScale(v, scale))
    v = x;
  return v;
}

/// The [B, Hkv, L, D] tensor that `v` ([B, Hkv * n, L, D]) repeats head by
/// head (kv head h becomes heads h * n .. h * n + n - 1, as HF's repeat_kv
/// writes it: reshape, expand of the size-1 dims, reshape), or `v` itself.
Value unrepeatHeads(Value v) {
  auto outer = v.getDefiningOp<ReshapeOp>();
  Value e = outer ? outer.getInput() : v;
  auto expand = e.getDefiningOp<ExpandOp>();
  // The repeat must die with the old attention (kv-layout needs the cache
  // read by the attention alone).
  if (!expand || !v.hasOneUse() || (outer && !e.hasOneUse()))
    return v;
  Value a = expand.getInput();
  auto inner = a.getDefiningOp<ReshapeOp>();
  Value src = inner && a.hasOneUse() ? inner.getInput() : a;
  ArrayRef<int64_t> out = shapeOf(v), in = shapeOf(src);
  ArrayRef<int64_t> ex = shapeOf(expand.getResult());
  if (in.size() != 4 || out.size() != 4 || in[0] != out[0] ||
      in[2] != out[2] || in[3] != out[3] || in[1] == 0 || out[1] % in[1])
    return v;
  // The expanded dims, numpy-aligned to the right, must be: data dims worth
  // B * Hkv, then the repeat dims worth n, then data dims worth L * D. The
  // reshapes keep row-major order, so that is a consecutive head repeat.
  ArrayRef<int64_t> shapeA = shapeOf(a);
  if (shapeA.size() > ex.size())
    return v;
  SmallVector<int64_t> from(ex.size(), 1);
  std::copy(shapeA.begin(), shapeA.end(), from.end() - shapeA.size());
  int64_t before = 1, reps = 1, after = 1;
  int stage = 0; // 0: leading data, 1: repeats, 2: trailing data
  for (size_t d = 0; d < ex.size(); ++d) {
    if (ex[d] == 1)
      continue;
    bool repeat = from[d] == 1;
    if (repeat && stage == 2)
      return v;
    if (repeat) {
      stage = 1;
      reps *= ex[d];
    } else if (stage == 0) {
      before *= ex[d];
    } else {
      stage = 2;
      after *= ex[d];
    }
  }
  if (before != in[0] * in[1] || after != in[2] * in[3] ||
      reps != out[1] / in[1])
    return v;
  return src;
}

/// Whether each mask element allows its key (1), masks it (0) or neither
/// (-1), and the mask's shape.
struct MaskValues {
  SmallVector<int64_t> shape;
  std::vector<int8_t> state;
};

/// How a constant mask over scores [B, H, S, L] reads: std::nullopt when it
/// is neither kind, true for kiln.attention's end-aligned causal mask (key
/// j allowed for query i iff j <= L - S + i; with S == 1 that is every key),
/// false when it allows every key.
std::optional<bool> classifyMask(const MaskValues &mask,
                                 ArrayRef<int64_t> scores) {
  if (mask.shape.size() > 4)
    return std::nullopt;
  SmallVector<int64_t> m(4 - mask.shape.size(), 1);
  m.append(mask.shape.begin(), mask.shape.end());
  for (int d = 0; d < 4; ++d)
    if (m[d] != 1 && m[d] != scores[d])
      return std::nullopt;
  int64_t s = scores[2], l = scores[3];
  bool causal = l >= s, full = true;
  for (size_t e = 0; e < mask.state.size() && (causal || full); ++e) {
    int64_t j0 = int64_t(e) % m[3], i0 = (int64_t(e) / m[3]) % m[2];
    int8_t state = mask.state[e];
    // A broadcast dim covers every query (or key) position.
    for (int64_t i = m[2] == 1 ? 0 : i0; i < (m[2] == 1 ? s : i0 + 1); ++i)
      for (int64_t j = m[3] == 1 ? 0 : j0; j < (m[3] == 1 ? l : j0 + 1); ++j) {
        bool want = j <= l - s + i;
        if (state != 1)
          full = false;
        if (state != (want ? 1 : 0))
          causal = false;
      }
  }
  if (causal)
    return true;
  if (full)
    return false;
  return std::nullopt;
}

/// The mask values of `where(cond, scores, masked)` (or with the branches
/// swapped), a masked value reaching the softmax multiplied by `after`.
std::optional<MaskValues> whereMask(WhereOp where, Value scores,
                                    double after) {
  bool allowOnTrue = where.getLhs() == scores;
  Value masked = allowOnTrue ? where.getRhs() : where.getLhs();
  auto cond = where.getCondition().getDefiningOp<ConstantOp>();
  auto bits = cond ? dyn_cast<DenseElementsAttr>(cond.getValue()) : nullptr;
  std::optional<std::vector<float>> fill = constantF32Values(masked);
  if (!bits || !fill)
    return std::nullopt;
  for (float x : *fill)
    if (!(double(x) * after <= kMaskedAtMost))
      return std::nullopt;
  MaskValues mask{SmallVector<int64_t>(bits.getType().getShape()), {}};
  mask.state.reserve(bits.getNumElements());
  for (bool bit : bits.getValues<bool>())
    mask.state.push_back(bit == allowOnTrue ? 1 : 0);
  return mask;
}

/// The mask values of `scores + mask`: 0 allows, a value that reaches the
/// softmax at most kMaskedAtMost masks.
std::optional<MaskValues> addMask(Value maskValue, double after) {
  std::optional<std::vector<float>> values = constantF32Values(maskValue);
  if (!values)
    return std::nullopt;
  MaskValues mask{SmallVector<int64_t>(shapeOf(maskValue)), {}};
  mask.state.reserve(values->size());
  for (float x : *values)
    mask.state.push_back(x == 0.0f                             ? 1
                         : double(x) * after <= kMaskedAtMost ? 0
                                                               : -1);
  return mask;
}

/// softmax(scale * q k^T [+ mask]) v, written out op by op, rooted at the
/// second matmul.
struct FuseDecomposedAttention : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp pv,
                                PatternRewriter &rewriter) const override {
    if (pv.getLmulAttr())
      return failure();
    auto softmax = pv.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax || !softmax->hasOneUse() || softmax.getAxis() != 3 ||
        !pv.getLhs().getType().getElementType().isF32())
      return failure();

    // Scores side, walking back from the softmax: scalar scales, at most
    // one constant mask, the q k^T matmul.
    double scale = 1.0, after = 1.0;
    std::optional<MaskValues> mask;
    Value scores = softmax.getInput();
    MatMulOp qk;
    while (!qk) {
      if (!scores.hasOneUse())
        return failure();
      if (Value x = peelScale(scores, mask ? scale : after)) {
        scores = x;
        continue;
      }
      if (auto where = scores.getDefiningOp<WhereOp>()) {
        Value s = where.getLhs().getType() == where.getType() &&
                          where.getLhs().getDefiningOp<ConstantOp>() == nullptr
                      ? where.getLhs()
                      : where.getRhs();
        if (mask || s.getType() != where.getType() ||
            !(mask = whereMask(where, s, after)))
          return failure();
        scores = s;
        continue;
      }
      if (auto add = scores.getDefiningOp<AddOp>()) {
        bool lhsConst = add.getLhs().getDefiningOp<ConstantOp>() != nullptr;
        Value s = lhsConst ? add.getRhs() : add.getLhs();
        Value m = lhsConst ? add.getLhs() : add.getRhs();
        if (mask || s.getType() != add.getType() ||
            !(mask = addMask(m, after)))
          return failure();
        scores = s;
        continue;
      }
      qk = scores.getDefiningOp<MatMulOp>();
      if (!qk || qk.getLmulAttr())
        return failure();
    }
    scale *= after;

    // q [B, H, S, D] (scales peeled), k^T [B, H or 1, D, L] a transpose
    // of the (repeated) keys: perm [0, 1, 3, 2], or any perm (PyTorch's
    // exports fold the head split in: [0, 2, 3, 1] of [B, L, H, D]), the
    // keys then being a transpose of its input by the perm's last two
    // entries swapped.
    Value q = peelScales(qk.getLhs(), scale);
    Value kt = peelScales(qk.getRhs(), scale);
    auto transpose = kt.getDefiningOp<TransposeOp>();
    if (!transpose || !kt.hasOneUse())
      return failure();
    ArrayRef<int64_t> perm = transpose.getPerm();
    if (perm.size() != 4)
      return failure();
    SmallVector<int64_t> keyPerm{perm[0], perm[1], perm[3], perm[2]};
    bool transposed = keyPerm != ArrayRef<int64_t>{0, 1, 2, 3};
    Value k = peelScales(transpose.getInput(), scale);
    if (!transposed)
      k = unrepeatHeads(k);
    Value v = unrepeatHeads(pv.getRhs());
    SmallVector<int64_t> ks(shapeOf(k));
    if (transposed)
      for (int d = 0; d < 4; ++d)
        ks[d] = shapeOf(k)[keyPerm[d]];
    ArrayRef<int64_t> qs = shapeOf(q), vs = shapeOf(v), ss = shapeOf(scores);
    if (qs.size() != 4 || ks.size() != 4 || vs.size() != 4 ||
        ks[0] != qs[0] || vs[0] != qs[0] || ks[1] != vs[1] || ks[1] == 0 ||
        qs[1] % ks[1] != 0 || ks[2] != vs[2] || ks[3] != qs[3] ||
        ArrayRef<int64_t>{qs[0], qs[1], qs[2], ks[2]} != ss ||
        cast<RankedTensorType>(k.getType()).getElementType() !=
            cast<RankedTensorType>(q.getType()).getElementType() ||
        cast<RankedTensorType>(v.getType()).getElementType() !=
            cast<RankedTensorType>(q.getType()).getElementType())
      return failure();
    // The matmuls must not broadcast anything but a single kv head.
    ArrayRef<int64_t> kts = shapeOf(qk.getRhs()), vrs = shapeOf(pv.getRhs());
    if (kts.size() != 4 || vrs.size() != 4 || kts[0] != qs[0] ||
        vrs[0] != qs[0] || (kts[1] != qs[1] && kts[1] != 1) ||
        (vrs[1] != qs[1] && vrs[1] != 1))
      return failure();

    bool causal = false;
    if (mask) {
      std::optional<bool> kind = classifyMask(*mask, ss);
      if (!kind)
        return failure();
      causal = *kind;
    }
    if (!std::isfinite(scale) || !std::isfinite(float(scale)))
      return failure();

    rewriter.setInsertionPoint(pv);
    if (transposed)
      k = TransposeOp::create(rewriter, transpose.getLoc(), k,
                              rewriter.getDenseI64ArrayAttr(keyPerm));
    // Built from properties so that the optional operands the cache
    // layouts add (all absent here) need no listing.
    AttentionOp::Properties props;
    props.setScale(rewriter.getF32FloatAttr(float(scale)));
    if (causal)
      props.setCausal(rewriter.getUnitAttr());
    props.operandSegmentSizes.fill(0);
    props.operandSegmentSizes[0] = props.operandSegmentSizes[1] =
        props.operandSegmentSizes[2] = 1;
    auto fused = AttentionOp::create(rewriter, pv.getLoc(), pv.getType(),
                                     ValueRange{q, k, v}, props);
    rewriter.replaceOp(pv, fused.getResult());
    return success();
  }
};

struct KilnFuseAttentionPass
    : kiln::impl::KilnFuseAttentionPassBase<KilnFuseAttentionPass> {
  void runOnOperation() override {
    auto count = [&] {
      int64_t n = 0;
      getOperation()->walk([&](AttentionOp) { ++n; });
      return n;
    };
    int64_t before = count();
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseDecomposedAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    numFused += count() - before;
  }
};

} // namespace
