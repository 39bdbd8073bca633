//===- OpsNN.cpp - neural-network ONNX ops --------------------------------===//
//
// Part of kiln. Handlers for MatMul, Gemm, Conv, pooling, normalization,
// reductions and Softmax: ONNX attributes (auto_pad, ceil_mode, optional
// inputs, axes in attribute or input form) are normalized into the kiln
// ops' explicit attributes.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include "llvm/ADT/SmallSet.h"

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
// Conv and pooling
//===----------------------------------------------------------------------===//

/// Reads a 2-entry attribute (strides, dilations, kernel_shape).
FailureOr<SmallVector<int64_t>> pairAttr(GraphImporter &imp, StringRef name,
                                         ArrayRef<int64_t> dflt) {
  FailureOr<SmallVector<int64_t>> v = imp.intsAttr(name, dflt);
  if (failed(v))
    return failure();
  if (v->size() != 2)
    return imp.error() << "attribute '" << name << "' needs 2 values for a "
                       << "2-D op, got " << v->size();
  if (llvm::any_of(*v, [](int64_t x) { return x <= 0; }))
    return imp.error() << "attribute '" << name << "' must be positive";
  return v;
}

/// ONNX padding [top, left, bottom, right] (ONNX's [x1_begin, x2_begin,
/// x1_end, x2_end]) for a 2-D window, from pads / auto_pad.
FailureOr<SmallVector<int64_t>>
windowPadding(GraphImporter &imp, ArrayRef<int64_t> in,
              ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
              ArrayRef<int64_t> dilations, bool &isSame) {
  FailureOr<std::string> autoPad = imp.stringAttr("auto_pad", "NOTSET");
  if (failed(autoPad))
    return failure();
  isSame = false;
  if (*autoPad == "NOTSET" || autoPad->empty()) {
    FailureOr<SmallVector<int64_t>> pads = imp.intsAttr("pads", {0, 0, 0, 0});
    if (failed(pads))
      return failure();
    if (pads->size() != 4)
      return imp.error() << "attribute 'pads' needs 4 values, got "
                         << pads->size();
    if (llvm::any_of(*pads, [](int64_t p) { return p < 0; }))
      return imp.error() << "negative pads are not supported";
    return pads;
  }
  if (*autoPad == "VALID")
    return SmallVector<int64_t>{0, 0, 0, 0};
  if (*autoPad != "SAME_UPPER" && *autoPad != "SAME_LOWER")
    return imp.error() << "unknown auto_pad '" << *autoPad << "'";
  isSame = true;
  SmallVector<int64_t> pads(4, 0);
  for (int d = 0; d < 2; ++d) {
    int64_t out = (in[d] + strides[d] - 1) / strides[d];
    int64_t effective = (kernel[d] - 1) * dilations[d] + 1;
    int64_t total =
        std::max<int64_t>(0, (out - 1) * strides[d] + effective - in[d]);
    int64_t small = total / 2, big = total - small;
    bool upper = *autoPad == "SAME_UPPER";
    pads[d] = upper ? small : big;
    pads[d + 2] = upper ? big : small;
  }
  return pads;
}

