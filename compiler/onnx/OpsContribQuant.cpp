//===- OpsContribQuant.cpp - com.microsoft quantized ops ------------------===//
//
// Part of kiln. ONNX Runtime's contrib quantized ops (domain com.microsoft,
// opset 1), in existing kiln ops:
//
//   MatMulNBits  Y[..., N] = A[..., K] x dequant(B)^T (+ bias), B packed
//                `bits`-bit integers in blocks of `block_size` along K with
//                one scale (and zero point) per block and column. The
//                weights must be constants: they are unpacked at import
//                (unpackMatMulNBits) into q / scales / zero points for
//                kiln.quantized_matmul (f32 A, integer zero points), or
//                dequantized to a float [K, N] constant for kiln.matmul.
//                An act-order g_idx sorts the rows by block and gathers
//                A's columns in that order.
//
// and the QOperator-format ops quantize_static writes (per-tensor uint8/int8
// activations), each as dequantize -> float op -> requantize, the QDQ
// semantics ORT's own integer kernels match (test/e2e/quant/qop.test):
//
//   QLinearAdd, QLinearMul         y = q(dq(a) op dq(b))
//   QGemm                          the integer product (+ int32 C) scaled by
//                                  alpha * a_scale * b_scale [/ y_scale]
//   QLinearGlobalAveragePool       int32 sum of (x - x_zp) over the image,
//                                  times x_scale / (y_scale * size)
//   QLinearSoftmax                 as ORT's CPU kernel: softmax of dq(x),
//                                  times floor(1 / y_scale), rounded
//
// where q(v) = clamp(round_half_even(v / scale) + zp) and
// dq(x) = (x - zp) * scale.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

/// A MatMulNBits weight, unpacked: integer values, per-block scales and zero
/// points, all with N innermost so that column n of block b is
/// `scales[b * N + n]` and weight (k, n) is `q[k * N + n]`. The dequantized
/// weight is (q - zeroPoint) * scale with the block of k, k / blockSize.
struct NBitsWeights {
  int64_t K = 0, N = 0, bits = 0, blockSize = 0, numBlocks = 0;
  /// [K, N], values in [0, 2^bits).
  std::vector<uint8_t> q;
  /// [numBlocks, N], in A's float type (exact in float).
  std::vector<float> scales;
  /// [numBlocks, N]: integers in [0, 2^bits) when `integerZeroPoints`
  /// (packed uint8 input or the default 2^(bits-1)), else A's float type.
  std::vector<float> zeroPoints;
  bool integerZeroPoints = true;
  /// Act-order (a g_idx that scatters each block's rows over K): `q`'s row
  /// j is input row rowOrder[j], so that blocks are contiguous again; A's
  /// columns are gathered in the same order. Empty: rows in order.
  std::vector<int64_t> rowOrder;
};

/// Element `i` of a stream of `bits`-bit values packed low bits first.
/// `bits` divides 8, so no value straddles a byte.
inline uint8_t unpackBits(ArrayRef<uint8_t> bytes, int64_t i, int64_t bits) {
  int64_t perByte = 8 / bits;
  return (bytes[i / perByte] >> ((i % perByte) * bits)) & ((1u << bits) - 1);
}

/// Bytes of a constant uint8 tensor, or nullopt when it is not one.
std::optional<std::vector<uint8_t>> constBytes(const TV &v) {
  std::optional<Contents> c = readContents(v);
  if (!c || c->ints.size() != static_cast<size_t>(v.type.getNumElements()))
    return std::nullopt;
  return std::vector<uint8_t>(c->ints.begin(), c->ints.end());
}

/// Floats of a constant float tensor, or nullopt.
std::optional<std::vector<float>> constFloats(const TV &v) {
  std::optional<Contents> c = readContents(v);
  if (!c || c->floats.size() != static_cast<size_t>(v.type.getNumElements()))
    return std::nullopt;
  return std::vector<float>(c->floats.begin(), c->floats.end());
}

