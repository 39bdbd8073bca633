//===- FoldQDQ.cpp - kiln-fold-qdq ----------------------------------------===//
//
// Part of kiln. QDQ models (ONNX Runtime's quantize_static) write an int8
// matmul as a float MatMul between two DequantizeLinear outputs, which the
// importer turns into
//
//   x = (f32(x_q) - zp_x) * s_x          x_q 8-bit, zp_x and s_x scalars
//   W = constant f32 [K, N]              f32(W_q) * s_w folded at import,
//       or f32(W_q) * s_w                or still ops over a constant W_q
//   y = matmul(x, W)
//
// This pass computes it as the integer product it encodes:
//
//   y = f32(integer_matmul(x_q, W_q, zp_x)) * (s_x * s_w[n])
//
// which the CPU lowers to the int8 kernel. A folded f32 W is re-encoded
// only when it is exactly int8 times one f32 scale per column: some
// q[k, n] in [-128, 127] and s[n] with f32(q * s) == W[k, n] bit for bit
// for every k (scales tried: max |W| of the matrix and of the column over
// 127, 128 and every half-integer code below, and their neighbours within
// 2 ulps). The products are then the
// same numbers; only the float rounding of their sum differs (the integer
// sum is exact).
//
// A Conv between the same dequantized activations and int8-exact constant
// weights (one group, or depthwise) becomes kiln.integer_conv2d the same
// way, its weights re-encoded per output channel as the
// [KH * KW * C / group, F] matrix its im2col GEMM reads; the bias is
// added after the rescale, in f32.
//
// A Gather from a dequantized constant table (an 8-bit embedding) gathers
// the 8-bit rows and dequantizes only those.
//
//===----------------------------------------------------------------------===//

#include "passes/Constants.h"
#include "passes/Quantize/Passes.h"

#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/KilnOpsNN.h"

#include <cmath>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFOLDQDQPASS
#include "passes/Quantize/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The value of a one-element f32 constant.
std::optional<float> scalarConstant(Value v) {
  std::optional<std::vector<float>> values = constantF32Values(v);
  if (!values || values->size() != 1)
    return std::nullopt;
  return (*values)[0];
}

/// `v` without the subtraction of a one-element constant (a zero point,
/// returned in `zp`; 0 when nothing is subtracted).
Value withoutZeroPoint(Value v, float &zp) {
  zp = 0.0f;
  auto sub = v.getDefiningOp<SubOp>();
  std::optional<float> c = sub ? scalarConstant(sub.getRhs()) : std::nullopt;
  if (!c || sub.getLhs().getType() != v.getType())
    return v;
  zp = *c;
  return sub.getLhs();
}

/// DequantizeLinear of 8-bit activations: (f32(q) - zp) * s.
struct DequantizedInput {
  Value q;
  int64_t zeroPoint = 0;
  float scale = 0;
};

std::optional<DequantizedInput> matchDequantizedInput(Value v) {
  auto mul = v.getDefiningOp<MulOp>();
  if (!mul || mul.getLmulAttr())
    return std::nullopt;
  DequantizedInput d;
  Value centered;
  for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                      std::pair(mul.getRhs(), mul.getLhs())})
    if (std::optional<float> s = scalarConstant(b)) {
      d.scale = *s;
      centered = a;
      break;
    }
  if (!centered || !(d.scale > 0.0f) || !std::isfinite(d.scale) ||
      centered.getType() != v.getType())
    return std::nullopt;
  float zp;
  centered = withoutZeroPoint(centered, zp);
  if (zp != std::nearbyint(zp))
    return std::nullopt;
  d.zeroPoint = int64_t(zp);
  auto toFloat = centered.getDefiningOp<CastOp>();
  if (!toFloat)
    return std::nullopt;
  auto qType = cast<RankedTensorType>(toFloat.getInput().getType());
  auto element = dyn_cast<IntegerType>(qType.getElementType());
  if (!element || element.getWidth() != 8 || element.isSigned())
    return std::nullopt;
  bool isUnsigned = element.isUnsigned();
  if (d.zeroPoint < (isUnsigned ? 0 : -128) ||
      d.zeroPoint > (isUnsigned ? 255 : 127))
    return std::nullopt;
  d.q = toFloat.getInput();
  return d;
}