LogicalResult importConv(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), w = imp.input(1);
  if (failed(x) || failed(w))
    return failure();
  if ((*x)->rank() != 4 || (*w)->rank() != 4)
    return imp.error() << "only 2-D Conv is supported (input " << (*x)->type
                       << ", weight " << (*w)->type << ")";
  ArrayRef<int64_t> ws = (*w)->shape();
  FailureOr<SmallVector<int64_t>> kernel =
      pairAttr(imp, "kernel_shape", {ws[2], ws[3]});
  FailureOr<SmallVector<int64_t>> strides = pairAttr(imp, "strides", {1, 1});
  FailureOr<SmallVector<int64_t>> dilations =
      pairAttr(imp, "dilations", {1, 1});
  FailureOr<int64_t> group = imp.intAttr("group", 1);
  if (failed(kernel) || failed(strides) || failed(dilations) || failed(group))
    return failure();
  if ((*kernel)[0] != ws[2] || (*kernel)[1] != ws[3])
    return imp.error() << "kernel_shape does not match the weight "
                       << (*w)->type;
  bool isSame;
  FailureOr<SmallVector<int64_t>> pads = windowPadding(
      imp, (*x)->shape().drop_front(2), *kernel, *strides, *dilations, isSame);
  if (failed(pads))
    return failure();
  TV bias;
  if (imp.hasInput(2)) {
    FailureOr<TV *> b = imp.input(2);
    if (failed(b))
      return failure();
    bias = **b;
  } else {
    bias =
        imp.makeSplat(RankedTensorType::get({ws[0]}, (*x)->elementType()), 0.0);
  }
  FailureOr<Value> vx = imp.materialize(**x);
  if (failed(vx))
    return failure();
  FailureOr<Value> vw = imp.materialize(**w);
  if (failed(vw))
    return failure();
  FailureOr<Value> vb;
  if (imp.hasInput(2))
    vb = imp.materialize(**imp.input(2));
  else
    vb = imp.materialize(bias);
  if (failed(vb))
    return failure();
  return setValue(imp, imp.create<Conv2DOp>(
                           Type(), *vx, *vw, *vb,
                           imp.builder.getDenseI64ArrayAttr(*strides),
                           imp.builder.getDenseI64ArrayAttr(*pads),
                           imp.builder.getDenseI64ArrayAttr(*dilations),
                           imp.builder.getI64IntegerAttr(*group), LMulAttr()));
}

template <bool IsMax> LogicalResult importPool(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  if ((*x)->rank() != 4)
    return imp.error() << "only 2-D pooling is supported (input " << (*x)->type
                       << ")";
  if (!imp.hasAttr("kernel_shape"))
    return imp.error() << "missing attribute 'kernel_shape'";
  FailureOr<SmallVector<int64_t>> kernel = pairAttr(imp, "kernel_shape", {});
  FailureOr<SmallVector<int64_t>> strides = pairAttr(imp, "strides", {1, 1});
  FailureOr<int64_t> ceilMode = imp.intAttr("ceil_mode", 0);
  if (failed(kernel) || failed(strides) || failed(ceilMode))
    return failure();
  if (IsMax) {
    FailureOr<SmallVector<int64_t>> dil = pairAttr(imp, "dilations", {1, 1});
    if (failed(dil))
      return failure();
    if ((*dil)[0] != 1 || (*dil)[1] != 1)
      return imp.error() << "dilated MaxPool is not supported";
    if (imp.outputUsed(1))
      return imp.error() << "the Indices output is not supported";
  }
  FailureOr<int64_t> countIncludePad = imp.intAttr("count_include_pad", 0);
  if (failed(countIncludePad))
    return failure();
  ArrayRef<int64_t> in = (*x)->shape().drop_front(2);
  bool isSame;
  FailureOr<SmallVector<int64_t>> padsOr =
      windowPadding(imp, in, *kernel, *strides, {1, 1}, isSame);
  if (failed(padsOr))
    return failure();
  SmallVector<int64_t> pads = *padsOr;
  for (int d = 0; d < 2; ++d) {
    int64_t k = (*kernel)[d], s = (*strides)[d];
    int64_t span = in[d] + pads[d] + pads[d + 2] - k;
    if (span < 0)
      return imp.error() << "kernel " << k << " is larger than the padded "
                         << "input (" << in[d] + pads[d] + pads[d + 2] << ")";
    if (!*ceilMode || isSame)
      continue;
    // ceil_mode: one more window when the last one would start inside the
    // input or its begin padding; expressed as extra end padding.
    int64_t outFloor = span / s + 1;
    int64_t outCeil = (span + s - 1) / s + 1;
    if ((outCeil - 1) * s >= in[d] + pads[d])
      --outCeil;
    if (outCeil > outFloor)
      pads[d + 2] += (outCeil - 1) * s + k - (in[d] + pads[d] + pads[d + 2]);
  }
  for (int d = 0; d < 2; ++d)
    if (pads[d] >= (*kernel)[d] || pads[d + 2] >= (*kernel)[d])
      return imp.error() << "padding " << shapeText(pads)
                         << " must be smaller than the kernel "
                         << shapeText(*kernel);
  FailureOr<Value> v = imp.materialize(**x);
  if (failed(v))
    return failure();
  auto kAttr = imp.builder.getDenseI64ArrayAttr(*kernel);
  auto sAttr = imp.builder.getDenseI64ArrayAttr(*strides);
  auto pAttr = imp.builder.getDenseI64ArrayAttr(pads);
  if (IsMax)
    return setValue(imp,
                    imp.create<MaxPool2DOp>(Type(), *v, kAttr, sAttr, pAttr));
  return setValue(imp, imp.create<AvgPool2DOp>(
                           Type(), *v, kAttr, sAttr, pAttr,
                           imp.builder.getBoolAttr(*countIncludePad != 0)));
}

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
  if (*training)
    return imp.error() << "training_mode=1 is not supported (inference only)";
  if (!*spatial)
    return imp.error() << "spatial=0 is not supported";
  for (int i = 1; i < 5; ++i)
    if (imp.outputUsed(i))
      return imp.error() << "training outputs (running mean/var) are not "
                            "supported";
  TV &x = *in[0];
  if (x.rank() < 2)
    return imp.error() << "input must have rank >= 2, got " << x.type;
  for (int i = 1; i < 5; ++i)
    if (in[i]->rank() != 1 || in[i]->shape()[0] != x.shape()[1] ||
        in[i]->elementType() != x.elementType())
      return imp.error() << "scale, bias, mean and variance must be "
                         << x.shape()[1] << "-element vectors of "
                         << x.elementType() << ", got " << in[i]->type;
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

