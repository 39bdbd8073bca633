//===- KilnOpsNN.cpp - kiln N-D window, scatter and scan ops --------------===//
//
// Part of kiln. Type inference and verifiers of the ops in the "N-D
// convolution and pooling, scatter" section of KilnOps.td: conv, max_pool,
// avg_pool, scatter_nd, cumulative and grid_sample.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/KilnOpsNN.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
LogicalResult fail(std::optional<Location> loc, const Twine &message) {
  if (loc)
    return emitError(*loc, message);
  return failure();
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

bool allPositive(ArrayRef<int64_t> v) {
  return llvm::all_of(v, [](int64_t x) { return x > 0; });
}

/// Checks k strides, k dilations and 2k non-negative paddings.
LogicalResult checkWindow(std::optional<Location> loc, int64_t k,
                          ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
                          ArrayRef<int64_t> dilations) {
  if (static_cast<int64_t>(strides.size()) != k ||
      static_cast<int64_t>(dilations.size()) != k ||
      static_cast<int64_t>(padding.size()) != 2 * k)
    return fail(loc, "expected " + std::to_string(k) + " strides, " +
                         std::to_string(2 * k) + " paddings and " +
                         std::to_string(k) + " dilations");
  if (!allPositive(strides) || !allPositive(dilations) ||
      llvm::any_of(padding, [](int64_t p) { return p < 0; }))
    return fail(loc, "strides and dilations must be positive, padding "
                     "non-negative");
  return success();
}
} // namespace

namespace mlir::kiln {
/// Output length of one spatial dim of an N-D window op. With `ceilMode`
/// the division rounds up unless the last window would start past the
/// input and its begin padding. Returns <= 0 when the window does not fit.
int64_t windowOutputSize(int64_t in, int64_t padBegin, int64_t padEnd,
                         int64_t kernel, int64_t stride, int64_t dilation,
                         bool ceilMode) {
  int64_t effective = (kernel - 1) * dilation + 1;
  int64_t span = in + padBegin + padEnd - effective;
  if (span < 0)
    return 0;
  int64_t out = span / stride + 1;
  if (ceilMode) {
    out = (span + stride - 1) / stride + 1;
    if ((out - 1) * stride >= in + padBegin)
      --out;
  }
  return out;
}
} // namespace mlir::kiln