/// Int8 weights [K, N] with one f32 scale per column.
struct Int8Weights {
  std::vector<int8_t> values;
  std::vector<float> scales;
};

/// Whether column `c` of `w` is exactly int8 times `s`; fills its values.
bool encodesColumn(const std::vector<float> &w, int64_t k, int64_t n,
                   int64_t c, float s, std::vector<int8_t> &values) {
  if (!(s > 0.0f) || !std::isfinite(s))
    return false;
  for (int64_t r = 0; r < k; ++r) {
    float x = w[r * n + c];
    float q = std::nearbyint(x / s);
    if (!(q >= -128.0f && q <= 127.0f) || q * s != x)
      return false;
    values[r * n + c] = int8_t(q);
  }
  return true;
}

/// Scales to try for a column: max |W| (of the matrix: per-tensor scales;
/// of the column: per-channel) over the largest code, 127 and 128 first
/// (full-range int8), then every half-integer code down to 1: ORT's
/// reduce_range writes 7-bit weights (max |W| / 64), and 2 max / (qmax -
/// qmin) gives half-integers. Any scale that encodes every element exactly
/// gives the same products, so the order only saves time.
std::vector<float> scaleGuesses(float matrixMax, float columnMax) {
  static const std::vector<float> codes = [] {
    std::vector<float> c = {127.0f, 128.0f};
    for (int twice = 256; twice >= 2; --twice)
      if (twice != 254 && twice != 256)
        c.push_back(twice / 2.0f);
    return c;
  }();
  std::vector<float> out;
  out.reserve(2 * codes.size());
  for (float code : codes) {
    out.push_back(matrixMax / code);
    out.push_back(columnMax / code);
  }
  return out;
}

/// W as int8 times per-column scales (the inverse of DequantizeLinear's
/// folding), or nullopt when it is not exactly that.
std::optional<Int8Weights> reencodeInt8(const std::vector<float> &w,
                                        int64_t k, int64_t n) {
  float matrixMax = 0.0f;
  for (float x : w) {
    if (!std::isfinite(x))
      return std::nullopt;
    matrixMax = std::max(matrixMax, std::fabs(x));
  }
  Int8Weights out;
  out.values.assign(k * n, 0);
  out.scales.assign(n, 1.0f);
  for (int64_t c = 0; c < n; ++c) {
    float columnMax = 0.0f;
    for (int64_t r = 0; r < k; ++r)
      columnMax = std::max(columnMax, std::fabs(w[r * n + c]));
    if (columnMax == 0.0f)
      continue; // all zero: q = 0, any scale
    bool found = false;
    for (float base : scaleGuesses(matrixMax, columnMax)) {
      float below = base, above = base;
      for (int step = 0; step <= 2 && !found; ++step) {
        if (encodesColumn(w, k, n, c, below, out.values)) {
          out.scales[c] = below;
          found = true;
        } else if (encodesColumn(w, k, n, c, above, out.values)) {
          out.scales[c] = above;
          found = true;
        }
        below = std::nextafter(below, 0.0f);
        above = std::nextafter(above, INFINITY);
      }
      if (found)
        break;
    }
    if (!found)
      return std::nullopt;
  }
  return out;
}

