//===- KilnOps.cpp - kiln dialect operations ------------------------------===//
//
// Part of kiln. Type inference, verifiers and folders of the kiln ops.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"

#include <cstring>

using namespace mlir;
using namespace mlir::kiln;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {
/// Emits an error at `loc` when present; always returns failure so callers
/// can `return fail(loc, ...)`.
LogicalResult fail(std::optional<Location> loc, const Twine &message) {
  if (loc)
    return emitError(*loc, message);
  return failure();
}

RankedTensorType tensorOf(Type type) {
  return dyn_cast<RankedTensorType>(type);
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

/// Infers the numpy-broadcast shape of several operands.
LogicalResult broadcastShapes(std::optional<Location> loc, TypeRange types,
                              SmallVectorImpl<int64_t> &shape) {
  shape.clear();
  for (Type type : types) {
    auto tensor = tensorOf(type);
    if (!tensor)
      return fail(loc, "expected ranked tensor operands");
    SmallVector<int64_t> next;
    if (!OpTrait::util::getBroadcastedShape(shape, tensor.getShape(), next))
      return fail(loc, "shapes " + shapeString(shape) + " and " +
                           shapeString(tensor.getShape()) +
                           " are not broadcast-compatible");
    shape = std::move(next);
  }
  return success();
}

LogicalResult inferBinary(std::optional<Location> loc, Value lhs, Value rhs,
                          bool isComparison,
                          SmallVectorImpl<Type> &inferred) {
  auto lt = tensorOf(lhs.getType()), rt = tensorOf(rhs.getType());
  if (!lt || !rt)
    return fail(loc, "expected ranked tensor operands");
  if (lt.getElementType() != rt.getElementType())
    return fail(loc, "operand element types differ");
  SmallVector<int64_t> shape;
  if (failed(broadcastShapes(loc, {lt, rt}, shape)))
    return failure();
  Type element = isComparison ? IntegerType::get(lt.getContext(), 1)
                              : lt.getElementType();
  inferred.push_back(RankedTensorType::get(shape, element));
  return success();
}

/// Output length of one spatial dim of a window op (conv or pool).
int64_t windowOutput(int64_t in, int64_t padBegin, int64_t padEnd,
                     int64_t kernel, int64_t stride, int64_t dilation) {
  int64_t effective = (kernel - 1) * dilation + 1;
  return (in + padBegin + padEnd - effective) / stride + 1;
}

LogicalResult checkWindowAttrs(std::optional<Location> loc,
                               ArrayRef<int64_t> strides,
                               ArrayRef<int64_t> padding,
                               ArrayRef<int64_t> dilations) {
  if (strides.size() != 2 || padding.size() != 4 || dilations.size() != 2)
    return fail(loc, "expected 2 strides, 4 paddings and 2 dilations");
  if (llvm::any_of(strides, [](int64_t s) { return s <= 0; }) ||
      llvm::any_of(dilations, [](int64_t d) { return d <= 0; }) ||
      llvm::any_of(padding, [](int64_t p) { return p < 0; }))
    return fail(loc, "strides and dilations must be positive, padding "
                     "non-negative");
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  inferred.push_back(adaptor.getValue().getType());
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult ClipOp::verify() {
  if (getMin().convertToDouble() > getMax().convertToDouble())
    return emitOpError("min ") << getMin().convertToDouble()
                               << " is greater than max "
                               << getMax().convertToDouble();
  return success();
}

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

#define KILN_BINARY_INFER(OP, IS_COMPARISON)                                   \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    return inferBinary(loc, adaptor.getLhs(), adaptor.getRhs(),                \
                       IS_COMPARISON, inferred);                               \
  }
KILN_BINARY_INFER(AddOp, false)
KILN_BINARY_INFER(SubOp, false)
KILN_BINARY_INFER(MulOp, false)
KILN_BINARY_INFER(DivOp, false)
KILN_BINARY_INFER(PowOp, false)
KILN_BINARY_INFER(MaxOp, false)
KILN_BINARY_INFER(MinOp, false)
KILN_BINARY_INFER(AndOp, false)
KILN_BINARY_INFER(OrOp, false)
KILN_BINARY_INFER(EqualOp, true)
KILN_BINARY_INFER(LessOp, true)
KILN_BINARY_INFER(GreaterOp, true)
#undef KILN_BINARY_INFER

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto lt = tensorOf(adaptor.getLhs().getType());
  auto rt = tensorOf(adaptor.getRhs().getType());
  if (!lt || !rt || lt.getElementType() != rt.getElementType())
    return fail(loc, "selected operands must have the same element type");
  SmallVector<int64_t> shape;
  if (failed(broadcastShapes(
          loc, {adaptor.getCondition().getType(), lt, rt}, shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, lt.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// MatMulOp
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto lt = tensorOf(adaptor.getLhs().getType());
  auto rt = tensorOf(adaptor.getRhs().getType());
  if (!lt || !rt || lt.getRank() < 2 || rt.getRank() < 2)
    return fail(loc, "matmul operands must have rank >= 2");
  if (lt.getElementType() != rt.getElementType())
    return fail(loc, "operand element types differ");
  ArrayRef<int64_t> ls = lt.getShape(), rs = rt.getShape();
  int64_t k = ls.back(), k2 = rs[rs.size() - 2];
  if (k != k2)
    return fail(loc, "contraction dims differ: lhs " + shapeString(ls) +
                         ", rhs " + shapeString(rs));
  SmallVector<int64_t> batch;
  if (!OpTrait::util::getBroadcastedShape(ls.drop_back(2), rs.drop_back(2),
                                          batch))
    return fail(loc, "batch dims " + shapeString(ls.drop_back(2)) + " and " +
                         shapeString(rs.drop_back(2)) +
                         " are not broadcast-compatible");
  batch.push_back(ls[ls.size() - 2]);
  batch.push_back(rs.back());
  inferred.push_back(RankedTensorType::get(batch, lt.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Conv2DOp and pooling
//===----------------------------------------------------------------------===//

LogicalResult Conv2DOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto in = tensorOf(adaptor.getInput().getType());
  auto w = tensorOf(adaptor.getWeight().getType());
  auto b = tensorOf(adaptor.getBias().getType());
  if (!in || !w || !b || in.getRank() != 4 || w.getRank() != 4 ||
      b.getRank() != 1)
    return fail(loc, "conv2d expects a 4-D input, 4-D weight and 1-D bias");
  if (failed(checkWindowAttrs(loc, adaptor.getStrides(), adaptor.getPadding(),
                              adaptor.getDilations())))
    return failure();
  int64_t group = adaptor.getGroup();
  int64_t c = in.getDimSize(1), f = w.getDimSize(0);
  if (group <= 0 || c % group != 0 || f % group != 0)
    return fail(loc, "group " + std::to_string(group) +
                         " must divide input channels " + std::to_string(c) +
                         " and filters " + std::to_string(f));
  if (w.getDimSize(1) != c / group)
    return fail(loc, "weight has " + std::to_string(w.getDimSize(1)) +
                         " input channels per group, expected " +
                         std::to_string(c / group));
  if (b.getDimSize(0) != f)
    return fail(loc, "bias has " + std::to_string(b.getDimSize(0)) +
                         " elements, expected " + std::to_string(f));
  ArrayRef<int64_t> s = adaptor.getStrides(), p = adaptor.getPadding(),
                    d = adaptor.getDilations();
  int64_t oh = windowOutput(in.getDimSize(2), p[0], p[2], w.getDimSize(2),
                            s[0], d[0]);
  int64_t ow = windowOutput(in.getDimSize(3), p[1], p[3], w.getDimSize(3),
                            s[1], d[1]);
  if (oh <= 0 || ow <= 0)
    return fail(loc, "kernel larger than padded input");
  inferred.push_back(RankedTensorType::get({in.getDimSize(0), f, oh, ow},
                                           in.getElementType()));
  return success();
}

LogicalResult Conv2DOp::verify() {
  if (!getWinograd())
    return success();
  auto w = cast<RankedTensorType>(getWeight().getType());
  auto one = [](ArrayRef<int64_t> v) {
    return llvm::all_of(v, [](int64_t x) { return x == 1; });
  };
  if (w.getDimSize(2) != 3 || w.getDimSize(3) != 3 || !one(getStrides()) ||
      !one(getDilations()) || getGroup() != 1 ||
      !w.getElementType().isF32() || getLmul())
    return emitOpError("winograd needs a 3x3 f32 convolution with stride 1, "
                       "dilation 1, one group and no lmul");
  if (*getWinograd() != 2 && *getWinograd() != 4)
    return emitOpError("winograd output tile must be 2 or 4, not ")
           << *getWinograd();
  return success();
}

LogicalResult IntegerConv2DOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  auto in = tensorOf(adaptor.getInput().getType());
  auto w = tensorOf(adaptor.getWeights().getType());
  ArrayRef<int64_t> kernel = adaptor.getKernel();
  if (!in || !w || in.getRank() != 4 || w.getRank() != 2)
    return fail(loc, "integer_conv2d expects a 4-D input and 2-D weights "
                     "[KH * KW * C, F]");
  if (kernel.size() != 2 || kernel[0] <= 0 || kernel[1] <= 0)
    return fail(loc, "integer_conv2d expects 2 positive kernel sizes");
  if (failed(checkWindowAttrs(loc, adaptor.getStrides(), adaptor.getPadding(),
                              adaptor.getDilations())))
    return failure();
  // Channels and spatial dims of the input in its layout.
  bool last = adaptor.getChannelsLast();
  int64_t c = in.getDimSize(last ? 3 : 1), h = in.getDimSize(last ? 1 : 2),
          wd = in.getDimSize(last ? 2 : 3);
  // Group 1, or depthwise: one input channel per output channel.
  int64_t group = adaptor.getGroup();
  if (group != 1 && (group != c || w.getDimSize(1) != c))
    return fail(loc, "integer_conv2d group must be 1 or C = F (depthwise), "
                     "got group " + std::to_string(group) + " with C = " +
                         std::to_string(c) + ", F = " +
                         std::to_string(w.getDimSize(1)));
  int64_t rows = c / group * kernel[0] * kernel[1];
  if (w.getDimSize(0) != rows)
    return fail(loc, "weights have " + std::to_string(w.getDimSize(0)) +
                         " rows, expected KH * KW * C / group = " +
                         std::to_string(rows));
  ArrayRef<int64_t> s = adaptor.getStrides(), p = adaptor.getPadding(),
                    d = adaptor.getDilations();
  int64_t oh = windowOutput(h, p[0], p[2], kernel[0], s[0], d[0]);
  int64_t ow = windowOutput(wd, p[1], p[3], kernel[1], s[1], d[1]);
  if (oh <= 0 || ow <= 0)
    return fail(loc, "kernel larger than padded input");
  int64_t n = in.getDimSize(0), f = w.getDimSize(1);
  inferred.push_back(RankedTensorType::get(
      last ? SmallVector<int64_t>{n, oh, ow, f} : SmallVector<int64_t>{n, f, oh, ow},
      IntegerType::get(ctx, 32)));
  return success();
}

LogicalResult IntegerConv2DOp::verify() {
  auto xt = cast<RankedTensorType>(getInput().getType());
  auto wt = cast<RankedTensorType>(getWeights().getType());
  auto xe = dyn_cast<IntegerType>(xt.getElementType());
  if (!xe || xe.getWidth() != 8 || xe.isSigned())
    return emitOpError("input must be ui8 or i8, got ") << xt.getElementType();
  if (!wt.getElementType().isSignlessInteger(8))
    return emitOpError("weights must be signless i8, got ")
           << wt.getElementType();
  if (Value zp = getInputZeroPoint()) {
    auto zt = cast<RankedTensorType>(zp.getType());
    if (zt.getElementType() != xt.getElementType() || zt.getRank() != 0)
      return emitOpError("input_zero_point must be a scalar (rank 0) of the "
                         "input's type ")
             << xt.getElementType() << ", got " << zt;
  }
  return success();
}

namespace {
LogicalResult inferPool(std::optional<Location> loc, Value input,
                        ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                        ArrayRef<int64_t> padding,
                        SmallVectorImpl<Type> &inferred) {
  auto in = tensorOf(input.getType());
  if (!in || in.getRank() != 4)
    return fail(loc, "pooling expects a 4-D NCHW input");
  if (kernel.size() != 2 || llvm::any_of(kernel, [](int64_t k) {
        return k <= 0;
      }))
    return fail(loc, "expected 2 positive kernel sizes");
  SmallVector<int64_t> ones = {1, 1};
  if (failed(checkWindowAttrs(loc, strides, padding, ones)))
    return failure();
  if (padding[0] >= kernel[0] || padding[2] >= kernel[0] ||
      padding[1] >= kernel[1] || padding[3] >= kernel[1])
    return fail(loc, "padding must be smaller than the kernel");
  int64_t oh = windowOutput(in.getDimSize(2), padding[0], padding[2],
                            kernel[0], strides[0], 1);
  int64_t ow = windowOutput(in.getDimSize(3), padding[1], padding[3],
                            kernel[1], strides[1], 1);
  if (oh <= 0 || ow <= 0)
    return fail(loc, "kernel larger than padded input");
  inferred.push_back(RankedTensorType::get(
      {in.getDimSize(0), in.getDimSize(1), oh, ow}, in.getElementType()));
  return success();
}
} // namespace

LogicalResult MaxPool2DOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, adaptor.getInput(), adaptor.getKernel(),
                   adaptor.getStrides(), adaptor.getPadding(), inferred);
}

LogicalResult AvgPool2DOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, adaptor.getInput(), adaptor.getKernel(),
                   adaptor.getStrides(), adaptor.getPadding(), inferred);
}

