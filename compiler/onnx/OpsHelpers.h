//===- OpsHelpers.h - small helpers shared by ONNX op handlers ----*- C++
//-*-===//
//
// Part of kiln. Private to compiler/onnx/: shorthands the handler files of
// the layout, indexing, NN and sequence families use to build constants and
// to chain emit helpers. Everything here composes GraphImporter's emit*
// helpers, so results fold whenever the operands are known.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_ONNX_OPSHELPERS_H
#define KILN_COMPILER_ONNX_OPSHELPERS_H

#include "compiler/onnx/ImporterInternal.h"

#include "dialects/Kiln/KilnOps.h"

#include <cmath>

namespace mlir::kiln::onnx::helpers {

inline LogicalResult setResult(GraphImporter &imp, FailureOr<TV> r,
                               int i = 0) {
  if (failed(r))
    return failure();
  return imp.setOutput(i, *r);
}

inline LogicalResult setValue(GraphImporter &imp, FailureOr<Value> r,
                              int i = 0) {
  if (failed(r))
    return failure();
  return imp.setOutput(i, GraphImporter::fromValue(*r));
}

/// True when `v` is known to hold only zeros.
inline bool isKnownZero(const TV &v) {
  if (v.data)
    return llvm::all_of(v.data->ints, [](int64_t x) { return x == 0; }) &&
           v.data->floats.empty();
  auto dense = dyn_cast_or_null<DenseElementsAttr>(v.attr);
  return dense && dense.isSplat() && dense.getSplatValue<APInt>().isZero();
}

/// A one-element zero point `zp` as a materialized 0-d value (a null
/// value without one): the activation zero point of the integer kernels.
inline FailureOr<Value> scalarZeroPoint(GraphImporter &imp, TV *zp) {
  if (!zp)
    return Value();
  FailureOr<TV> z = imp.emitReshape(*zp, {});
  if (failed(z))
    return failure();
  return imp.materialize(*z);
}

/// A 0-d constant of `elt` holding `v`.
inline TV scalarTV(GraphImporter &imp, Type elt, double v) {
  return imp.makeSplat(RankedTensorType::get({}, elt), v);
}

/// An int64 constant of `shape` with `values` (row-major).
inline TV i64Const(GraphImporter &imp, ArrayRef<int64_t> shape,
                   ArrayRef<int64_t> values) {
  Contents c;
  c.ints.assign(values.begin(), values.end());
  return imp.makeConst(RankedTensorType::get(shape, imp.builder.getI64Type()),
                       std::move(c));
}

/// A constant of float type `elt` and `shape` with `values` (rounded).
inline TV floatConst(GraphImporter &imp, Type elt, ArrayRef<int64_t> shape,
                     ArrayRef<double> values) {
  Contents c;
  for (double v : values)
    c.floats.push_back(roundToFloatType(elt, v));
  return imp.makeConst(RankedTensorType::get(shape, elt), std::move(c));
}

/// A bool constant of `shape` with `values`.
inline TV boolConst(GraphImporter &imp, ArrayRef<int64_t> shape,
                    ArrayRef<bool> values) {
  Contents c;
  for (bool v : values)
    c.ints.push_back(v ? 1 : 0);
  return imp.makeConst(RankedTensorType::get(shape, imp.builder.getI1Type()),
                       std::move(c));
}

/// Product of `shape`.
inline int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Moves dim `from` of `x` to position `to` (a transpose).
inline FailureOr<TV> moveAxis(GraphImporter &imp, TV &x, int64_t from,
                              int64_t to) {
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != from)
      perm.push_back(d);
  perm.insert(perm.begin() + to, from);
  return imp.emitTranspose(x, perm);
}

/// Slice of `x` along one axis: [start, start + size) with `step`.
inline FailureOr<TV> sliceAxis(GraphImporter &imp, TV &x, int64_t axis,
                               int64_t start, int64_t size, int64_t step = 1) {
  SmallVector<int64_t> starts(x.rank(), 0), sizes(x.shape()),
      steps(x.rank(), 1);
  starts[axis] = size ? start : 0;
  sizes[axis] = size;
  steps[axis] = step;
  return imp.emitSlice(x, starts, sizes, steps);
}

/// Broadcasts a scalar (or any broadcastable) `v` to `shape`.
inline FailureOr<TV> fill(GraphImporter &imp, TV &v, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> ones(shape.size(), 1);
  FailureOr<TV> r = imp.emitReshape(v, ones);
  if (failed(r))
    return failure();
  return imp.emitExpand(*r, shape);
}


/// Rounds a float tensor to the nearest integer, halves to even.
inline FailureOr<TV> roundHalfEven(GraphImporter &imp, TV &x) {
  if (x.hasData()) {
    Contents c;
    for (double v : x.data->floats)
      c.floats.push_back(roundToFloatType(x.elementType(), std::nearbyint(v)));
    return imp.makeConst(x.type, std::move(c));
  }
  FailureOr<Value> v = imp.materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = imp.create<RoundOp>(x.type, *v);
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// The value range of integer type `t` (not i1), or nullopt.
inline std::optional<std::pair<double, double>> intRange(Type t) {
  auto it = dyn_cast<IntegerType>(t);
  if (!it || it.getWidth() == 1)
    return std::nullopt;
  unsigned w = it.getWidth();
  if (it.isUnsigned())
    return std::make_pair(0.0, std::ldexp(1.0, w) - 1);
  return std::make_pair(-std::ldexp(1.0, w - 1), std::ldexp(1.0, w - 1) - 1);
}

/// round_half_even(x + zp) clamped to zp's integer type and cast to it
/// (x float; zp an integer scalar or broadcastable tensor).
inline FailureOr<TV> requantize(GraphImporter &imp, TV &x, TV &zp) {
  Type target = zp.elementType();
  std::optional<std::pair<double, double>> range = intRange(target);
  if (!range)
    return imp.error() << "zero point must be an integer tensor, got "
                       << zp.type;
  Type ft = x.elementType();
  FailureOr<TV> z = imp.emitCast(zp, ft);
  if (failed(z))
    return failure();
  FailureOr<TV> s = imp.emitBinary(BinaryKind::Add, x, *z);
  if (failed(s))
    return failure();
  FailureOr<TV> r = roundHalfEven(imp, *s);
  if (failed(r))
    return failure();
  TV lo = scalarTV(imp, ft, range->first), hi = scalarTV(imp, ft, range->second);
  FailureOr<TV> a = imp.emitBinary(BinaryKind::Max, *r, lo);
  if (failed(a))
    return failure();
  FailureOr<TV> b = imp.emitBinary(BinaryKind::Min, *a, hi);
  if (failed(b))
    return failure();
  return imp.emitCast(*b, target);
}

} // namespace mlir::kiln::onnx::helpers

#endif // KILN_COMPILER_ONNX_OPSHELPERS_H