/// (f32(W_q) [- 0]) * s_w with W_q a constant i8 [K, N] and s_w a scalar
/// or one scale per column ([N] or [1, N]) constant; with `transposed`,
/// W_q is [N, K] and s_w one scale per row ([N] or [N, 1]), as a Gemm with
/// transB reads them (or [N, C, KH, KW] with [N, 1, 1, 1], a conv's). The
/// values are returned as [K, N].
std::optional<Int8Weights> matchDequantizedWeights(Value v, int64_t k,
                                                   int64_t n,
                                                   bool transposed = false) {
  auto mul = v.getDefiningOp<MulOp>();
  if (!mul || mul.getLmulAttr())
    return std::nullopt;
  for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                      std::pair(mul.getRhs(), mul.getLhs())}) {
    // A zero point of 0 may still be subtracted.
    float zp;
    Value centered = withoutZeroPoint(a, zp);
    if (zp != 0.0f)
      continue;
    auto toFloat = centered.getDefiningOp<CastOp>();
    std::optional<std::vector<float>> scales = constantF32Values(b);
    if (!toFloat || !scales || a.getType() != v.getType())
      continue;
    auto st = cast<RankedTensorType>(b.getType());
    bool perColumn = int64_t(scales->size()) == n &&
                     (transposed ? st.getRank() >= 1 && st.getShape()[0] == n
                                 : st.getRank() <= 2 && st.getShape().back() == n);
    if (scales->size() != 1 && !perColumn)
      continue;
    std::optional<std::vector<int8_t>> values =
        constantI8Values(toFloat.getInput());
    if (!values || int64_t(values->size()) != k * n)
      continue;
    Int8Weights out;
    out.values = *values;
    if (transposed)
      for (int64_t r = 0; r < k; ++r)
        for (int64_t c = 0; c < n; ++c)
          out.values[r * n + c] = (*values)[c * k + r];
    out.scales.assign(n, (*scales)[0]);
    if (perColumn)
      out.scales = *scales;
    for (float s : out.scales)
      if (!(s > 0.0f) || !std::isfinite(s))
        return std::nullopt;
    return out;
  }
  return std::nullopt;
}

/// The rows of a conv's [C * T, F] weight matrix (row c * T + t, with T
/// the kernel taps) reordered to kiln.integer_conv2d's rows.
std::vector<int8_t> channelsLastRows(const std::vector<int8_t> &rows,
                                     int64_t c, int64_t taps, int64_t f) {
  std::vector<int8_t> out(rows.size());
  for (int64_t ci = 0; ci < c; ++ci)
    for (int64_t t = 0; t < taps; ++t)
      std::copy_n(&rows[(ci * taps + t) * f], f,
                  &out[integerConvWeightRow(t, ci, c) * f]);
  return out;
}

/// The DequantizeLinear ops between a constant table and a kiln.gather of
/// it, last first: a chain of f32 casts and of sub / mul by one-element
/// constants starting at a kiln.constant (an embedding table stored in 8
/// bits); empty when `data` is not that.
SmallVector<Operation *> dequantizeChain(Value data) {
  SmallVector<Operation *> chain;
  Value v = data;
  while (Operation *def = v.getDefiningOp()) {
    if (isa<ConstantOp>(def))
      return chain;
    if (auto cast = dyn_cast<CastOp>(def)) {
      chain.push_back(def);
      v = cast.getInput();
      continue;
    }
    if (!isa<SubOp, MulOp>(def) ||
        (isa<MulOp>(def) && cast<MulOp>(def).getLmulAttr()) ||
        !scalarConstant(def->getOperand(1)) ||
        def->getOperand(0).getType() != def->getResult(0).getType())
      return {};
    chain.push_back(def);
    v = def->getOperand(0);
  }
  return {};
}

struct KilnFoldQDQPass : kiln::impl::KilnFoldQDQPassBase<KilnFoldQDQPass> {
  using KilnFoldQDQPassBase::KilnFoldQDQPassBase;

  void runOnOperation() override {
    SmallVector<MatMulOp> matmuls;
    SmallVector<Conv2DOp> convs;
    SmallVector<GatherOp> gathers;
    getOperation()->walk([&](Operation *op) {
      if (auto mm = dyn_cast<MatMulOp>(op))
        matmuls.push_back(mm);
      else if (auto conv = dyn_cast<Conv2DOp>(op))
        convs.push_back(conv);
      else if (auto g = dyn_cast<GatherOp>(op))
        gathers.push_back(g);
    });
    for (MatMulOp op : matmuls)
      fold(op);
    for (Conv2DOp op : convs)
      foldConv(op);
    for (GatherOp op : gathers)
      gatherFirst(op);
  }