LogicalResult importLayerNorm(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), scale = imp.input(1);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", -1);
  FailureOr<float> eps = imp.floatAttr("epsilon", 1e-5f);
  if (failed(x) || failed(scale) || failed(axisAttr) || failed(eps))
    return failure();
  if (imp.outputUsed(1) || imp.outputUsed(2))
    return imp.error() << "the Mean and InvStdDev outputs are not supported";
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, (*x)->rank());
  if (failed(axis))
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

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

template <ReduceKind Kind> LogicalResult importReduce(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> keepdims = imp.intAttr("keepdims", 1);
  FailureOr<int64_t> noop = imp.intAttr("noop_with_empty_axes", 0);
  if (failed(x) || failed(keepdims) || failed(noop))
    return failure();
  int64_t inputSince = Kind == ReduceKind::Sum ? 13 : 18;
  SmallVector<int64_t> axes;
  if (imp.opset < inputSince) {
    FailureOr<SmallVector<int64_t>> a = imp.intsAttr("axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else if (imp.hasInput(1)) {
    FailureOr<TV *> t = imp.constInput(1, "the axes input");
    if (failed(t))
      return failure();
    FailureOr<SmallVector<int64_t>> a = imp.intsOf(**t, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  }
  int64_t rank = (*x)->rank();
  if (axes.empty()) {
    if (*noop || rank == 0)
      return imp.setOutput(0, **x);
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = imp.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    if (!seen.insert(*n).second)
      return imp.error() << "axis " << a << " appears twice";
    a = *n;
  }
  llvm::sort(axes);
  return setResult(imp, imp.emitReduce(Kind, **x, axes, *keepdims != 0));
}

} // namespace

void mlir::kiln::onnx::registerNNOps(llvm::StringMap<OpHandler> &map) {
  map["MatMul"] = importMatMul;
  map["Gemm"] = importGemm;
  map["Conv"] = importConv;
  map["MaxPool"] = importPool<true>;
  map["AveragePool"] = importPool<false>;
  map["GlobalAveragePool"] = importGlobalPool<ReduceKind::Mean>;
  map["GlobalMaxPool"] = importGlobalPool<ReduceKind::Max>;
  map["BatchNormalization"] = importBatchNorm;
  map["LayerNormalization"] = importLayerNorm;
  map["Softmax"] = importSoftmax;
  map["ReduceMean"] = importReduce<ReduceKind::Mean>;
  map["ReduceSum"] = importReduce<ReduceKind::Sum>;
  map["ReduceMax"] = importReduce<ReduceKind::Max>;
}