/// Unpacks MatMulNBits' B [N, numBlocks, blockSize * bits / 8], scales
/// [N * numBlocks] (or [N, numBlocks]), optional zero points (uint8 packed
/// like B, N rows of ceil(numBlocks * bits / 8) bytes, or A's float type
/// [N * numBlocks]) and optional g_idx [K] (accepted only when it is the
/// plain k / blockSize), checking every size against the attributes.
FailureOr<NBitsWeights> unpackMatMulNBits(GraphImporter &imp, int64_t K,
                                          int64_t N, int64_t bits,
                                          int64_t blockSize, TV &b, TV &scales,
                                          TV *zeroPoints, TV *gIdx,
                                          Type floatType) {
  if (bits != 2 && bits != 4 && bits != 8)
    return imp.error() << "bits=" << bits
                       << " is not supported (kiln imports 2, 4 and 8)";
  if (blockSize < 16 || (blockSize & (blockSize - 1)))
    return imp.error() << "block_size=" << blockSize
                       << " must be a power of 2 and at least 16";
  if (K <= 0 || N <= 0)
    return imp.error() << "attributes K=" << K << " and N=" << N
                       << " must be positive";
  NBitsWeights w;
  w.K = K;
  w.N = N;
  w.bits = bits;
  w.blockSize = blockSize;
  w.numBlocks = (K + blockSize - 1) / blockSize;
  const int64_t nb = w.numBlocks, blob = blockSize * bits / 8;

  Type u8 = IntegerType::get(imp.ctx, 8, IntegerType::Unsigned);
  if (b.elementType() != u8 || b.shape() != ArrayRef<int64_t>{N, nb, blob})
    return imp.error() << "B is " << b.type << ", expected uint8 [" << N << ", "
                       << nb << ", " << blob << "] for K=" << K << ", N=" << N
                       << ", bits=" << bits << ", block_size=" << blockSize;
  if (scales.elementType() != floatType ||
      scales.type.getNumElements() != N * nb ||
      !(scales.rank() == 1 || (scales.rank() == 2 && scales.shape()[0] == N)))
    return imp.error() << "scales is " << scales.type << ", expected "
                       << floatType << " [" << N * nb << "] (N * "
                       << "n_blocks_per_col, or [" << N << ", " << nb << "])";

  std::optional<std::vector<uint8_t>> bBytes = constBytes(b);
  if (!bBytes)
    return imp.error() << "B ('" << imp.node->input(1)
                       << "') must be a constant (initializer or Constant): "
                          "kiln unpacks MatMulNBits weights at import";
  std::optional<std::vector<float>> s = constFloats(scales);
  if (!s)
    return imp.error() << "scales ('" << imp.node->input(2)
                       << "') must be a constant (initializer or Constant)";

  // q[k, n] from B[n, k / blockSize, ...]: each column's blocks are one
  // bit stream, low bits first; k past K (the last block's padding) is
  // dropped.
  w.q.assign(K * N, 0);
  for (int64_t n = 0; n < N; ++n) {
    ArrayRef<uint8_t> col(bBytes->data() + n * nb * blob, nb * blob);
    for (int64_t k = 0; k < K; ++k)
      w.q[k * N + n] = unpackBits(col, k, bits);
  }
  // Scales and zero points are stored column-major ([N, numBlocks]).
  w.scales.assign(nb * N, 0.f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t blk = 0; blk < nb; ++blk)
      w.scales[blk * N + n] = (*s)[n * nb + blk];

  w.zeroPoints.assign(nb * N, static_cast<float>(1 << (bits - 1)));
  if (zeroPoints) {
    TV &z = *zeroPoints;
    if (z.elementType() == u8) {
      int64_t rowBytes = (nb * bits + 7) / 8;
      if (z.type.getNumElements() != N * rowBytes)
        return imp.error() << "zero_points is " << z.type << ", expected "
                           << N * rowBytes
                           << " uint8 (N * ceil(n_blocks_per_col"
                           << " * bits / 8))";
      std::optional<std::vector<uint8_t>> zb = constBytes(z);
      if (!zb)
        return imp.error() << "zero_points ('" << imp.node->input(3)
                           << "') must be a constant (initializer or "
                              "Constant)";
      for (int64_t n = 0; n < N; ++n) {
        ArrayRef<uint8_t> row(zb->data() + n * rowBytes, rowBytes);
        for (int64_t blk = 0; blk < nb; ++blk)
          w.zeroPoints[blk * N + n] = unpackBits(row, blk, bits);
      }
    } else if (z.elementType() == floatType) {
      if (z.type.getNumElements() != N * nb)
        return imp.error() << "zero_points is " << z.type << ", expected "
                           << N * nb << " elements (N * n_blocks_per_col)";
      std::optional<std::vector<float>> zf = constFloats(z);
      if (!zf)
        return imp.error() << "zero_points ('" << imp.node->input(3)
                           << "') must be a constant (initializer or "
                              "Constant)";
      w.integerZeroPoints = false;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t blk = 0; blk < nb; ++blk)
          w.zeroPoints[blk * N + n] = (*zf)[n * nb + blk];
    } else {
      return imp.error() << "zero_points is " << z.type
                         << ", expected uint8 or " << floatType;
    }
  }

  if (gIdx) {
    // g_idx[k] is the block of input row k. Act-order (GPTQ desc_act)
    // scatters each block's rows; sorting rows by block makes the blocks
    // contiguous when each holds block_size rows (the last: the rest).
    std::optional<Contents> g = readContents(*gIdx);
    if (!g || g->ints.size() != static_cast<size_t>(K))
      return imp.error() << "g_idx must be a constant int32 [" << K << "], got "
                         << gIdx->type;
    for (int64_t k = 0; k < K; ++k)
      if (g->ints[k] < 0 || g->ints[k] >= nb)
        return imp.error() << "g_idx[" << k << "] = " << g->ints[k]
                           << " is not a block in [0, " << nb << ")";
    std::vector<int64_t> order(K);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return g->ints[x] < g->ints[y];
    });
    std::vector<int64_t> rows(nb, 0);
    for (int64_t k = 0; k < K; ++k)
      ++rows[g->ints[k]];
    for (int64_t blk = 0; blk < nb; ++blk) {
      int64_t want = std::min(blockSize, K - blk * blockSize);
      if (rows[blk] != want)
        return imp.error() << "g_idx puts " << rows[blk] << " rows in block "
                           << blk << "; kiln needs " << want
                           << " (block_size rows per block, the last block "
                              "the rest)";
    }
    bool inOrder = true;
    for (int64_t j = 0; j < K && inOrder; ++j)
      inOrder = order[j] == j;
    if (!inOrder) {
      std::vector<uint8_t> q(K * N);
      for (int64_t j = 0; j < K; ++j)
        std::copy_n(w.q.begin() + order[j] * N, N, q.begin() + j * N);
      w.q = std::move(q);
      w.rowOrder = std::move(order);
    }
  }
  return w;
}

