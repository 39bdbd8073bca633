//===- OpsQuantize.cpp - QuantizeLinear and friends -----------------------===//
//
// Part of kiln. QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear
// as ONNX's reference computes them, in existing kiln ops:
//   quantize:   y = clamp(round_half_even(x / scale) + zero_point) -> cast
//   dequantize: y = (float(x) - zero_point) * scale
// Scales and zero points are per tensor, per axis (reshaped to broadcast)
// or blocked (each entry repeated block_size times along the axis).
// Integer targets: int8/uint8/int16/uint16 (and the narrower integer types
// when the importer knows them); float8 targets cast with saturation.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

/// Makes a scale or zero point broadcastable to `shape` (onnx.reference's
/// _quant_utils.reshape_input).
FailureOr<TV> broadcastParam(GraphImporter &imp, TV &p, ArrayRef<int64_t> shape,
                             int64_t axis, int64_t block) {
  int64_t rank = shape.size();
  if (p.rank() == 0)
    return p;
  if (p.type.getNumElements() == 1)
    return imp.emitReshape(p, {});
  if (axis < 0 || axis >= rank)
    return imp.error() << "axis " << axis << " is out of range for rank "
                       << rank;
  if (!block) {
    if (p.rank() != 1 || p.shape()[0] != shape[axis])
      return imp.error() << "per-axis parameter " << p.type << " must have "
                         << shape[axis] << " elements";
    SmallVector<int64_t> dims(rank, 1);
    dims[axis] = shape[axis];
    return imp.emitReshape(p, dims);
  }
  if (block < 0 || p.rank() != rank)
    return imp.error() << "blocked parameter " << p.type
                       << " must have the input's rank " << rank;
  int64_t nb = p.shape()[axis];
  SmallVector<int64_t> unsq(p.shape()), rep(p.shape()), merged(p.shape());
  unsq.insert(unsq.begin() + axis + 1, 1);
  rep.insert(rep.begin() + axis + 1, block);
  merged[axis] = nb * block;
  FailureOr<TV> u = imp.emitReshape(p, unsq);
  if (failed(u))
    return failure();
  FailureOr<TV> e = imp.emitExpand(*u, rep);
  if (failed(e))
    return failure();
  FailureOr<TV> m = imp.emitReshape(*e, merged);
  if (failed(m))
    return failure();
  if (merged[axis] < shape[axis])
    return imp.error() << "blocks of " << block << " x " << nb
                       << " do not cover dim " << axis << " of size "
                       << shape[axis];
  FailureOr<TV> s = sliceAxis(imp, *m, axis, 0, shape[axis]);
  if (failed(s))
    return failure();
  if (s->shape() != shape)
    return imp.error() << "blocked parameter " << p.type
                       << " does not match the input shape "
                       << shapeText(shape);
  return s;
}

FailureOr<TV> castTo(GraphImporter &imp, TV &x, Type t) {
  if (x.elementType() == t)
    return x;
  return imp.emitCast(x, t);
}

/// round(x / scale) + zp, clamped to `target`'s range and cast to it.
/// `x` and `scale` are float (the computation type), `zp` optional.
FailureOr<TV> quantize(GraphImporter &imp, TV &x, TV &scale, TV *zp,
                       Type target) {
  FailureOr<TV> q = imp.emitBinary(BinaryKind::Div, x, scale);
  if (failed(q))
    return failure();
  std::optional<std::pair<double, double>> range = intRange(target);
  if (!range) {
    // Float targets (float8): a saturating cast of x / scale.
    if (!isa<FloatType>(target))
      return imp.error() << "unsupported quantized type " << target;
    return imp.emitCast(*q, target);
  }
  FailureOr<TV> r = roundHalfEven(imp, *q);
  if (failed(r))
    return failure();
  Type ft = r->elementType();
  if (zp) {
    FailureOr<TV> z = castTo(imp, *zp, ft);
    if (failed(z))
      return failure();
    r = imp.emitBinary(BinaryKind::Add, *r, *z);
    if (failed(r))
      return failure();
  }
  TV lo = scalarTV(imp, ft, range->first), hi = scalarTV(imp, ft, range->second);
  FailureOr<TV> a = imp.emitBinary(BinaryKind::Max, *r, lo);
  if (failed(a))
    return failure();
  FailureOr<TV> b = imp.emitBinary(BinaryKind::Min, *a, hi);
  if (failed(b))
    return failure();
  return imp.emitCast(*b, target);
}

