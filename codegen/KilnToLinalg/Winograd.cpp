//===- Winograd.cpp - Winograd F(m x m, 3x3) convolution as linalg --------===//
//
// Part of kiln. A 3x3 stride-1 convolution marked `winograd = m` (m = 2
// or 4; alpha = m + 2) becomes, with T = N * TH * TW tiles of m x m
// outputs (TH = ceil(OH / m), TW likewise) and k = alpha * xi + nu over the
// alpha x alpha transform points:
//
//   V[k, c, n, th, tw] = sum_ij Bk[k, i, j] * x[n, c, m th + i, m tw + j]
//   M[k, f, t]         = sum_c  U[k, f, c] * V[k, c, t]        (batched GEMM)
//   y[n, f, oh, ow]    = bias + sum_k Ak[k, oh % m, ow % m]
//                               * M[k, f, n, oh / m, ow / m]
//
// with Bk[k, i, j] = BT[xi, i] BT[nu, j], Ak[k, a, b] = AT[a, xi] AT[b, nu]
// and U = G g G^T computed here from the constant weights (in double,
// rounded once). Lavin & Gray's matrices, for cross-correlation:
//
//   F(2x2, 3x3): BT = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//                G  = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//                AT = [1 1 1 0; 0 1 -1 -1]
//   F(4x4, 3x3): BT = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//                      0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//                G  = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
//                      1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//                AT = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0;
//                      0 1 -1 8 -8 1]
//
// F(4x4) needs 36 products per 16 outputs (4x fewer than direct, against
// 2.25x for F(2x2)), with transforms that round more (coefficients up to
// 8). The three generics are exact as written (the generic loop lowering
// runs them as they are); the transforms carry `kiln.winograd` = "input" /
// "output" so that codegen/cpu/WinogradKernel.cpp replaces their loops
// with vector code, and the GEMM is an ordinary batched matmul with a
// constant left operand. The input is zero-padded past the conv's own
// padding so that the input kernel's vector reads (8 tiles of a row at a
// time: 8 m columns from the block's first column and 8 m from m further)
// stay inside it.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

namespace mlir::kiln::lowering {

namespace {

// Row-major, one matrix row per line.
// clang-format off
constexpr double kBT2[] = {1,  0, -1,  0,
                           0,  1,  1,  0,
                           0, -1,  1,  0,
                           0,  1,  0, -1};
constexpr double kG2[] = {1,    0,   0,
                          0.5,  0.5, 0.5,
                          0.5, -0.5, 0.5,
                          0,    0,   1};
constexpr double kAT2[] = {1, 1,  1,  0,
                           0, 1, -1, -1};

constexpr double kBT4[] = {4,  0, -5,  0, 1, 0,
                           0, -4, -4,  1, 1, 0,
                           0,  4, -4, -1, 1, 0,
                           0, -2, -1,  2, 1, 0,
                           0,  2, -1, -2, 1, 0,
                           0,  4,  0, -5, 0, 1};
constexpr double kG4[] = { 1.0 / 4,   0,         0,
                          -1.0 / 6,  -1.0 / 6,  -1.0 / 6,
                          -1.0 / 6,   1.0 / 6,  -1.0 / 6,
                           1.0 / 24,  1.0 / 12,  1.0 / 6,
                           1.0 / 24, -1.0 / 12,  1.0 / 6,
                           0,         0,         1};
constexpr double kAT4[] = {1, 1,  1, 1,  1, 0,
                           0, 1, -1, 2, -2, 0,
                           0, 1,  1, 4,  4, 0,
                           0, 1, -1, 8, -8, 1};
// clang-format on

/// The f32 elements of a constant attribute (dense, splat or resource).
std::optional<std::vector<float>> f32Elements(Attribute value) {
  auto elements = dyn_cast_if_present<ElementsAttr>(value);
  if (!elements || !elements.getElementType().isF32())
    return std::nullopt;
  int64_t count = elements.getNumElements();
  std::vector<float> out(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    int64_t i = 0;
    for (float v : dense.getValues<float>())
      out[i++] = v;
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || int64_t(blob->getData().size()) != count * 4)
      return std::nullopt;
    std::memcpy(out.data(), blob->getData().data(), count * 4);
    return out;
  }
  return std::nullopt;
}

Value f32Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  ArrayRef<float> values, StringRef name) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()),
                       values.size() * sizeof(float));
  if (values.size() <= 64)
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  return arith::ConstantOp::create(
      b, loc,
      DenseResourceElementsAttr::get(
          type, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes)));
}

/// A multiply-accumulate generic (acc += a * b) marked `kind`.
Value macGeneric(OpBuilder &b, Location loc, ValueRange inputs, Value init,
                 ArrayRef<AffineMap> maps,
                 ArrayRef<utils::IteratorType> iterators, StringRef kind) {
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value product = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l,
                                arith::AddFOp::create(nb, l, args[2], product)
                                    .getResult());
      });
  if (!kind.empty())
    generic->setAttr(kWinogradAttr, b.getStringAttr(kind));
  return generic.getResult(0);
}

} // namespace

std::optional<WinogradMatrices> winogradMatrices(int64_t m) {
  if (m == 2)
    return WinogradMatrices{2, 4, kBT2, kG2, kAT2};
  if (m == 4)
    return WinogradMatrices{4, 6, kBT4, kG4, kAT4};
  return std::nullopt;
}