/// A x W with W kept as integers: kiln.quantized_matmul (unsigned values
/// and zero points, group = block size), dequantized in the kernel.
FailureOr<TV> emitQuantizedMatMul(GraphImporter &imp, TV &a,
                                  const NBitsWeights &w) {
  MLIRContext *ctx = imp.ctx;
  Type u8 = IntegerType::get(ctx, 8, IntegerType::Unsigned);
  auto constant = [&](RankedTensorType type, Contents c,
                      StringRef suffix) -> FailureOr<Value> {
    TV v;
    v.type = type;
    v.attr = contentsToAttr(type, c, imp.node->input(1) + suffix.str());
    return imp.materialize(v);
  };
  Contents q, s, z;
  q.ints.assign(w.q.begin(), w.q.end());
  s.floats.assign(w.scales.begin(), w.scales.end());
  for (float zp : w.zeroPoints)
    z.ints.push_back(int64_t(zp));
  // One zero point everywhere (symmetric quantization: 2^(bits-1) by
  // default) is folded into signed values q - zp: no zero points to read.
  // (Values span [0, 2^bits), so q - zp fits int8 when zp <= 128 and
  // 2^bits - 1 - zp <= 127.)
  bool uniformZero = !z.ints.empty() && llvm::all_equal(z.ints) &&
                     z.ints[0] <= 128 && (1 << w.bits) - 1 - z.ints[0] <= 127;
  Type valueType = u8;
  if (uniformZero) {
    for (int64_t &v : q.ints)
      v -= z.ints[0];
    valueType = imp.builder.getI8Type();
  }
  FailureOr<Value> qv =
      constant(RankedTensorType::get({w.K, w.N}, valueType), q, "_q");
  FailureOr<Value> sv = constant(
      RankedTensorType::get({w.numBlocks, w.N}, imp.builder.getF32Type()), s,
      "_scales");
  FailureOr<Value> zv = Value();
  if (!uniformZero)
    zv = constant(RankedTensorType::get({w.numBlocks, w.N}, u8), z, "_zero");
  if (failed(qv) || failed(sv) || failed(zv))
    return failure();
  // kiln.quantized_matmul wants lhs of rank >= 2.
  TV lhs = a;
  if (a.rank() == 1) {
    FailureOr<TV> r = imp.emitReshape(lhs, {1, a.shape()[0]});
    if (failed(r))
      return failure();
    lhs = *r;
  }
  FailureOr<Value> va = imp.materialize(lhs);
  if (failed(va))
    return failure();
  // One block longer than K (a padded single block) is one group of K.
  int64_t group = w.numBlocks == 1 ? w.K : w.blockSize;
  FailureOr<Value> r = imp.create<QuantizedMatMulOp>(
      Type(), *va, *qv, *sv, *zv,
      WeightQuantAttr::get(ctx, unsigned(w.bits), group));
  if (failed(r))
    return failure();
  TV result = imp.fromValue(*r);
  if (a.rank() == 1)
    return imp.emitReshape(result, {w.N});
  return result;
}

