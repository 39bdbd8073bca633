//===- OpsNN.cpp - neural-network ONNX ops --------------------------------===//
//
// Part of kiln. Handlers for MatMul, Gemm, global pooling, normalization
// and Softmax: ONNX attributes (optional inputs, axes in attribute or input
// form) are normalized into the kiln ops' explicit attributes. Conv and the
// windowed pools live in OpsConvPool.cpp, the Reduce* ops in OpsReduce.cpp.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

LogicalResult setResult(GraphImporter &imp, FailureOr<TV> r, int i = 0) {
  if (failed(r))
    return failure();
  return imp.setOutput(i, *r);
}

LogicalResult setValue(GraphImporter &imp, FailureOr<Value> r, int i = 0) {
  if (failed(r))
    return failure();
  return imp.setOutput(i, GraphImporter::fromValue(*r));
}

/// A scalar constant of `elt` (0-d), for alpha/beta factors.
TV scalar(GraphImporter &imp, Type elt, double v) {
  return imp.makeSplat(RankedTensorType::get({}, elt), v);
}

//===----------------------------------------------------------------------===//
// MatMul, Gemm
//===----------------------------------------------------------------------===//

LogicalResult importMatMul(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1);
  if (failed(a) || failed(b))
    return failure();
  return setResult(imp, imp.emitMatMul(**a, **b));
}

LogicalResult importGemm(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.0f);
  FailureOr<float> beta = imp.floatAttr("beta", 1.0f);
  FailureOr<int64_t> transA = imp.intAttr("transA", 0);
  FailureOr<int64_t> transB = imp.intAttr("transB", 0);
  if (failed(a) || failed(b) || failed(alpha) || failed(beta) ||
      failed(transA) || failed(transB))
    return failure();
  if ((*a)->rank() != 2 || (*b)->rank() != 2)
    return imp.error() << "A and B must be 2-D, got " << (*a)->type << " and "
                       << (*b)->type;
  TV lhs = **a, rhs = **b;
  if (*transA) {
    FailureOr<TV> t = imp.emitTranspose(**a, {1, 0});
    if (failed(t))
      return failure();
    lhs = *t;
  }
  if (*transB) {
    FailureOr<TV> t = imp.emitTranspose(**b, {1, 0});
    if (failed(t))
      return failure();
    rhs = *t;
  }
  int64_t m = lhs.shape()[0], n = rhs.shape()[1];
  FailureOr<TV> y = imp.emitMatMul(lhs, rhs);
  if (failed(y))
    return failure();
  if (!*transA && !(*a)->value)
    (*a)->value = lhs.value;
  if (!*transB && !(*b)->value)
    (*b)->value = rhs.value;
  Type elt = y->elementType();
  if (*alpha != 1.0f) {
    TV s = scalar(imp, elt, *alpha);
    y = imp.emitBinary(BinaryKind::Mul, *y, s);
    if (failed(y))
      return failure();
  }
  if (imp.hasInput(2) && *beta != 0.0f) {
    FailureOr<TV *> c = imp.input(2);
    if (failed(c))
      return failure();
    TV bias = **c;
    TV *biasRef = *c;
    if (*beta != 1.0f) {
      TV s = scalar(imp, elt, *beta);
      FailureOr<TV> scaled = imp.emitBinary(BinaryKind::Mul, **c, s);
      if (failed(scaled))
        return failure();
      bias = *scaled;
      biasRef = &bias;
    }
    y = imp.emitBinary(BinaryKind::Add, *y, *biasRef);
    if (failed(y))
      return failure();
  }
  if (y->shape() != ArrayRef<int64_t>{m, n})
    return imp.error() << "C of shape " << shapeText((*imp.input(2))->shape())
                       << " does not broadcast to " << m << "x" << n;
  return imp.setOutput(0, *y);
}

//===----------------------------------------------------------------------===//
// Global pooling (Conv, ConvTranspose and the windowed pools: OpsConvPool.cpp)
//===----------------------------------------------------------------------===//

template <ReduceKind Kind> LogicalResult importGlobalPool(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  if ((*x)->rank() < 3)
    return imp.error() << "input must be N x C x spatial..., got "
                       << (*x)->type;
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < (*x)->rank(); ++d)
    axes.push_back(d);
  return setResult(imp, imp.emitReduce(Kind, **x, axes, /*keepdims=*/true));
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