std::optional<std::vector<float>> winogradWeights(Attribute weights, int64_t f,
                                                  int64_t c,
                                                  const WinogradMatrices &wm) {
  std::optional<std::vector<float>> g = f32Elements(weights);
  if (!g || int64_t(g->size()) != f * c * 9)
    return std::nullopt;
  int64_t alpha = wm.alpha;
  std::vector<float> u(alpha * alpha * f * c);
  std::vector<double> gw(alpha * 3); // G g
  for (int64_t o = 0; o < f; ++o)
    for (int64_t i = 0; i < c; ++i) {
      const float *w = g->data() + (o * c + i) * 9;
      for (int64_t r = 0; r < alpha; ++r)
        for (int col = 0; col < 3; ++col)
          gw[r * 3 + col] = wm.gAt(r, 0) * w[col] + wm.gAt(r, 1) * w[3 + col] +
                            wm.gAt(r, 2) * w[6 + col];
      for (int64_t xi = 0; xi < alpha; ++xi)
        for (int64_t nu = 0; nu < alpha; ++nu)
          u[((xi * alpha + nu) * f + o) * c + i] = float(
              gw[xi * 3] * wm.gAt(nu, 0) + gw[xi * 3 + 1] * wm.gAt(nu, 1) +
              gw[xi * 3 + 2] * wm.gAt(nu, 2));
    }
  return u;
}

Value winogradConv2D(OpBuilder &b, Location loc, Value input, ArrayRef<float> u,
                     Value init, ArrayRef<int64_t> padding,
                     const WinogradMatrices &wm) {
  MLIRContext *context = b.getContext();
  auto xt = cast<RankedTensorType>(input.getType());
  auto yt = cast<RankedTensorType>(init.getType());
  int64_t n = xt.getDimSize(0), c = xt.getDimSize(1), h = xt.getDimSize(2),
          w = xt.getDimSize(3);
  int64_t f = yt.getDimSize(1), oh = yt.getDimSize(2), ow = yt.getDimSize(3);
  int64_t m = wm.m, alpha = wm.alpha, points = alpha * alpha;
  int64_t th = (oh + m - 1) / m, tw = (ow + m - 1) / m, t = n * th * tw;
  // Rows 0 .. m TH + 1; columns up to 8 m ceil(TW / 8) + m - 1 (the input
  // kernel reads 8 m columns from a block's first column and from m past
  // it).
  int64_t hp = m * th + 2, wp = 8 * m * ((tw + 7) / 8) + m;
  Value zero = scalarConstant(b, loc, b.getF32Type(), 0.0);
  Value padded =
      padTensor(b, loc, input, {0, 0, padding[0], padding[1]},
                {0, 0, hp - h - padding[0], wp - w - padding[1]}, zero);

  auto dim = [&](unsigned i) { return getAffineDimExpr(i, context); };
  auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;

  std::vector<float> bk(points * points), ak(points * m * m);
  for (int64_t k = 0; k < points; ++k) {
    int64_t xi = k / alpha, nu = k % alpha;
    for (int64_t i = 0; i < alpha; ++i)
      for (int64_t j = 0; j < alpha; ++j)
        bk[(k * alpha + i) * alpha + j] =
            float(wm.btAt(xi, i) * wm.btAt(nu, j));
    for (int64_t a = 0; a < m; ++a)
      for (int64_t bb = 0; bb < m; ++bb)
        ak[(k * m + a) * m + bb] = float(wm.atAt(a, xi) * wm.atAt(bb, nu));
  }

  // V[k, c, n, th, tw]: loops (k, c, n, th, tw, i, j).
  Value v = macGeneric(
      b, loc,
      ValueRange{padded,
                 f32Constant(b, loc, {points, alpha, alpha}, bk, "winograd_b")},
      filledTensor(b, loc, {points, c, n, th, tw}, zero),
      {AffineMap::get(
           7, 0, {dim(2), dim(1), dim(3) * m + dim(5), dim(4) * m + dim(6)},
           context),
       AffineMap::get(7, 0, {dim(0), dim(5), dim(6)}, context),
       AffineMap::get(7, 0, {dim(0), dim(1), dim(2), dim(3), dim(4)}, context)},
      {par, par, par, par, par, red, red}, kWinogradInput);
  v = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({points, c, t}, b.getF32Type()), v,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}});

  // M[k, f, t] = U[k, f, c] V[k, c, t]: loops (k, f, t, c).
  Value mm = macGeneric(
      b, loc,
      ValueRange{f32Constant(b, loc, {points, f, c}, u, "winograd_u"), v},
      filledTensor(b, loc, {points, f, t}, zero),
      {AffineMap::get(4, 0, {dim(0), dim(1), dim(3)}, context),
       AffineMap::get(4, 0, {dim(0), dim(3), dim(2)}, context),
       AffineMap::get(4, 0, {dim(0), dim(1), dim(2)}, context)},
      {par, par, par, red}, "");
  mm = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({points, f, n, th, tw}, b.getF32Type()), mm,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}});

  // y[n, f, oh, ow] += Ak[k, oh % m, ow % m] M[k, f, n, oh / m, ow / m]:
  // loops (n, f, oh, ow, k).
  Value y = macGeneric(
      b, loc,
      ValueRange{mm, f32Constant(b, loc, {points, m, m}, ak, "winograd_a")},
      init,
      {AffineMap::get(
           5, 0,
           {dim(4), dim(1), dim(0), dim(2).floorDiv(m), dim(3).floorDiv(m)},
           context),
       AffineMap::get(5, 0, {dim(4), dim(2) % m, dim(3) % m}, context),
       AffineMap::get(5, 0, {dim(0), dim(1), dim(2), dim(3)}, context)},
      {par, par, par, par, red}, kWinogradOutput);
  // The bias fill right before it, where the output kernel looks for the
  // fill it absorbs (its operands were all made before this function).
  if (Operation *fill = init.getDefiningOp();
      fill && fill->getBlock() == y.getDefiningOp()->getBlock())
    fill->moveBefore(y.getDefiningOp());
  return y;
}

} // namespace mlir::kiln::lowering
