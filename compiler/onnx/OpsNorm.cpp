//===- OpsNorm.cpp - normalization ONNX ops -------------------------------===//
//
// Part of kiln. Handlers for InstanceNormalization, GroupNormalization,
// RMSNormalization, LpNormalization, MeanVarianceNormalization and LRN.
// Instance and group norms become a kiln.layer_norm over the normalized
// dims (unit scale, zero bias) followed by the per-channel affine; the
// others decompose into reductions and elementwise ops, computed in f32 for
// narrower float types as ONNX's stash_type says.
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

/// layer_norm(x) over dims [axis, rank) with unit scale and zero bias.
FailureOr<TV> plainLayerNorm(GraphImporter &imp, TV &x, int64_t axis,
                             float eps) {
  if (!isa<FloatType>(x.elementType()))
    return imp.error() << "input must be a float tensor, got " << x.type;
  auto paramType =
      RankedTensorType::get(x.shape().drop_front(axis), x.elementType());
  TV ones = imp.makeSplat(paramType, 1.0), zeros = imp.makeSplat(paramType, 0);
  FailureOr<Value> vx = imp.materialize(x);
  if (failed(vx))
    return failure();
  FailureOr<Value> vs = imp.materialize(ones);
  if (failed(vs))
    return failure();
  FailureOr<Value> vb = imp.materialize(zeros);
  if (failed(vb))
    return failure();
  FailureOr<Value> r = imp.create<LayerNormOp>(
      x.type, *vx, *vs, *vb, imp.builder.getI64IntegerAttr(axis),
      imp.builder.getF32FloatAttr(eps));
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// y * scale[c] + bias[c] for per-channel (axis 1) vectors.
FailureOr<TV> channelAffine(GraphImporter &imp, TV &y, TV &scale, TV *bias) {
  int64_t c = y.shape()[1];
  SmallVector<int64_t> shape(y.rank(), 1);
  shape[1] = c;
  auto prep = [&](TV &p, StringRef what) -> FailureOr<TV> {
    if (p.type.getNumElements() != c || p.elementType() != y.elementType())
      return imp.error() << what << " must hold " << c << " "
                         << y.elementType() << " values, got " << p.type;
    return imp.emitReshape(p, shape);
  };
  FailureOr<TV> s = prep(scale, "scale");
  if (failed(s))
    return failure();
  FailureOr<TV> r = imp.emitBinary(BinaryKind::Mul, y, *s);
  if (failed(r) || !bias)
    return r;
  FailureOr<TV> b = prep(*bias, "bias");
  if (failed(b))
    return failure();
  return imp.emitBinary(BinaryKind::Add, *r, *b);
}

LogicalResult importInstanceNorm(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), scale = imp.input(1), bias = imp.input(2);
  FailureOr<float> eps = imp.floatAttr("epsilon", 1e-5f);
  if (failed(x) || failed(scale) || failed(bias) || failed(eps))
    return failure();
  if ((*x)->rank() < 3)
    return imp.error() << "input must be N x C x spatial..., got "
                       << (*x)->type;
  FailureOr<TV> y = plainLayerNorm(imp, **x, 2, *eps);
  if (failed(y))
    return failure();
  return setResult(imp, channelAffine(imp, *y, **scale, *bias));
}

LogicalResult importGroupNorm(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), scale = imp.input(1), bias = imp.input(2);
  FailureOr<float> eps = imp.floatAttr("epsilon", 1e-5f);
  FailureOr<int64_t> groups = imp.intAttr("num_groups", 0);
  if (failed(x) || failed(scale) || failed(bias) || failed(eps) ||
      failed(groups))
    return failure();
  TV &in = **x;
  if (in.rank() < 3)
    return imp.error() << "input must be N x C x spatial..., got " << in.type;
  int64_t n = in.shape()[0], c = in.shape()[1], g = *groups;
  if (g <= 0 || c % g != 0)
    return imp.error() << "num_groups " << g << " does not divide " << c
                       << " channels";
  int64_t per = in.type.getNumElements() / std::max<int64_t>(n * g, 1);
  FailureOr<TV> r = imp.emitReshape(in, {n, g, per});
  if (failed(r))
    return failure();
  FailureOr<TV> y = plainLayerNorm(imp, *r, 2, *eps);
  if (failed(y))
    return failure();
  FailureOr<TV> back = imp.emitReshape(*y, in.shape());
  if (failed(back))
    return failure();
  TV s = **scale, b = **bias;
  if (imp.opset < 21 && s.type.getNumElements() == g && g != c) {
    // Opset 18: scale and bias per group; repeat them per channel.
    FailureOr<TV> se = imp.emitReshape(s, {g, 1});
    FailureOr<TV> be = imp.emitReshape(b, {g, 1});
    if (failed(se) || failed(be))
      return failure();
    FailureOr<TV> sx = imp.emitExpand(*se, {g, c / g});
    FailureOr<TV> bx = imp.emitExpand(*be, {g, c / g});
    if (failed(sx) || failed(bx))
      return failure();
    s = *sx;
    b = *bx;
  }
  return setResult(imp, channelAffine(imp, *back, s, &b));
}

