//===- OpsContribQuant.cpp - com.microsoft quantized ops ------------------===//
//
// Part of kiln. ONNX Runtime's contrib quantized ops (domain com.microsoft,
// opset 1), in existing kiln ops:
//
//   MatMulNBits  Y[..., N] = A[..., K] x dequant(B)^T (+ bias), B packed
//                `bits`-bit integers in blocks of `block_size` along K with
//                one scale (and zero point) per block and column. The
//                weights must be constants: they are unpacked at import
//                (unpackMatMulNBits) into q / scales / zero points, then
//                dequantized to a float [K, N] constant for kiln.matmul.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

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
  if (b.elementType() != u8 ||
      b.shape() != ArrayRef<int64_t>{N, nb, blob})
    return imp.error() << "B is " << b.type << ", expected uint8 ["
                       << N << ", " << nb << ", " << blob
                       << "] for K=" << K << ", N=" << N << ", bits=" << bits
                       << ", block_size=" << blockSize;
  if (scales.elementType() != floatType ||
      scales.type.getNumElements() != N * nb ||
      !(scales.rank() == 1 ||
        (scales.rank() == 2 && scales.shape()[0] == N)))
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
                           << N * rowBytes << " uint8 (N * ceil(n_blocks_per_col"
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
    // Act-order (GPTQ) g_idx permutes rows between blocks; only the trivial
    // mapping, the same as no g_idx, is supported.
    std::optional<Contents> g = readContents(*gIdx);
    if (!g || g->ints.size() != static_cast<size_t>(K))
      return imp.error() << "g_idx must be a constant int32 [" << K
                         << "], got " << gIdx->type;
    for (int64_t k = 0; k < K; ++k)
      if (g->ints[k] != k / blockSize)
        return imp.error() << "g_idx[" << k << "] = " << g->ints[k]
                           << " reorders rows between blocks (act-order); "
                              "only g_idx[k] = k / block_size is supported";
  }
  return w;
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
    return imp.error() << "A is " << (*a)->type << ", its last dim must be K="
                       << *K;
  auto optional = [&](int i) -> FailureOr<TV *> {
    if (!imp.hasInput(i))
      return static_cast<TV *>(nullptr);
    return imp.input(i);
  };
  FailureOr<TV *> zp = optional(3), gIdx = optional(4), bias = optional(5);
  if (failed(zp) || failed(gIdx) || failed(bias))
    return failure();

  FailureOr<NBitsWeights> w =
      unpackMatMulNBits(imp, *K, *N, *bits, *block, **b, **scales, *zp, *gIdx,
                        elt);
  if (failed(w))
    return failure();

  // Dequantize in f32 as ONNX Runtime's CPU kernel does ((q - zp) * scale,
  // then the matmul in A's type).
  Contents c;
  c.floats.resize(w->K * w->N);
  for (int64_t k = 0; k < w->K; ++k) {
    int64_t blk = k / w->blockSize;
    for (int64_t n = 0; n < w->N; ++n) {
      float q = w->q[k * w->N + n];
      float v = (q - w->zeroPoints[blk * w->N + n]) * w->scales[blk * w->N + n];
      c.floats[k * w->N + n] = roundToFloatType(elt, v);
    }
  }
  TV weight;
  weight.type = RankedTensorType::get({w->K, w->N}, elt);
  weight.attr = contentsToAttr(weight.type, c, imp.node->input(1) + "_dq");
  FailureOr<TV> y = imp.emitMatMul(**a, weight);
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

} // namespace

void mlir::kiln::onnx::registerContribQuantOps(
    llvm::StringMap<OpHandler> &map) {
  map["com.microsoft.MatMulNBits"] = importMatMulNBits;
}