  /// gather(dequantize(table), ids) -> dequantize(gather(table, ids)): the
  /// rows are gathered in 8 bits and only they are dequantized, instead of
  /// the whole table on every run (the ops are elementwise with scalar
  /// operands, so they commute with the gather).
  void gatherFirst(GatherOp op) {
    SmallVector<Operation *> chain = dequantizeChain(op.getData());
    if (chain.empty())
      return;
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value table = chain.back()->getOperand(0);
    auto tableType = cast<RankedTensorType>(table.getType());
    auto resultType = cast<RankedTensorType>(op.getType());
    Value v = GatherOp::create(
        b, loc, resultType.clone(tableType.getElementType()), table,
        op.getIndices(), op.getAxisAttr());
    for (Operation *step : llvm::reverse(chain)) {
      auto stepType = resultType.clone(
          cast<RankedTensorType>(step->getResult(0).getType())
              .getElementType());
      if (auto cast = dyn_cast<CastOp>(step))
        v = CastOp::create(b, loc, stepType, v, cast.getSaturateAttr(),
                           cast.getRoundModeAttr());
      else if (isa<SubOp>(step))
        v = SubOp::create(b, loc, v, step->getOperand(1));
      else
        v = MulOp::create(b, loc, v, step->getOperand(1));
    }
    op.replaceAllUsesWith(v);
    op.erase();
    ++numGathers;
  }

  /// conv2d(dequantize(x_q), W) + b -> f32(integer_conv2d(x_q, W_q)) *
  /// (s_x * s_w[f]) + b, when W (constant [F, C, KH, KW]) is int8 times
  /// one scale per output channel.
  void foldConv(Conv2DOp op) {
    auto wt = cast<RankedTensorType>(op.getWeight().getType());
    // One group, or depthwise (each filter reads its own channel).
    int64_t group = op.getGroup();
    bool depthwise = wt.getDimSize(1) == 1 && wt.getDimSize(0) == group;
    if (op.getLmulAttr() || op.getWinograd() || (group != 1 && !depthwise) ||
        !wt.getElementType().isF32())
      return;
    std::optional<DequantizedInput> x = matchDequantizedInput(op.getInput());
    std::optional<std::vector<float>> bias = constantF32Values(op.getBias());
    if (!x || !bias)
      return;
    int64_t f = wt.getDimSize(0), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
    int64_t k = wt.getDimSize(1) * kh * kw;
    // The weights as the im2col matrix [K, F]: still dequantized by ops
    // (large initializers), or folded to f32 at import.
    std::optional<Int8Weights> w =
        matchDequantizedWeights(op.getWeight(), k, f, /*transposed=*/true);
    if (!w) {
      std::optional<std::vector<float>> folded =
          constantF32Values(op.getWeight());
      if (!folded)
        return;
      std::vector<float> matrix(k * f);
      for (int64_t o = 0; o < f; ++o)
        for (int64_t r = 0; r < k; ++r)
          matrix[r * f + o] = (*folded)[o * k + r];
      w = reencodeInt8(matrix, k, f);
    }
    if (!w)
      return;
    // Rows (c, kh, kw) -> (kh, kw, c): the channels-last im2col order.
    w->values = channelsLastRows(w->values, wt.getDimSize(1), kh * kw, f);

    OpBuilder b(op);
    Location loc = op.getLoc();
    Value weights = createConstant(
        b, loc, RankedTensorType::get({k, f}, b.getIntegerType(8)), w->values,
        "qdq_conv_weights");
    auto resultType = cast<RankedTensorType>(op.getType());
    auto product = IntegerConv2DOp::create(
        b, loc, resultType.clone(b.getI32Type()), x->q, weights,
        zeroPointConstant(b, loc, *x), b.getDenseI64ArrayAttr({kh, kw}),
        op.getStridesAttr(), op.getPaddingAttr(), op.getDilationsAttr(),
        /*channels_last=*/nullptr, b.getI64IntegerAttr(group));
    Value y = CastOp::create(b, loc, resultType, product);
    std::vector<float> scales(f);
    for (int64_t c = 0; c < f; ++c)
      scales[c] = x->scale * w->scales[c];
    auto channelType = RankedTensorType::get({f, 1, 1}, b.getF32Type());
    y = MulOp::create(b, loc, y,
                      createConstant(b, loc, channelType, scales,
                                     "qdq_conv_scales"));
    if (llvm::any_of(*bias, [](float v) { return v != 0.0f; }))
      y = AddOp::create(b, loc, y,
                        createConstant(b, loc, channelType, *bias,
                                       "qdq_conv_bias"));
    op.replaceAllUsesWith(y);
    op.erase();
    ++numFolded;
  }