LogicalResult BatchNormOp::verify() {
  auto in = getInput().getType();
  if (in.getRank() < 2)
    return emitOpError("input must have rank >= 2 (N, C, ...)");
  Type param = getScale().getType();
  for (Value v : {getBias(), getMean(), getVariance()})
    if (v.getType() != param)
      return emitOpError("scale, bias, mean and variance must have one type");
  auto pt = cast<RankedTensorType>(param);
  if (pt.getRank() != 1 || pt.getDimSize(0) != in.getDimSize(1))
    return emitOpError("parameters must be 1-D with ")
           << in.getDimSize(1) << " channels";
  if (pt.getElementType() != in.getElementType())
    return emitOpError("parameter element type differs from the input's");
  return success();
}

//===----------------------------------------------------------------------===//
// Normalization and reductions
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  if (getAxis() < 0 || getAxis() >= rank)
    return emitOpError("axis ") << getAxis() << " out of range for rank "
                                << rank;
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto in = getInput().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ") << axis << " out of range for rank "
                                << in.getRank();
  ArrayRef<int64_t> normalized = in.getShape().drop_front(axis);
  for (Value v : {getScale(), getBias()}) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getShape() != normalized ||
        t.getElementType() != in.getElementType()) {
      std::string expected;
      llvm::raw_string_ostream os(expected);
      os << RankedTensorType::get(normalized, in.getElementType());
      return emitOpError("scale and bias must have type ") << expected;
    }
  }
  return success();
}