/// A x W with W dequantized at import in f32, as ONNX Runtime's CPU kernel
/// does ((q - zp) * scale, then the matmul in A's type): for other float
/// types and float zero points.
FailureOr<TV> emitDequantizedMatMul(GraphImporter &imp, TV &a,
                                    const NBitsWeights &w, Type elt) {
  Contents c;
  c.floats.resize(w.K * w.N);
  for (int64_t k = 0; k < w.K; ++k) {
    int64_t blk = k / w.blockSize;
    for (int64_t n = 0; n < w.N; ++n) {
      float q = w.q[k * w.N + n];
      float v = (q - w.zeroPoints[blk * w.N + n]) * w.scales[blk * w.N + n];
      c.floats[k * w.N + n] = roundToFloatType(elt, v);
    }
  }
  TV weight;
  weight.type = RankedTensorType::get({w.K, w.N}, elt);
  weight.attr = contentsToAttr(weight.type, c, imp.node->input(1) + "_dq");
  return imp.emitMatMul(a, weight);
}

/// com.microsoft MatMulNBits: A [..., K] x dequant(B) [K, N] (+ bias [N]).
LogicalResult importMatMulNBits(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1), scales = imp.input(2);
  FailureOr<int64_t> K = imp.intAttr("K", -1), N = imp.intAttr("N", -1);
  FailureOr<int64_t> bits = imp.intAttr("bits", 4);
  FailureOr<int64_t> block = imp.intAttr("block_size", -1);
  if (failed(a) || failed(b) || failed(scales) || failed(K) || failed(N) ||
      failed(bits) || failed(block))
    return failure();
  if (!imp.hasAttr("K") || !imp.hasAttr("N") || !imp.hasAttr("block_size"))
    return imp.error() << "attributes K, N and block_size are required";
  Type elt = (*a)->elementType();
  if (!isa<FloatType>(elt) || (*a)->rank() < 1)
    return imp.error() << "A must be a float tensor [..., K], got "
                       << (*a)->type;
  if ((*a)->shape().back() != *K)
    return imp.error() << "A is " << (*a)->type
                       << ", its last dim must be K=" << *K;
  auto optional = [&](int i) -> FailureOr<TV *> {
    if (!imp.hasInput(i))
      return static_cast<TV *>(nullptr);
    return imp.input(i);
  };
  FailureOr<TV *> zp = optional(3), gIdx = optional(4), bias = optional(5);
  if (failed(zp) || failed(gIdx) || failed(bias))
    return failure();

  FailureOr<NBitsWeights> w = unpackMatMulNBits(imp, *K, *N, *bits, *block, **b,
                                                **scales, *zp, *gIdx, elt);
  if (failed(w))
    return failure();

  TV lhs = **a;
  if (!w->rowOrder.empty()) {
    // Act-order: A's columns in the order of the weight rows.
    Contents order;
    order.ints.assign(w->rowOrder.begin(), w->rowOrder.end());
    TV indices = imp.makeConst(
        RankedTensorType::get({*K}, imp.builder.getI64Type()), order);
    FailureOr<TV> gathered = imp.emitGather(lhs, indices, lhs.rank() - 1);
    if (failed(gathered))
      return failure();
    lhs = *gathered;
  }
  FailureOr<TV> y = w->integerZeroPoints && elt.isF32()
                        ? emitQuantizedMatMul(imp, lhs, *w)
                        : emitDequantizedMatMul(imp, lhs, *w, elt);
  if (failed(y))
    return failure();
  if (*bias) {
    TV &bv = **bias;
    if (bv.elementType() != elt || bv.rank() != 1 || bv.shape()[0] != *N)
      return imp.error() << "bias is " << bv.type << ", expected " << elt
                         << " [" << *N << "]";
    y = imp.emitBinary(BinaryKind::Add, *y, bv);
  }
  return setResult(imp, y);
}