LogicalResult importQuantizeLinear(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), scale = imp.input(1);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 1);
  FailureOr<int64_t> block = imp.intAttr("block_size", 0);
  FailureOr<int64_t> outType = imp.intAttr("output_dtype", 0);
  FailureOr<int64_t> precision = imp.intAttr("precision", 0);
  if (failed(x) || failed(scale) || failed(axisAttr) || failed(block) ||
      failed(outType) || failed(precision))
    return failure();
  int64_t rank = (*x)->rank();
  int64_t axis = *axisAttr < 0 ? *axisAttr + rank : *axisAttr;
  Type target;
  std::optional<TV> zp;
  if (imp.hasInput(2)) {
    FailureOr<TV *> z = imp.input(2);
    if (failed(z))
      return failure();
    target = (*z)->elementType();
    FailureOr<TV> zb = broadcastParam(imp, **z, (*x)->shape(), axis, *block);
    if (failed(zb))
      return failure();
    zp = *zb;
  } else if (*outType) {
    target = getElementType(imp.ctx, *outType);
    if (!target)
      return imp.error() << "unsupported output_dtype "
                         << dataTypeName(*outType);
  } else {
    target = IntegerType::get(imp.ctx, 8, IntegerType::Unsigned);
  }
  FailureOr<TV> s = broadcastParam(imp, **scale, (*x)->shape(), axis, *block);
  if (failed(s))
    return failure();
  // x / scale in x's type (or `precision`).
  Type ct = (*x)->elementType();
  if (*precision) {
    ct = getElementType(imp.ctx, *precision);
    if (!ct)
      return imp.error() << "unsupported precision " << dataTypeName(*precision);
  }
  FailureOr<TV> xc = castTo(imp, **x, ct);
  FailureOr<TV> sc = castTo(imp, *s, ct);
  if (failed(xc) || failed(sc))
    return failure();
  return setResult(imp, quantize(imp, *xc, *sc, zp ? &*zp : nullptr, target));
}

LogicalResult importDequantizeLinear(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), scale = imp.input(1);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 1);
  FailureOr<int64_t> block = imp.intAttr("block_size", 0);
  FailureOr<int64_t> outType = imp.intAttr("output_dtype", 0);
  if (failed(x) || failed(scale) || failed(axisAttr) || failed(block) ||
      failed(outType))
    return failure();
  int64_t rank = (*x)->rank();
  int64_t axis = *axisAttr < 0 ? *axisAttr + rank : *axisAttr;
  Type f32 = imp.builder.getF32Type();
  Type result = (*scale)->elementType();
  if (*outType) {
    result = getElementType(imp.ctx, *outType);
    if (!result)
      return imp.error() << "unsupported output_dtype "
                         << dataTypeName(*outType);
  }
  FailureOr<TV> dx = castTo(imp, **x, f32);
  if (failed(dx))
    return failure();
  bool isFloatInput = isa<FloatType>((*x)->elementType());
  if (imp.hasInput(2) && !isFloatInput) {
    FailureOr<TV *> z = imp.input(2);
    if (failed(z))
      return failure();
    FailureOr<TV> zb = broadcastParam(imp, **z, (*x)->shape(), axis, *block);
    if (failed(zb))
      return failure();
    FailureOr<TV> zf = castTo(imp, *zb, f32);
    if (failed(zf))
      return failure();
    dx = imp.emitBinary(BinaryKind::Sub, *dx, *zf);
    if (failed(dx))
      return failure();
  }
  FailureOr<TV> s = broadcastParam(imp, **scale, (*x)->shape(), axis, *block);
  if (failed(s))
    return failure();
  FailureOr<TV> sf = castTo(imp, *s, f32);
  if (failed(sf))
    return failure();
  FailureOr<TV> y = imp.emitBinary(BinaryKind::Mul, *dx, *sf);
  if (failed(y))
    return failure();
  return setResult(imp, castTo(imp, *y, result));
}