  /// The 0-d constant zero point of `x` (null when it is 0).
  static Value zeroPointConstant(OpBuilder &b, Location loc,
                                 const DequantizedInput &x) {
    if (x.zeroPoint == 0)
      return Value();
    auto qType = cast<RankedTensorType>(x.q.getType());
    auto zpType = RankedTensorType::get({}, qType.getElementType());
    auto bits = APInt(8, uint64_t(x.zeroPoint), /*isSigned=*/true);
    return ConstantOp::create(b, loc, zpType,
                              DenseElementsAttr::get(zpType, bits));
  }

  void fold(MatMulOp op) {
    auto lt = cast<RankedTensorType>(op.getLhs().getType());
    auto rt = cast<RankedTensorType>(op.getRhs().getType());
    if (op.getLmulAttr() || !lt.getElementType().isF32() || lt.getRank() < 2 ||
        rt.getRank() != 2)
      return;
    std::optional<DequantizedInput> x = matchDequantizedInput(op.getLhs());
    if (!x)
      return;
    int64_t k = rt.getDimSize(0), n = rt.getDimSize(1);
    // A Gemm with transB reads its dequantized [N, K] weights transposed.
    Value rhs = op.getRhs();
    auto transpose = rhs.getDefiningOp<TransposeOp>();
    bool transposed =
        transpose && transpose.getPerm() == ArrayRef<int64_t>{1, 0};
    std::optional<Int8Weights> w = matchDequantizedWeights(
        transposed ? transpose.getInput() : rhs, k, n, transposed);
    if (!w) {
      std::optional<std::vector<float>> folded =
          constantF32Values(op.getRhs());
      if (folded)
        w = reencodeInt8(*folded, k, n);
    }
    if (!w)
      return;

    OpBuilder b(op);
    Location loc = op.getLoc();
    Value zp = zeroPointConstant(b, loc, *x);
    Value weights = createConstant(
        b, loc, RankedTensorType::get({k, n}, b.getIntegerType(8)),
        w->values, "qdq_weights");
    SmallVector<int64_t> shape(lt.getShape());
    shape.back() = n;
    auto product = IntegerMatMulOp::create(
        b, loc, RankedTensorType::get(shape, b.getI32Type()), x->q, weights,
        zp);
    Value asFloat = CastOp::create(
        b, loc, RankedTensorType::get(shape, b.getF32Type()), product);
    // s_x * s_w in f32, as ONNX Runtime's integer kernels combine them.
    std::vector<float> scales(n);
    for (int64_t c = 0; c < n; ++c)
      scales[c] = x->scale * w->scales[c];
    Value scale = createConstant(
        b, loc, RankedTensorType::get({n}, b.getF32Type()), scales,
        "qdq_scales");
    Value y = MulOp::create(b, loc, asFloat, scale);
    op.replaceAllUsesWith(y);
    op.erase();
    ++numFolded;
  }
};

} // namespace
