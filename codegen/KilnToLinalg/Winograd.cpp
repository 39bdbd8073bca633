//===- Winograd.cpp - Winograd F(2x2, 3x3) convolution as linalg ----------===//
//
// Part of kiln. A 3x3 stride-1 convolution marked `winograd` becomes, with
// T = N * TH * TW tiles of 2x2 outputs (TH = ceil(OH / 2), TW likewise) and
// k = 4 * xi + nu over the 4x4 transform points:
//
//   V[k, c, n, th, tw] = sum_ij Bk[k, i, j] * x[n, c, 2 th + i, 2 tw + j]
//   M[k, f, t]         = sum_c  U[k, f, c] * V[k, c, t]        (batched GEMM)
//   y[n, f, oh, ow]    = bias + sum_k Ak[k, oh % 2, ow % 2]
//                               * M[k, f, n, oh / 2, ow / 2]
//
// with Bk[k, i, j] = BT[xi, i] BT[nu, j], Ak[k, a, b] = AT[a, xi] AT[b, nu]
// and U = G g G^T computed here from the constant weights (in double,
// rounded once). Lavin & Gray's matrices, for cross-correlation:
//
//   BT = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   G  = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   AT = [1 1 1 0; 0 1 -1 -1]
//
// The three generics are exact as written (the generic loop lowering runs
// them as they are); the transforms carry `kiln.winograd` = "input" /
// "output" so that codegen/cpu/WinogradKernel.cpp replaces their loops
// with vector code, and the GEMM is an ordinary batched matmul with a
// constant left operand. The input is zero-padded past the conv's own
// padding so that the input kernel's vector reads (8 tiles of a row at a
// time, 18 columns) stay inside it.
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

constexpr double kBT[4][4] = {
    {1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
constexpr double kG[4][3] = {
    {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
constexpr double kAT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

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

std::optional<std::vector<float>> winogradWeights(Attribute weights,
                                                  int64_t f, int64_t c) {
  std::optional<std::vector<float>> g = f32Elements(weights);
  if (!g || int64_t(g->size()) != f * c * 9)
    return std::nullopt;
  std::vector<float> u(16 * f * c);
  for (int64_t o = 0; o < f; ++o)
    for (int64_t i = 0; i < c; ++i) {
      const float *w = g->data() + (o * c + i) * 9;
      double gw[4][3]; // G g
      for (int r = 0; r < 4; ++r)
        for (int col = 0; col < 3; ++col)
          gw[r][col] = kG[r][0] * w[col] + kG[r][1] * w[3 + col] +
                       kG[r][2] * w[6 + col];
      for (int xi = 0; xi < 4; ++xi)
        for (int nu = 0; nu < 4; ++nu)
          u[((xi * 4 + nu) * f + o) * c + i] =
              float(gw[xi][0] * kG[nu][0] + gw[xi][1] * kG[nu][1] +
                    gw[xi][2] * kG[nu][2]);
    }
  return u;
}

Value winogradConv2D(OpBuilder &b, Location loc, Value input,
                     ArrayRef<float> u, Value init,
                     ArrayRef<int64_t> padding) {
  MLIRContext *context = b.getContext();
  auto xt = cast<RankedTensorType>(input.getType());
  auto yt = cast<RankedTensorType>(init.getType());
  int64_t n = xt.getDimSize(0), c = xt.getDimSize(1), h = xt.getDimSize(2),
          w = xt.getDimSize(3);
  int64_t f = yt.getDimSize(1), oh = yt.getDimSize(2), ow = yt.getDimSize(3);
  int64_t th = (oh + 1) / 2, tw = (ow + 1) / 2, t = n * th * tw;
  // Rows 0 .. 2 TH + 1; columns up to 16 * ceil(TW / 8) + 1 (the input
  // kernel reads 18 columns per 8 tiles).
  int64_t hp = 2 * th + 2, wp = 16 * ((tw + 7) / 8) + 2;
  Value zero = scalarConstant(b, loc, b.getF32Type(), 0.0);
  Value padded =
      padTensor(b, loc, input, {0, 0, padding[0], padding[1]},
                {0, 0, hp - h - padding[0], wp - w - padding[1]}, zero);

  auto dim = [&](unsigned i) { return getAffineDimExpr(i, context); };
  auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;

  std::vector<float> bk(16 * 16), ak(16 * 4);
  for (int k = 0; k < 16; ++k) {
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        bk[k * 16 + i * 4 + j] = float(kBT[k / 4][i] * kBT[k % 4][j]);
    for (int a = 0; a < 2; ++a)
      for (int bb = 0; bb < 2; ++bb)
        ak[k * 4 + a * 2 + bb] = float(kAT[a][k / 4] * kAT[bb][k % 4]);
  }

  // V[k, c, n, th, tw]: loops (k, c, n, th, tw, i, j).
  Value v = macGeneric(
      b, loc,
      ValueRange{padded, f32Constant(b, loc, {16, 4, 4}, bk, "winograd_b")},
      filledTensor(b, loc, {16, c, n, th, tw}, zero),
      {AffineMap::get(7, 0,
                      {dim(2), dim(1), dim(3) * 2 + dim(5), dim(4) * 2 + dim(6)},
                      context),
       AffineMap::get(7, 0, {dim(0), dim(5), dim(6)}, context),
       AffineMap::get(7, 0, {dim(0), dim(1), dim(2), dim(3), dim(4)}, context)},
      {par, par, par, par, par, red, red}, kWinogradInput);
  v = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({16, c, t}, b.getF32Type()), v,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}});

  // M[k, f, t] = U[k, f, c] V[k, c, t]: loops (k, f, t, c).
  Value m = macGeneric(
      b, loc,
      ValueRange{f32Constant(b, loc, {16, f, c}, u, "winograd_u"), v},
      filledTensor(b, loc, {16, f, t}, zero),
      {AffineMap::get(4, 0, {dim(0), dim(1), dim(3)}, context),
       AffineMap::get(4, 0, {dim(0), dim(3), dim(2)}, context),
       AffineMap::get(4, 0, {dim(0), dim(1), dim(2)}, context)},
      {par, par, par, red}, "");
  m = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({16, f, n, th, tw}, b.getF32Type()), m,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}});

  // y[n, f, oh, ow] += Ak[k, oh % 2, ow % 2] M[k, f, n, oh / 2, ow / 2]:
  // loops (n, f, oh, ow, k).
  Value y = macGeneric(
      b, loc, ValueRange{m, f32Constant(b, loc, {16, 2, 2}, ak, "winograd_a")},
      init,
      {AffineMap::get(5, 0,
                      {dim(4), dim(1), dim(0), dim(2).floorDiv(2),
                       dim(3).floorDiv(2)},
                      context),
       AffineMap::get(5, 0, {dim(4), dim(2) % 2, dim(3) % 2}, context),
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