/// `x` cast to f32 when it is a narrower float (stash_type = float).
FailureOr<TV> toStash(GraphImporter &imp, TV &x) {
  auto ft = dyn_cast<FloatType>(x.elementType());
  if (!ft)
    return imp.error() << "input must be a float tensor, got " << x.type;
  if (ft.getWidth() >= 32)
    return x;
  return imp.emitCast(x, imp.builder.getF32Type());
}

LogicalResult importRMSNorm(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), scale = imp.input(1);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", -1);
  FailureOr<float> eps = imp.floatAttr("epsilon", 1e-5f);
  if (failed(x) || failed(scale) || failed(axisAttr) || failed(eps))
    return failure();
  int64_t rank = (*x)->rank();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
  if (failed(axis))
    return failure();
  FailureOr<TV> xs = toStash(imp, **x);
  if (failed(xs))
    return failure();
  Type st = xs->elementType();
  FailureOr<TV> sq = imp.emitBinary(BinaryKind::Mul, *xs, *xs);
  if (failed(sq))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t d = *axis; d < rank; ++d)
    axes.push_back(d);
  FailureOr<TV> ms = imp.emitReduce(ReduceKind::Mean, *sq, axes, true);
  if (failed(ms))
    return failure();
  TV e = scalarTV(imp, st, *eps);
  FailureOr<TV> a = imp.emitBinary(BinaryKind::Add, *ms, e);
  if (failed(a))
    return failure();
  FailureOr<TV> rms = imp.emitUnary(UnaryKind::Sqrt, *a);
  if (failed(rms))
    return failure();
  FailureOr<TV> inv = imp.emitUnary(UnaryKind::Reciprocal, *rms);
  if (failed(inv))
    return failure();
  FailureOr<TV> y = imp.emitBinary(BinaryKind::Mul, *xs, *inv);
  if (failed(y))
    return failure();
  TV w = **scale;
  if (w.elementType() != st) {
    FailureOr<TV> wc = imp.emitCast(w, st);
    if (failed(wc))
      return failure();
    w = *wc;
  }
  FailureOr<TV> scaled = imp.emitBinary(BinaryKind::Mul, *y, w);
  if (failed(scaled))
    return failure();
  if (scaled->shape() != (*x)->shape())
    return imp.error() << "scale " << (*scale)->type
                       << " does not broadcast to the input "
                       << (*x)->type;
  if (st != (*x)->elementType())
    return setResult(imp, imp.emitCast(*scaled, (*x)->elementType()));
  return imp.setOutput(0, *scaled);
}

LogicalResult importLpNorm(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", -1);
  FailureOr<int64_t> p = imp.intAttr("p", 2);
  if (failed(x) || failed(axisAttr) || failed(p))
    return failure();
  if (*p != 1 && *p != 2)
    return imp.error() << "p must be 1 or 2, got " << *p;
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, (*x)->rank());
  if (failed(axis))
    return failure();
  FailureOr<TV> t = *p == 1 ? imp.emitUnary(UnaryKind::Abs, **x)
                            : imp.emitBinary(BinaryKind::Mul, **x, **x);
  if (failed(t))
    return failure();
  FailureOr<TV> s = imp.emitReduce(ReduceKind::Sum, *t, {*axis}, true);
  if (failed(s))
    return failure();
  if (*p == 2) {
    s = imp.emitUnary(UnaryKind::Sqrt, *s);
    if (failed(s))
      return failure();
  }
  // A zero norm gives 0, not 0/0 (as ONNX's reference).
  FailureOr<TV> q = imp.emitBinary(BinaryKind::Div, **x, *s);
  if (failed(q))
    return failure();
  TV zero = scalarTV(imp, (*x)->elementType(), 0.0);
  FailureOr<TV> isZero = imp.emitBinary(BinaryKind::Equal, *s, zero);
  if (failed(isZero))
    return failure();
  return setResult(imp, imp.emitWhere(*isZero, zero, *q));
}

