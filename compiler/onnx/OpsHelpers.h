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

} // namespace mlir::kiln::onnx::helpers

#endif // KILN_COMPILER_ONNX_OPSHELPERS_H