//===----------------------------------------------------------------------===//
// QOperator ops
//===----------------------------------------------------------------------===//

/// Input `i`, or a 0 zero point of `integerType` when omitted.
FailureOr<TV> zeroPointInput(GraphImporter &imp, int i, Type integerType) {
  if (imp.hasInput(i)) {
    FailureOr<TV *> z = imp.input(i);
    if (failed(z))
      return failure();
    return **z;
  }
  return scalarTV(imp, integerType, 0.0);
}

/// A per-tensor scale or zero point: one element, made 0-d.
FailureOr<TV> perTensor(GraphImporter &imp, TV &p, StringRef what) {
  if (p.type.getNumElements() != 1)
    return imp.error() << what << " must be a scalar (per-tensor), got "
                       << p.type;
  return imp.emitReshape(p, {});
}

/// (float(x) - float(zp)) * scale in f32; scale and zp per tensor.
FailureOr<TV> dequant(GraphImporter &imp, TV &x, TV &scale, TV &zp) {
  Type f32 = imp.builder.getF32Type();
  if (!intRange(x.elementType()))
    return imp.error() << "quantized input must be an integer tensor, got "
                       << x.type;
  FailureOr<TV> s = perTensor(imp, scale, "scale");
  FailureOr<TV> z = perTensor(imp, zp, "zero point");
  if (failed(s) || failed(z))
    return failure();
  FailureOr<TV> xf = imp.emitCast(x, f32), zf = imp.emitCast(*z, f32);
  if (failed(xf) || failed(zf))
    return failure();
  FailureOr<TV> c = imp.emitBinary(BinaryKind::Sub, *xf, *zf);
  if (failed(c))
    return failure();
  FailureOr<TV> sf = imp.emitCast(*s, f32);
  if (failed(sf))
    return failure();
  return imp.emitBinary(BinaryKind::Mul, *c, *sf);
}

/// clamp(round_half_even(v / scale) + zp) as zp's type; per tensor.
FailureOr<TV> quant(GraphImporter &imp, TV &v, TV &scale, TV &zp) {
  FailureOr<TV> s = perTensor(imp, scale, "output scale");
  FailureOr<TV> z = perTensor(imp, zp, "output zero point");
  if (failed(s) || failed(z))
    return failure();
  FailureOr<TV> sf = imp.emitCast(*s, v.elementType());
  if (failed(sf))
    return failure();
  FailureOr<TV> d = imp.emitBinary(BinaryKind::Div, v, *sf);
  if (failed(d))
    return failure();
  return requantize(imp, *d, *z);
}