LogicalResult importBatchNorm(GraphImporter &imp) {
  SmallVector<TV *> in;
  for (int i = 0; i < 5; ++i) {
    FailureOr<TV *> t = imp.input(i);
    if (failed(t))
      return failure();
    in.push_back(*t);
  }
  FailureOr<float> eps = imp.floatAttr("epsilon", 1e-5f);
  FailureOr<int64_t> training = imp.intAttr("training_mode", 0);
  FailureOr<int64_t> spatial = imp.intAttr("spatial", 1);
  if (failed(eps) || failed(training) || failed(spatial))
    return failure();
  FailureOr<float> momentum = imp.floatAttr("momentum", 0.9f);
  if (failed(momentum))
    return failure();
  if (!*spatial)
    return imp.error() << "spatial=0 is not supported";
  // Before opset 14 the extra outputs are the training statistics of the
  // old form (saved mean/var), which kiln does not produce.
  if (!*training || imp.opset < 14)
    for (int i = 1; i < 5; ++i)
      if (imp.outputUsed(i))
        return imp.error() << "training outputs (running mean/var) are "
                              "only supported with training_mode=1 "
                              "(opset 14+)";
  TV &x = *in[0];
  if (x.rank() < 2)
    return imp.error() << "input must have rank >= 2, got " << x.type;
  for (int i = 1; i < 5; ++i)
    if (in[i]->rank() != 1 || in[i]->shape()[0] != x.shape()[1] ||
        in[i]->elementType() != x.elementType())
      return imp.error() << "scale, bias, mean and variance must be "
                         << x.shape()[1] << "-element vectors of "
                         << x.elementType() << ", got " << in[i]->type;
  // training_mode=1: normalize with the batch's statistics over every axis
  // but 1 (population variance); the running statistics come out as
  // input * momentum + batch * (1 - momentum).
  TV batchMean, batchVar;
  if (*training) {
    SmallVector<int64_t> axes;
    for (int64_t d = 0; d < x.rank(); ++d)
      if (d != 1)
        axes.push_back(d);
    Type elt = x.elementType();
    FailureOr<TV> mk = imp.emitReduce(ReduceKind::Mean, x, axes, true);
    if (failed(mk))
      return failure();
    FailureOr<TV> diff = imp.emitBinary(BinaryKind::Sub, x, *mk);
    if (failed(diff))
      return failure();
    FailureOr<TV> sq = imp.emitBinary(BinaryKind::Mul, *diff, *diff);
    if (failed(sq))
      return failure();
    FailureOr<TV> var = imp.emitReduce(ReduceKind::Mean, *sq, axes, false);
    FailureOr<TV> mean = imp.emitReshape(*mk, {x.shape()[1]});
    if (failed(var) || failed(mean))
      return failure();
    batchMean = *mean;
    batchVar = *var;
    TV mom = scalar(imp, elt, *momentum), rest = scalar(imp, elt, 1.0 - *momentum);
    for (int i = 1; i <= 2; ++i) {
      if (!imp.outputUsed(i))
        continue;
      TV &batch = i == 1 ? batchMean : batchVar;
      FailureOr<TV> a = imp.emitBinary(BinaryKind::Mul, *in[i + 2], mom);
      if (failed(a))
        return failure();
      FailureOr<TV> b = imp.emitBinary(BinaryKind::Mul, batch, rest);
      if (failed(b))
        return failure();
      FailureOr<TV> r = imp.emitBinary(BinaryKind::Add, *a, *b);
      if (failed(r) || failed(imp.setOutput(i, *r)))
        return failure();
    }
    in[3] = &batchMean;
    in[4] = &batchVar;
  }
  SmallVector<Value> vals;
  for (TV *t : in) {
    FailureOr<Value> v = imp.materialize(*t);
    if (failed(v))
      return failure();
    vals.push_back(*v);
  }
  return setValue(
      imp, imp.create<BatchNormOp>(x.type, vals[0], vals[1], vals[2], vals[3],
                                   vals[4], imp.builder.getF32FloatAttr(*eps)));
}

/// LayerNormalization's optional Mean and InvStdDev outputs (shape
/// [d0..d(axis-1), 1, ..., 1]), computed with reductions in f32 for
/// narrower floats (stash_type) and cast back to the input's type.
LogicalResult layerNormStatistics(GraphImporter &imp, TV &x, int64_t axis,
                                  float eps) {
  Type elt = x.elementType();
  auto ft = dyn_cast<FloatType>(elt);
  if (!ft)
    return imp.error() << "input must be a float tensor, got " << x.type;
  TV xs = x;
  if (ft.getWidth() < 32) {
    FailureOr<TV> c = imp.emitCast(x, imp.builder.getF32Type());
    if (failed(c))
      return failure();
    xs = *c;
  }
  SmallVector<int64_t> axes;
  for (int64_t d = axis; d < x.rank(); ++d)
    axes.push_back(d);
  FailureOr<TV> mean = imp.emitReduce(ReduceKind::Mean, xs, axes, true);
  if (failed(mean))
    return failure();
  FailureOr<TV> diff = imp.emitBinary(BinaryKind::Sub, xs, *mean);
  if (failed(diff))
    return failure();
  FailureOr<TV> sq = imp.emitBinary(BinaryKind::Mul, *diff, *diff);
  if (failed(sq))
    return failure();
  FailureOr<TV> var = imp.emitReduce(ReduceKind::Mean, *sq, axes, true);
  if (failed(var))
    return failure();
  TV e = scalar(imp, xs.elementType(), eps);
  FailureOr<TV> ve = imp.emitBinary(BinaryKind::Add, *var, e);
  if (failed(ve))
    return failure();
  FailureOr<TV> sd = imp.emitUnary(UnaryKind::Sqrt, *ve);
  if (failed(sd))
    return failure();
  FailureOr<TV> inv = imp.emitUnary(UnaryKind::Reciprocal, *sd);
  if (failed(inv))
    return failure();
  for (auto [i, t] : llvm::enumerate(SmallVector<TV *>{&*mean, &*inv})) {
    TV out = *t;
    if (out.elementType() != elt) {
      FailureOr<TV> c = imp.emitCast(out, elt);
      if (failed(c))
        return failure();
      out = *c;
    }
    if (failed(imp.setOutput(i + 1, out)))
      return failure();
  }
  return success();
}