LogicalResult importMVN(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<SmallVector<int64_t>> axesAttr = imp.intsAttr("axes", {0, 2, 3});
  if (failed(x) || failed(axesAttr))
    return failure();
  int64_t rank = (*x)->rank();
  SmallVector<int64_t> axes;
  for (int64_t a : *axesAttr) {
    FailureOr<int64_t> n = imp.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    if (!llvm::is_contained(axes, *n))
      axes.push_back(*n);
  }
  llvm::sort(axes);
  TV &in = **x;
  FailureOr<TV> mean = imp.emitReduce(ReduceKind::Mean, in, axes, true);
  if (failed(mean))
    return failure();
  FailureOr<TV> sq = imp.emitBinary(BinaryKind::Mul, in, in);
  if (failed(sq))
    return failure();
  FailureOr<TV> meanSq = imp.emitReduce(ReduceKind::Mean, *sq, axes, true);
  if (failed(meanSq))
    return failure();
  FailureOr<TV> sqMean = imp.emitBinary(BinaryKind::Mul, *mean, *mean);
  if (failed(sqMean))
    return failure();
  FailureOr<TV> var = imp.emitBinary(BinaryKind::Sub, *meanSq, *sqMean);
  if (failed(var))
    return failure();
  FailureOr<TV> sd = imp.emitUnary(UnaryKind::Sqrt, *var);
  if (failed(sd))
    return failure();
  TV eps = scalarTV(imp, in.elementType(), 1e-9);
  FailureOr<TV> den = imp.emitBinary(BinaryKind::Add, *sd, eps);
  if (failed(den))
    return failure();
  FailureOr<TV> centered = imp.emitBinary(BinaryKind::Sub, in, *mean);
  if (failed(centered))
    return failure();
  return setResult(imp, imp.emitBinary(BinaryKind::Div, *centered, *den));
}

/// square_sum[c] = sum of x[c']^2 for c' in [c - floor((size-1)/2),
/// c + ceil((size-1)/2)]: the channel-padded squares summed over `size`
/// shifted slices. y = x / (bias + alpha / size * square_sum)^beta.
LogicalResult importLRN(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1e-4f);
  FailureOr<float> beta = imp.floatAttr("beta", 0.75f);
  FailureOr<float> bias = imp.floatAttr("bias", 1.0f);
  FailureOr<int64_t> size = imp.intAttr("size", 0);
  if (failed(x) || failed(alpha) || failed(beta) || failed(bias) ||
      failed(size))
    return failure();
  TV &in = **x;
  if (in.rank() < 3)
    return imp.error() << "input must be N x C x spatial..., got " << in.type;
  if (*size <= 0)
    return imp.error() << "size must be positive";
  Type elt = in.elementType();
  int64_t c = in.shape()[1];
  int64_t before = (*size - 1) / 2, after = *size - 1 - before;
  FailureOr<TV> sq = imp.emitBinary(BinaryKind::Mul, in, in);
  if (failed(sq))
    return failure();
  SmallVector<TV> parts;
  SmallVector<int64_t> shape(in.shape());
  if (before) {
    shape[1] = before;
    parts.push_back(imp.makeSplat(RankedTensorType::get(shape, elt), 0.0));
  }
  parts.push_back(*sq);
  if (after) {
    shape[1] = after;
    parts.push_back(imp.makeSplat(RankedTensorType::get(shape, elt), 0.0));
  }
  SmallVector<TV *> ptrs;
  for (TV &p : parts)
    ptrs.push_back(&p);
  FailureOr<TV> padded = imp.emitConcat(ptrs, 1);
  if (failed(padded))
    return failure();
  std::optional<TV> sum;
  for (int64_t k = 0; k < *size; ++k) {
    FailureOr<TV> s = sliceAxis(imp, *padded, 1, k, c);
    if (failed(s))
      return failure();
    if (!sum) {
      sum = *s;
      continue;
    }
    FailureOr<TV> a = imp.emitBinary(BinaryKind::Add, *sum, *s);
    if (failed(a))
      return failure();
    sum = *a;
  }
  TV k = scalarTV(imp, elt, double(*alpha) / double(*size));
  FailureOr<TV> scaled = imp.emitBinary(BinaryKind::Mul, *sum, k);
  if (failed(scaled))
    return failure();
  TV b = scalarTV(imp, elt, *bias);
  FailureOr<TV> base = imp.emitBinary(BinaryKind::Add, *scaled, b);
  if (failed(base))
    return failure();
  TV e = scalarTV(imp, elt, *beta);
  FailureOr<TV> den = imp.emitBinary(BinaryKind::Pow, *base, e);
  if (failed(den))
    return failure();
  return setResult(imp, imp.emitBinary(BinaryKind::Div, in, *den));
}

} // namespace

void mlir::kiln::onnx::registerNormOps(llvm::StringMap<OpHandler> &map) {
  map["InstanceNormalization"] = importInstanceNorm;
  map["GroupNormalization"] = importGroupNorm;
  map["RMSNormalization"] = importRMSNorm;
  map["LpNormalization"] = importLpNorm;
  map["MeanVarianceNormalization"] = importMVN;
  map["LRN"] = importLRN;
}