/// QLinearAdd / QLinearMul: A, A_scale, A_zp, B, B_scale, B_zp, C_scale,
/// C_zp (zero points optional).
template <BinaryKind Kind>
LogicalResult importQLinearBinary(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), as = imp.input(1), b = imp.input(3),
                  bs = imp.input(4), cs = imp.input(6);
  if (failed(a) || failed(as) || failed(b) || failed(bs) || failed(cs))
    return failure();
  Type qt = (*a)->elementType();
  FailureOr<TV> az = zeroPointInput(imp, 2, qt),
                bz = zeroPointInput(imp, 5, (*b)->elementType()),
                cz = zeroPointInput(imp, 7, qt);
  if (failed(az) || failed(bz) || failed(cz))
    return failure();
  FailureOr<TV> da = dequant(imp, **a, **as, *az);
  FailureOr<TV> db = dequant(imp, **b, **bs, *bz);
  if (failed(da) || failed(db))
    return failure();
  FailureOr<TV> y = imp.emitBinary(Kind, *da, *db);
  if (failed(y))
    return failure();
  return setResult(imp, quant(imp, *y, **cs, *cz));
}

/// QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C (int32, optional), y_scale
/// and y_zp (optional: without y_scale the output is float).
LogicalResult importQGemm(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), as = imp.input(1), az = imp.input(2),
                  b = imp.input(3), bs = imp.input(4), bz = imp.input(5);
  FailureOr<int64_t> transA = imp.intAttr("transA", 0),
                     transB = imp.intAttr("transB", 0);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.0f);
  if (failed(a) || failed(as) || failed(az) || failed(b) || failed(bs) ||
      failed(bz) || failed(transA) || failed(transB) || failed(alpha))
    return failure();
  if ((*a)->rank() != 2 || (*b)->rank() != 2)
    return imp.error() << "A and B must be 2-D, got " << (*a)->type << " and "
                       << (*b)->type;
  TV at = **a, bt = **b;
  if (*transA) {
    FailureOr<TV> t = imp.emitTranspose(at, {1, 0});
    if (failed(t))
      return failure();
    at = *t;
  }
  if (*transB) {
    FailureOr<TV> t = imp.emitTranspose(bt, {1, 0});
    if (failed(t))
      return failure();
    bt = *t;
  }
  int64_t n = bt.shape()[1];
  // b_scale and b_zp: per tensor or per output column.
  for (TV *p : {*bs, *bz})
    if (p->type.getNumElements() != 1 &&
        !(p->rank() == 1 && p->shape()[0] == n))
      return imp.error() << "b_scale and b_zero_point must have 1 or " << n
                         << " elements, got " << p->type;
  FailureOr<TV> az0 = perTensor(imp, **az, "a_zero_point");
  FailureOr<TV> as0 = perTensor(imp, **as, "a_scale");
  if (failed(az0) || failed(as0))
    return failure();
  // (A - a_zp) x (B - b_zp) in int32.
  Type i32 = imp.builder.getI32Type(), f32 = imp.builder.getF32Type();
  FailureOr<TV> ai = imp.emitCast(at, i32), bi = imp.emitCast(bt, i32);
  FailureOr<TV> azi = imp.emitCast(*az0, i32), bzi = imp.emitCast(**bz, i32);
  if (failed(ai) || failed(bi) || failed(azi) || failed(bzi))
    return failure();
  FailureOr<TV> ac = imp.emitBinary(BinaryKind::Sub, *ai, *azi);
  FailureOr<TV> bc = imp.emitBinary(BinaryKind::Sub, *bi, *bzi);
  if (failed(ac) || failed(bc))
    return failure();
  FailureOr<TV> acc = imp.emitMatMul(*ac, *bc);
  if (failed(acc))
    return failure();
  if (imp.hasInput(6)) {
    FailureOr<TV *> c = imp.input(6);
    if (failed(c))
      return failure();
    if ((*c)->elementType() != i32)
      return imp.error() << "C must be int32 (quantized with scale alpha * "
                            "a_scale * b_scale), got "
                         << (*c)->type;
    acc = imp.emitBinary(BinaryKind::Add, *acc, **c);
    if (failed(acc))
      return failure();
  }
  // Multiplier alpha * a_scale * b_scale (f32), applied in f64 as for
  // QLinearMatMul.
  FailureOr<TV> bsf = imp.emitCast(**bs, f32), asf = imp.emitCast(*as0, f32);
  if (failed(bsf) || failed(asf))
    return failure();
  FailureOr<TV> m = imp.emitBinary(BinaryKind::Mul, *asf, *bsf);
  if (failed(m))
    return failure();
  TV al = scalarTV(imp, f32, *alpha);
  m = imp.emitBinary(BinaryKind::Mul, *m, al);
  if (failed(m))
    return failure();
  if (!imp.hasInput(7)) {
    FailureOr<TV> accf = imp.emitCast(*acc, f32);
    if (failed(accf))
      return failure();
    return setResult(imp, imp.emitBinary(BinaryKind::Mul, *accf, *m));
  }
  FailureOr<TV *> ys = imp.input(7);
  if (failed(ys))
    return failure();
  FailureOr<TV> ys0 = perTensor(imp, **ys, "y_scale");
  Type yt = IntegerType::get(imp.ctx, 8, IntegerType::Unsigned);
  FailureOr<TV> yz = zeroPointInput(imp, 8, yt);
  if (failed(ys0) || failed(yz))
    return failure();
  FailureOr<TV> yz0 = perTensor(imp, *yz, "y_zero_point");
  FailureOr<TV> ysf = imp.emitCast(*ys0, f32);
  if (failed(yz0) || failed(ysf))
    return failure();
  m = imp.emitBinary(BinaryKind::Div, *m, *ysf);
  if (failed(m))
    return failure();
  Type f64 = imp.builder.getF64Type();
  FailureOr<TV> m64 = imp.emitCast(*m, f64), acc64 = imp.emitCast(*acc, f64);
  if (failed(m64) || failed(acc64))
    return failure();
  FailureOr<TV> d = imp.emitBinary(BinaryKind::Mul, *acc64, *m64);
  if (failed(d))
    return failure();
  return setResult(imp, requantize(imp, *d, *yz0));
}