LogicalResult importLayerNorm(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), scale = imp.input(1);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", -1);
  FailureOr<float> eps = imp.floatAttr("epsilon", 1e-5f);
  if (failed(x) || failed(scale) || failed(axisAttr) || failed(eps))
    return failure();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, (*x)->rank());
  if (failed(axis))
    return failure();
  if ((imp.outputUsed(1) || imp.outputUsed(2)) &&
      failed(layerNormStatistics(imp, **x, *axis, *eps)))
    return failure();
  ArrayRef<int64_t> normalized = (*x)->shape().drop_front(*axis);
  Type elt = (*x)->elementType();
  auto paramType = RankedTensorType::get(normalized, elt);
  auto prepare = [&](TV &p, StringRef what) -> FailureOr<Value> {
    if (p.elementType() != elt)
      return imp.error() << what << " has type " << p.type
                         << ", expected element type " << elt;
    if (p.shape() == normalized)
      return imp.materialize(p);
    FailureOr<TV> e = imp.emitExpand(p, normalized);
    if (failed(e))
      return failure();
    if (e->shape() != normalized)
      return imp.error() << what << " of shape " << shapeText(p.shape())
                         << " does not broadcast to the normalized shape "
                         << shapeText(normalized);
    return imp.materialize(*e);
  };
  FailureOr<Value> vs = prepare(**scale, "Scale");
  if (failed(vs))
    return failure();
  FailureOr<Value> vb;
  if (imp.hasInput(2)) {
    FailureOr<TV *> b = imp.input(2);
    if (failed(b))
      return failure();
    vb = prepare(**b, "B");
  } else {
    TV zeros = imp.makeSplat(paramType, 0.0);
    vb = imp.materialize(zeros);
  }
  if (failed(vb))
    return failure();
  FailureOr<Value> vx = imp.materialize(**x);
  if (failed(vx))
    return failure();
  return setValue(imp,
                  imp.create<LayerNormOp>((*x)->type, *vx, *vs, *vb,
                                          imp.builder.getI64IntegerAttr(*axis),
                                          imp.builder.getF32FloatAttr(*eps)));
}

LogicalResult importSoftmax(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  bool legacy = imp.opset < 13;
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", legacy ? 1 : -1);
  if (failed(axisAttr))
    return failure();
  int64_t rank = (*x)->rank();
  if (rank == 0)
    return imp.error() << "input must have rank >= 1";
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
  if (failed(axis))
    return failure();
  TV &in = **x;
  if (legacy && *axis != rank - 1) {
    // Before opset 13: softmax over the input flattened to 2-D at `axis`.
    ArrayRef<int64_t> s = in.shape();
    int64_t outer = *checkedNumElements(s.take_front(*axis));
    int64_t inner = *checkedNumElements(s.drop_front(*axis));
    FailureOr<TV> flat = imp.emitReshape(in, {outer, inner});
    if (failed(flat))
      return failure();
    FailureOr<Value> v = imp.materialize(*flat);
    if (failed(v))
      return failure();
    FailureOr<Value> r =
        imp.create<SoftmaxOp>(flat->type, *v, imp.builder.getI64IntegerAttr(1));
    if (failed(r))
      return failure();
    TV sm = GraphImporter::fromValue(*r);
    return setResult(imp, imp.emitReshape(sm, s));
  }
  FailureOr<Value> v = imp.materialize(in);
  if (failed(v))
    return failure();
  return setValue(imp, imp.create<SoftmaxOp>(
                           in.type, *v, imp.builder.getI64IntegerAttr(*axis)));
}

} // namespace

void mlir::kiln::onnx::registerNNOps(llvm::StringMap<OpHandler> &map) {
  map["MatMul"] = importMatMul;
  map["Gemm"] = importGemm;
  map["GlobalAveragePool"] = importGlobalPool<ReduceKind::Mean>;
  map["GlobalMaxPool"] = importGlobalPool<ReduceKind::Max>;
  map["BatchNormalization"] = importBatchNorm;
  map["LayerNormalization"] = importLayerNorm;
  map["Softmax"] = importSoftmax;
}