namespace {
LogicalResult inferReduce(std::optional<Location> loc, Value input,
                          ArrayRef<int64_t> axes, bool keepdims,
                          SmallVectorImpl<Type> &inferred) {
  auto in = tensorOf(input.getType());
  if (!in)
    return fail(loc, "expected a ranked tensor");
  if (axes.empty())
    return fail(loc, "axes must not be empty");
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (a < 0 || a >= in.getRank())
      return fail(loc, "axis " + std::to_string(a) +
                           " out of range for rank " +
                           std::to_string(in.getRank()));
    if (i > 0 && axes[i - 1] >= a)
      return fail(loc, "axes must be sorted and unique");
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(in.getDimSize(d));
    else if (keepdims)
      shape.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}
} // namespace

#define KILN_REDUCE_INFER(OP)                                                  \
  LogicalResult OP::inferReturnTypes(MLIRContext *,                            \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    return inferReduce(loc, adaptor.getInput(), adaptor.getAxes(),             \
                       adaptor.getKeepdims(), inferred);                       \
  }
KILN_REDUCE_INFER(ReduceSumOp)
KILN_REDUCE_INFER(ReduceMeanOp)
KILN_REDUCE_INFER(ReduceMaxOp)
#undef KILN_REDUCE_INFER

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("element type changes from ")
           << in.getElementType() << " to " << out.getElementType();
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << shapeString(in.getShape()) << " (" << in.getNumElements()
           << " elements) to " << shapeString(out.getShape()) << " ("
           << out.getNumElements() << " elements)";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // reshape(reshape(x)) -> reshape(x)
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  if (auto dense = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(getType());
  return {};
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto in = tensorOf(adaptor.getInput().getType());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if (!in || static_cast<int64_t>(perm.size()) != in.getRank())
    return fail(loc, "perm must have one entry per input dim");
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= in.getRank() || seen[p])
      return fail(loc, "perm is not a permutation");
    seen[p] = true;
    shape.push_back(in.getDimSize(p));
  }
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