/// y_scale = (max(0, max x) - min(0, min x)) / 255,
/// zp = clamp(round(-min(0, min x) / y_scale), 0, 255),
/// y = clamp(round(x / y_scale) + zp, 0, 255) as uint8.
LogicalResult importDynamicQuantizeLinear(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  Type elt = (*x)->elementType();
  if (!isa<FloatType>(elt))
    return imp.error() << "input must be a float tensor, got " << (*x)->type;
  int64_t rank = (*x)->rank();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d)
    axes.push_back(d);
  TV in = **x;
  if (rank == 0) {
    FailureOr<TV> r = imp.emitReshape(in, {1});
    if (failed(r))
      return failure();
    in = *r;
    axes = {0};
  }
  FailureOr<TV> mx = imp.emitReduce(ReduceKind::Max, in, axes, false);
  FailureOr<TV> neg = imp.emitUnary(UnaryKind::Neg, in);
  if (failed(mx) || failed(neg))
    return failure();
  FailureOr<TV> negMin = imp.emitReduce(ReduceKind::Max, *neg, axes, false);
  if (failed(negMin))
    return failure();
  TV zero = scalarTV(imp, elt, 0.0);
  // max(0, max x) and -min(0, min x) = max(0, -min x).
  FailureOr<TV> hi = imp.emitBinary(BinaryKind::Max, *mx, zero);
  FailureOr<TV> lo = imp.emitBinary(BinaryKind::Max, *negMin, zero);
  if (failed(hi) || failed(lo))
    return failure();
  FailureOr<TV> span = imp.emitBinary(BinaryKind::Add, *hi, *lo);
  if (failed(span))
    return failure();
  TV q = scalarTV(imp, elt, 255.0);
  FailureOr<TV> scale = imp.emitBinary(BinaryKind::Div, *span, q);
  if (failed(scale))
    return failure();
  Type u8 = IntegerType::get(imp.ctx, 8, IntegerType::Unsigned);
  FailureOr<TV> zpf = imp.emitBinary(BinaryKind::Div, *lo, *scale);
  if (failed(zpf))
    return failure();
  FailureOr<TV> zpr = roundHalfEven(imp, *zpf);
  if (failed(zpr))
    return failure();
  TV z0 = scalarTV(imp, elt, 0.0), z255 = scalarTV(imp, elt, 255.0);
  FailureOr<TV> zc = imp.emitBinary(BinaryKind::Max, *zpr, z0);
  if (failed(zc))
    return failure();
  zc = imp.emitBinary(BinaryKind::Min, *zc, z255);
  if (failed(zc))
    return failure();
  FailureOr<TV> y = quantize(imp, **x, *scale, &*zc, u8);
  if (failed(y))
    return failure();
  FailureOr<TV> zp = imp.emitCast(*zc, u8);
  if (failed(zp))
    return failure();
  if (failed(imp.setOutput(0, *y)) || failed(imp.setOutput(1, *scale)))
    return failure();
  return imp.setOutput(2, *zp);
}


/// kiln.integer_matmul for the form the int8 kernel takes: 8-bit
/// activations of rank >= 2 with one zero point, constant signed 8-bit
/// weights [K, N] with zero points 0 (ONNX Runtime's quantize_dynamic and
/// its QOperator models with QInt8 weights). Null when `a`/`b` are not
/// that form.
FailureOr<TV> integerKernelMatMul(GraphImporter &imp, TV &a, TV *azp, TV &b,
                                  TV *bzp) {
  auto ae = dyn_cast<IntegerType>(a.elementType());
  if (!ae || ae.getWidth() != 8 || a.rank() < 2 || b.rank() != 2 ||
      !b.isConstant() || !b.elementType().isSignlessInteger(8) ||
      (bzp && !isKnownZero(*bzp)) ||
      (azp && azp->type.getNumElements() != 1) ||
      a.shape().back() != b.shape()[0])
    return TV();
  FailureOr<Value> va = imp.materialize(a), vb = imp.materialize(b);
  FailureOr<Value> vz = scalarZeroPoint(imp, azp);
  if (failed(va) || failed(vb) || failed(vz))
    return failure();
  FailureOr<Value> r = imp.create<IntegerMatMulOp>(Type(), *va, *vb, *vz);
  if (failed(r))
    return failure();
  return imp.fromValue(*r);
}