//===----------------------------------------------------------------------===//
// ConvOp
//===----------------------------------------------------------------------===//

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto in = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  auto w = dyn_cast<RankedTensorType>(adaptor.getWeight().getType());
  auto b = dyn_cast<RankedTensorType>(adaptor.getBias().getType());
  if (!in || !w || !b || in.getRank() < 3 || w.getRank() != in.getRank() ||
      b.getRank() != 1)
    return fail(loc, "conv expects an N x C x spatial... input, a weight of "
                     "the same rank and a 1-D bias");
  int64_t k = in.getRank() - 2;
  if (failed(checkWindow(loc, k, adaptor.getStrides(), adaptor.getPadding(),
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
  if (w.getElementType() != in.getElementType() ||
      b.getElementType() != in.getElementType())
    return fail(loc, "input, weight and bias element types differ");
  ArrayRef<int64_t> s = adaptor.getStrides(), p = adaptor.getPadding(),
                    d = adaptor.getDilations();
  SmallVector<int64_t> shape = {in.getDimSize(0), f};
  for (int64_t i = 0; i < k; ++i) {
    int64_t o = windowOutputSize(in.getDimSize(2 + i), p[i], p[k + i],
                                 w.getDimSize(2 + i), s[i], d[i], false);
    if (o <= 0)
      return fail(loc, "kernel larger than padded input");
    shape.push_back(o);
  }
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// MaxPoolOp, AvgPoolOp
//===----------------------------------------------------------------------===//

namespace {
LogicalResult inferPoolND(std::optional<Location> loc, Value input,
                          ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                          ArrayRef<int64_t> padding,
                          ArrayRef<int64_t> dilations, bool ceilMode,
                          SmallVectorImpl<Type> &inferred) {
  auto in = dyn_cast<RankedTensorType>(input.getType());
  if (!in || in.getRank() < 3)
    return fail(loc, "pooling expects an N x C x spatial... input");
  int64_t k = in.getRank() - 2;
  if (static_cast<int64_t>(kernel.size()) != k || !allPositive(kernel))
    return fail(loc, "expected " + std::to_string(k) +
                         " positive kernel sizes");
  if (failed(checkWindow(loc, k, strides, padding, dilations)))
    return failure();
  SmallVector<int64_t> shape = {in.getDimSize(0), in.getDimSize(1)};
  for (int64_t i = 0; i < k; ++i) {
    int64_t effective = (kernel[i] - 1) * dilations[i] + 1;
    if (padding[i] >= effective || padding[k + i] >= effective)
      return fail(loc, "padding must be smaller than the (dilated) kernel");
    int64_t o = windowOutputSize(in.getDimSize(2 + i), padding[i],
                                 padding[k + i], kernel[i], strides[i],
                                 dilations[i], ceilMode);
    if (o <= 0)
      return fail(loc, "kernel larger than padded input");
    shape.push_back(o);
  }
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}
} // namespace

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPoolND(loc, adaptor.getInput(), adaptor.getKernel(),
                     adaptor.getStrides(), adaptor.getPadding(),
                     adaptor.getDilations(), adaptor.getCeilMode(), inferred);
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPoolND(loc, adaptor.getInput(), adaptor.getKernel(),
                     adaptor.getStrides(), adaptor.getPadding(),
                     adaptor.getDilations(), adaptor.getCeilMode(), inferred);
}

//===----------------------------------------------------------------------===//
// ScatterNDOp
//===----------------------------------------------------------------------===//

LogicalResult ScatterNDOp::verify() {
  auto data = cast<RankedTensorType>(getData().getType());
  auto indices = cast<RankedTensorType>(getIndices().getType());
  auto updates = cast<RankedTensorType>(getUpdates().getType());
  StringRef r = getReduction();
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min")
    return emitOpError("reduction must be none, add, mul, max or min, got \"")
           << r << "\"";
  if (indices.getRank() < 1)
    return emitOpError("indices must have rank >= 1");
  int64_t k = indices.getShape().back();
  if (k < 1 || k > data.getRank())
    return emitOpError("index rows of length ")
           << k << " do not fit data of rank " << data.getRank();
  if (updates.getElementType() != data.getElementType())
    return emitOpError("updates and data element types differ");
  if (data.getElementType().isInteger(1) && r != "none")
    return emitOpError("bool data only supports reduction none");
  SmallVector<int64_t> expected(indices.getShape().drop_back());
  llvm::append_range(expected, data.getShape().drop_front(k));
  if (updates.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("updates must have shape ")
           << shapeString(expected) << ", got "
           << shapeString(updates.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// CumulativeOp
//===----------------------------------------------------------------------===//

LogicalResult CumulativeOp::verify() {
  auto type = cast<RankedTensorType>(getInput().getType());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= type.getRank())
    return emitOpError("axis ") << axis << " out of range for rank "
                                << type.getRank();
  if (getKind() != "sum" && getKind() != "prod")
    return emitOpError("kind must be \"sum\" or \"prod\", got \"")
           << getKind() << "\"";
  if (type.getElementType().isInteger(1))
    return emitOpError("expects numeric elements, got i1");
  return success();
}

//===----------------------------------------------------------------------===//
// GridSampleOp
//===----------------------------------------------------------------------===//

LogicalResult GridSampleOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  auto in = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  auto grid = dyn_cast<RankedTensorType>(adaptor.getGrid().getType());
  if (!in || !grid || in.getRank() < 3 || grid.getRank() != in.getRank())
    return fail(loc, "grid_sample expects an N x C x spatial... input and a "
                     "grid of the same rank");
  int64_t k = in.getRank() - 2;
  if (grid.getDimSize(0) != in.getDimSize(0) ||
      grid.getShape().back() != k)
    return fail(loc, "grid must be [" + std::to_string(in.getDimSize(0)) +
                         ", out..., " + std::to_string(k) + "], got " +
                         shapeString(grid.getShape()));
  if (grid.getElementType() != in.getElementType())
    return fail(loc, "input and grid element types differ");
  StringRef mode = adaptor.getMode(), pad = adaptor.getPaddingMode();
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return fail(loc, "mode must be nearest, linear or cubic, got " + mode);
  if (pad != "zeros" && pad != "border" && pad != "reflection")
    return fail(loc, "padding_mode must be zeros, border or reflection, got " +
                         pad);
  SmallVector<int64_t> shape = {in.getDimSize(0), in.getDimSize(1)};
  llvm::append_range(shape, grid.getShape().drop_front().drop_back());
  inferred.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}