/// QLinearGlobalAveragePool: X, x_scale, x_zp, y_scale, y_zp;
/// channels_last picks NHWC.
LogicalResult importQLinearGlobalAveragePool(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), xs = imp.input(1), ys = imp.input(3);
  FailureOr<int64_t> channelsLast = imp.intAttr("channels_last", 0);
  if (failed(x) || failed(xs) || failed(ys) || failed(channelsLast))
    return failure();
  int64_t rank = (*x)->rank();
  if (rank < 3)
    return imp.error() << "X must have rank >= 3, got " << (*x)->type;
  Type qt = (*x)->elementType();
  FailureOr<TV> xz = zeroPointInput(imp, 2, qt),
                yz = zeroPointInput(imp, 4, qt);
  if (failed(xz) || failed(yz))
    return failure();
  SmallVector<int64_t> axes;
  int64_t size = 1;
  for (int64_t d = *channelsLast ? 1 : 2; d < (*channelsLast ? rank - 1 : rank);
       ++d) {
    axes.push_back(d);
    size *= (*x)->shape()[d];
  }
  Type i32 = imp.builder.getI32Type(), f32 = imp.builder.getF32Type();
  FailureOr<TV> xz0 = perTensor(imp, *xz, "x_zero_point");
  FailureOr<TV> xs0 = perTensor(imp, **xs, "x_scale");
  FailureOr<TV> ys0 = perTensor(imp, **ys, "y_scale");
  FailureOr<TV> yz0 = perTensor(imp, *yz, "y_zero_point");
  if (failed(xz0) || failed(xs0) || failed(ys0) || failed(yz0))
    return failure();
  FailureOr<TV> xi = imp.emitCast(**x, i32), zi = imp.emitCast(*xz0, i32);
  if (failed(xi) || failed(zi))
    return failure();
  FailureOr<TV> c = imp.emitBinary(BinaryKind::Sub, *xi, *zi);
  if (failed(c))
    return failure();
  FailureOr<TV> sum = imp.emitReduce(ReduceKind::Sum, *c, axes, true);
  if (failed(sum))
    return failure();
  // x_scale / (y_scale * size), each step rounded to f32.
  FailureOr<TV> xsf = imp.emitCast(*xs0, f32), ysf = imp.emitCast(*ys0, f32);
  if (failed(xsf) || failed(ysf))
    return failure();
  TV sz = scalarTV(imp, f32, static_cast<double>(size));
  FailureOr<TV> den = imp.emitBinary(BinaryKind::Mul, *ysf, sz);
  if (failed(den))
    return failure();
  FailureOr<TV> m = imp.emitBinary(BinaryKind::Div, *xsf, *den);
  FailureOr<TV> sumf = imp.emitCast(*sum, f32);
  if (failed(m) || failed(sumf))
    return failure();
  FailureOr<TV> v = imp.emitBinary(BinaryKind::Mul, *sumf, *m);
  if (failed(v))
    return failure();
  return setResult(imp, requantize(imp, *v, *yz0));
}