/// MatMulInteger: (A - a_zp) x (B - b_zp) in int32 (a_zp per row of A,
/// b_zp per column of B, or scalars).
FailureOr<TV> integerMatMul(GraphImporter &imp, TV &a, TV *azp, TV &b,
                            TV *bzp) {
  FailureOr<TV> kernel = integerKernelMatMul(imp, a, azp, b, bzp);
  if (failed(kernel) || kernel->type)
    return kernel;
  Type i32 = imp.builder.getI32Type();
  auto centered = [&](TV &v, TV *zp, bool rows) -> FailureOr<TV> {
    FailureOr<TV> vi = castTo(imp, v, i32);
    if (failed(vi) || !zp)
      return vi;
    TV z = *zp;
    if (z.type.getNumElements() == 1) {
      FailureOr<TV> r = imp.emitReshape(z, {});
      if (failed(r))
        return failure();
      z = *r;
    } else if (z.rank() == 1 && rows) {
      FailureOr<TV> r = imp.emitReshape(z, {z.shape()[0], 1});
      if (failed(r))
        return failure();
      z = *r;
    }
    FailureOr<TV> zi = castTo(imp, z, i32);
    if (failed(zi))
      return failure();
    return imp.emitBinary(BinaryKind::Sub, *vi, *zi);
  };
  FailureOr<TV> ac = centered(a, azp, true), bc = centered(b, bzp, false);
  if (failed(ac) || failed(bc))
    return failure();
  return imp.emitMatMul(*ac, *bc);
}

LogicalResult importMatMulInteger(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1);
  if (failed(a) || failed(b))
    return failure();
  TV *azp = imp.hasInput(2) ? *imp.input(2) : nullptr;
  TV *bzp = imp.hasInput(3) ? *imp.input(3) : nullptr;
  return setResult(imp, integerMatMul(imp, **a, azp, **b, bzp));
}

/// QLinearMatMul: the integer product scaled by a_scale * b_scale / y_scale
/// (in the scales' type, then f64), requantized to y_zero_point's type.
LogicalResult importQLinearMatMul(GraphImporter &imp) {
  SmallVector<TV *> in;
  for (int i = 0; i < 8; ++i) {
    FailureOr<TV *> t = imp.input(i);
    if (failed(t))
      return failure();
    in.push_back(*t);
  }
  FailureOr<TV> c = integerMatMul(imp, *in[0], in[2], *in[3], in[5]);
  if (failed(c))
    return failure();
  FailureOr<TV> m = imp.emitBinary(BinaryKind::Mul, *in[1], *in[4]);
  if (failed(m))
    return failure();
  m = imp.emitBinary(BinaryKind::Div, *m, *in[6]);
  if (failed(m))
    return failure();
  Type f64 = imp.builder.getF64Type();
  FailureOr<TV> m64 = castTo(imp, *m, f64);
  FailureOr<TV> c64 = castTo(imp, *c, f64);
  if (failed(m64) || failed(c64))
    return failure();
  FailureOr<TV> d = imp.emitBinary(BinaryKind::Mul, *c64, *m64);
  if (failed(d))
    return failure();
  return setResult(imp, requantize(imp, *d, *in[7]));
}

} // namespace

void mlir::kiln::onnx::registerQuantizeOps(llvm::StringMap<OpHandler> &map) {
  map["QuantizeLinear"] = importQuantizeLinear;
  map["DequantizeLinear"] = importDequantizeLinear;
  map["DynamicQuantizeLinear"] = importDynamicQuantizeLinear;
  map["MatMulInteger"] = importMatMulInteger;
  map["QLinearMatMul"] = importQLinearMatMul;
}