/// The bytes of a constant's elements (row-major), or an empty ref for
/// splats, bit-packed types and attributes without raw storage.
static ArrayRef<char> rawElementBytes(Attribute attr, int64_t &elementBytes) {
  auto shaped = dyn_cast_or_null<ElementsAttr>(attr);
  if (!shaped)
    return {};
  Type elt = shaped.getShapedType().getElementType();
  if (!elt.isIntOrFloat() || elt.getIntOrFloatBitWidth() % 8 != 0)
    return {};
  elementBytes = elt.getIntOrFloatBitWidth() / 8;
  int64_t count = shaped.getShapedType().getNumElements();
  ArrayRef<char> data;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat())
      return {};
    data = dense.getRawData();
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      data = blob->getData();
  }
  if (int64_t(data.size()) != count * elementBytes)
    return {};
  return data;
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(getPerm()))
    identity &= static_cast<int64_t>(i) == p;
  if (identity)
    return getInput();
  // A transposed constant (a Gemm transB weight, say) is permuted once here
  // instead of on every run; splats stay splats.
  auto type = cast<RankedTensorType>(getType());
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
      dense && dense.isSplat())
    return dense.resizeSplat(type);
  int64_t elementBytes = 0;
  ArrayRef<char> data = rawElementBytes(adaptor.getInput(), elementBytes);
  if (data.empty() || !type.hasStaticShape())
    return {};
  auto inType = cast<RankedTensorType>(getInput().getType());
  ArrayRef<int64_t> inShape = inType.getShape();
  int64_t rank = inType.getRank();
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * inShape[i + 1];
  ArrayRef<int64_t> perm = getPerm();
  ArrayRef<int64_t> outShape = type.getShape();
  std::vector<char> out(data.size());
  SmallVector<int64_t> index(rank, 0);
  for (int64_t o = 0, e = type.getNumElements(); o < e; ++o) {
    int64_t source = 0;
    for (int64_t d = 0; d < rank; ++d)
      source += index[d] * inStrides[perm[d]];
    std::memcpy(&out[o * elementBytes], &data[source * elementBytes],
                elementBytes);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < outShape[d])
        break;
      index[d] = 0;
    }
  }
  if (type.getNumElements() <= 64)
    return DenseElementsAttr::getFromRawBuffer(type, out);
  return DenseResourceElementsAttr::get(
      type, "transposed",
      HeapAsmResourceBlob::allocateAndCopyWithAlign(out, alignof(max_align_t)));
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  if (adaptor.getInputs().empty())
    return fail(loc, "concat needs at least one input");
  auto first = tensorOf(adaptor.getInputs().front().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= first.getRank())
    return fail(loc, "axis " + std::to_string(axis) + " out of range");
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : adaptor.getInputs()) {
    auto t = tensorOf(v.getType());
    if (t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return fail(loc, "inputs differ in rank or element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != first.getDimSize(d))
        return fail(loc, "inputs differ in dim " + std::to_string(d));
    shape[axis] += t.getDimSize(axis);
  }
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto in = tensorOf(adaptor.getInput().getType());
  ArrayRef<int64_t> starts = adaptor.getStarts(), sizes = adaptor.getSizes(),
                    steps = adaptor.getSteps();
  int64_t rank = in.getRank();
  if (static_cast<int64_t>(starts.size()) != rank ||
      static_cast<int64_t>(sizes.size()) != rank ||
      static_cast<int64_t>(steps.size()) != rank)
    return fail(loc, "starts, sizes and steps need one entry per dim");
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = in.getDimSize(d);
    if (steps[d] == 0 || sizes[d] < 0)
      return fail(loc, "steps must be non-zero and sizes non-negative");
    if (sizes[d] == 0)
      continue;
    int64_t last = starts[d] + (sizes[d] - 1) * steps[d];
    if (starts[d] < 0 || starts[d] >= n || last < 0 || last >= n)
      return fail(loc, "slice of dim " + std::to_string(d) +
                           " goes out of bounds");
  }
  inferred.push_back(RankedTensorType::get(sizes, in.getElementType()));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto data = tensorOf(adaptor.getData().getType());
  auto indices = tensorOf(adaptor.getIndices().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return fail(loc, "axis " + std::to_string(axis) + " out of range");
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  inferred.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

LogicalResult ExpandOp::verify() {
  auto in = getInput().getType(), out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("element type changes");
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(in.getShape(), out.getShape(),
                                          shape) ||
      ArrayRef<int64_t>(shape) != out.getShape())
    return emitOpError("cannot broadcast ")
           << shapeString(in.getShape()) << " to "
           << shapeString(out.getShape());
  return success();
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto dense = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput()))
    if (dense.isSplat())
      return SplatElementsAttr::get(getType(), dense.getSplatValue<Attribute>());
  return {};
}

#define GET_OP_CLASSES
#include "dialects/Kiln/KilnOps.cpp.inc"