/// QLinearSoftmax (X, X_scale, x_zp, y_scale, y_zp; attributes axis and
/// opset) as ONNX Runtime's CPU kernel computes it: the probabilities of
/// dq(X) are requantized with the integer multiplier floor(1 / y_scale) (a
/// constant here), not divided by y_scale: for y_scale = 1/255 (f32,
/// 0.003921569, reciprocal 254.99998) that is 254.
LogicalResult importQLinearSoftmax(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), xs = imp.input(1), ys = imp.input(3);
  FailureOr<int64_t> opsetAttr = imp.intAttr("opset", -1);
  if (failed(x) || failed(xs) || failed(ys) || failed(opsetAttr))
    return failure();
  if (*opsetAttr < 0)
    return imp.error() << "attribute opset is required";
  int64_t rank = (*x)->rank();
  if (rank == 0)
    return imp.error() << "X must have rank >= 1";
  bool legacy = *opsetAttr < 13;
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", legacy ? 1 : -1);
  if (failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
  if (failed(axis))
    return failure();
  if (legacy && *axis != rank - 1)
    return imp.error() << "opset " << *opsetAttr << " softmax over axis "
                       << *axis << " of rank " << rank
                       << " (flattened) is not supported";
  Type qt = (*x)->elementType();
  FailureOr<TV> xz = zeroPointInput(imp, 2, qt),
                yz = zeroPointInput(imp, 4, qt);
  if (failed(xz) || failed(yz))
    return failure();
  FailureOr<TV> ys0 = perTensor(imp, **ys, "y_scale");
  if (failed(ys0))
    return failure();
  std::optional<Contents> ysc = readContents(*ys0);
  if (!ysc || ysc->floats.size() != 1)
    return imp.error() << "y_scale must be a constant";
  float inv = std::floor(1.0f / static_cast<float>(ysc->floats[0]));
  FailureOr<TV> dx = dequant(imp, **x, **xs, *xz);
  if (failed(dx))
    return failure();
  FailureOr<Value> v = imp.materialize(*dx);
  if (failed(v))
    return failure();
  FailureOr<Value> sm =
      imp.create<SoftmaxOp>(dx->type, *v, imp.builder.getI64IntegerAttr(*axis));
  if (failed(sm))
    return failure();
  TV p = GraphImporter::fromValue(*sm);
  TV mul = scalarTV(imp, imp.builder.getF32Type(), inv);
  FailureOr<TV> scaled = imp.emitBinary(BinaryKind::Mul, p, mul);
  if (failed(scaled))
    return failure();
  FailureOr<TV> yz0 = perTensor(imp, *yz, "y_zero_point");
  if (failed(yz0))
    return failure();
  return setResult(imp, requantize(imp, *scaled, *yz0));
}

} // namespace

void mlir::kiln::onnx::registerContribQuantOps(
    llvm::StringMap<OpHandler> &map) {
  map["com.microsoft.MatMulNBits"] = importMatMulNBits;
  map["com.microsoft.QLinearAdd"] = importQLinearBinary<BinaryKind::Add>;
  map["com.microsoft.QLinearMul"] = importQLinearBinary<BinaryKind::Mul>;
  map["com.microsoft.QGemm"] = importQGemm;
  map["com.microsoft.QLinearGlobalAveragePool"] =
      importQLinearGlobalAveragePool;
  map["com.microsoft.QLinearSoftmax"] = importQLinearSoftmax;
}
