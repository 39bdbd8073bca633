//===- OpsConvPool.cpp - convolution and pooling ONNX ops -----------------===//
//
// Part of kiln. Handlers for Conv, ConvTranspose, MaxPool, AveragePool,
// LpPool and GlobalLpPool in any number of spatial dims. 2-D cases the
// 2-D ops express become kiln.conv2d / max_pool2d / avg_pool2d (ONNX's
// ceil_mode as extra end padding); 1-D, 3-D, dilated pools, integer max
// pools and averages whose ceil-mode positions must not count use the N-D
// kiln.conv / max_pool / avg_pool. ConvTranspose is a convolution of the
// zero-upsampled input with the flipped, transposed weight; LpPool is
// (sum |x|^p)^(1/p) over the window, padding counting as zeros.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/KilnOpsNN.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

/// Reads a k-entry positive attribute (strides, dilations, kernel_shape).
FailureOr<SmallVector<int64_t>> spatialAttr(GraphImporter &imp, StringRef name,
                                            int64_t k,
                                            ArrayRef<int64_t> dflt) {
  FailureOr<SmallVector<int64_t>> v = imp.intsAttr(name, dflt);
  if (failed(v))
    return failure();
  if (static_cast<int64_t>(v->size()) != k)
    return imp.error() << "attribute '" << name << "' needs " << k
                       << " values for a " << k << "-D op, got " << v->size();
  if (llvm::any_of(*v, [](int64_t x) { return x <= 0; }))
    return imp.error() << "attribute '" << name << "' must be positive";
  return v;
}

SmallVector<int64_t> ones(int64_t k) { return SmallVector<int64_t>(k, 1); }

/// ONNX padding [begins..., ends...] for a window from pads / auto_pad.
/// SAME pads so that out = ceil(in / stride).
FailureOr<SmallVector<int64_t>>
windowPadding(GraphImporter &imp, ArrayRef<int64_t> in,
              ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
              ArrayRef<int64_t> dilations, bool &isSame) {
  int64_t k = in.size();
  FailureOr<std::string> autoPad = imp.stringAttr("auto_pad", "NOTSET");
  if (failed(autoPad))
    return failure();
  isSame = false;
  if (*autoPad == "NOTSET" || autoPad->empty()) {
    FailureOr<SmallVector<int64_t>> pads =
        imp.intsAttr("pads", SmallVector<int64_t>(2 * k, 0));
    if (failed(pads))
      return failure();
    if (static_cast<int64_t>(pads->size()) != 2 * k)
      return imp.error() << "attribute 'pads' needs " << 2 * k
                         << " values, got " << pads->size();
    if (llvm::any_of(*pads, [](int64_t p) { return p < 0; }))
      return imp.error() << "negative pads are not supported";
    return pads;
  }
  if (*autoPad == "VALID")
    return SmallVector<int64_t>(2 * k, 0);
  if (*autoPad != "SAME_UPPER" && *autoPad != "SAME_LOWER")
    return imp.error() << "unknown auto_pad '" << *autoPad << "'";
  isSame = true;
  SmallVector<int64_t> pads(2 * k, 0);
  for (int64_t d = 0; d < k; ++d) {
    int64_t out = (in[d] + strides[d] - 1) / strides[d];
    int64_t effective = (kernel[d] - 1) * dilations[d] + 1;
    int64_t total =
        std::max<int64_t>(0, (out - 1) * strides[d] + effective - in[d]);
    int64_t small = total / 2, big = total - small;
    bool upper = *autoPad == "SAME_UPPER";
    pads[d] = upper ? small : big;
    pads[d + k] = upper ? big : small;
  }
  return pads;
}

/// The N-D form of [top, left, bottom, right]-style 2-D padding.
DenseI64ArrayAttr i64Array(GraphImporter &imp, ArrayRef<int64_t> v) {
  return imp.builder.getDenseI64ArrayAttr(v);
}

/// Emits a convolution (2-D: kiln.conv2d, else kiln.conv).
FailureOr<TV> emitConv(GraphImporter &imp, TV &x, TV &w, TV &b,
                       ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                       ArrayRef<int64_t> dilations, int64_t group) {
  FailureOr<Value> vx = imp.materialize(x);
  if (failed(vx))
    return failure();
  FailureOr<Value> vw = imp.materialize(w);
  if (failed(vw))
    return failure();
  FailureOr<Value> vb = imp.materialize(b);
  if (failed(vb))
    return failure();
  FailureOr<Value> r;
  if (x.rank() == 4)
    r = imp.create<Conv2DOp>(Type(), *vx, *vw, *vb, i64Array(imp, strides),
                             i64Array(imp, pads), i64Array(imp, dilations),
                             imp.builder.getI64IntegerAttr(group), LMulAttr(),
                             /*winograd=*/IntegerAttr());
  else
    r = imp.create<ConvOp>(Type(), *vx, *vw, *vb, i64Array(imp, strides),
                           i64Array(imp, pads), i64Array(imp, dilations),
                           imp.builder.getI64IntegerAttr(group));
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// The bias input (index `i`) or zeros of `n` elements.
FailureOr<TV> biasOrZeros(GraphImporter &imp, int i, int64_t n, Type elt) {
  if (imp.hasInput(i)) {
    FailureOr<TV *> b = imp.input(i);
    if (failed(b))
      return failure();
    return **b;
  }
  return imp.makeSplat(RankedTensorType::get({n}, elt), 0.0);
}

//===----------------------------------------------------------------------===//
// Conv
//===----------------------------------------------------------------------===//

/// A convolution of `x` and `w` (plus `b`, or zeros) with the node's
/// window attributes (kernel_shape, strides, dilations, group, pads or
/// auto_pad).
/// A convolution node's window: kernel_shape (checked against the weight),
/// strides, dilations, group and pads (from auto_pad too).
struct ConvWindow {
  SmallVector<int64_t> kernel, strides, dilations, pads;
  int64_t group = 1;
};

FailureOr<ConvWindow> convWindow(GraphImporter &imp, TV &x, TV &w) {
  int64_t rank = x.rank();
  if (rank < 3 || w.rank() != rank)
    return imp.error() << "input " << x.type << " and weight " << w.type
                       << " must be N x C x spatial... of one rank";
  int64_t k = rank - 2;
  ArrayRef<int64_t> ws = w.shape();
  FailureOr<SmallVector<int64_t>> kernel =
      spatialAttr(imp, "kernel_shape", k, ws.drop_front(2));
  FailureOr<SmallVector<int64_t>> strides =
      spatialAttr(imp, "strides", k, ones(k));
  FailureOr<SmallVector<int64_t>> dilations =
      spatialAttr(imp, "dilations", k, ones(k));
  FailureOr<int64_t> group = imp.intAttr("group", 1);
  if (failed(kernel) || failed(strides) || failed(dilations) || failed(group))
    return failure();
  if (ArrayRef<int64_t>(*kernel) != ws.drop_front(2))
    return imp.error() << "kernel_shape does not match the weight " << w.type;
  bool isSame;
  FailureOr<SmallVector<int64_t>> pads = windowPadding(
      imp, x.shape().drop_front(2), *kernel, *strides, *dilations, isSame);
  if (failed(pads))
    return failure();
  return ConvWindow{*kernel, *strides, *dilations, *pads, *group};
}

FailureOr<TV> convWithAttrs(GraphImporter &imp, TV &x, TV &w, TV *b) {
  FailureOr<ConvWindow> win = convWindow(imp, x, w);
  if (failed(win))
    return failure();
  TV zeros;
  if (!b) {
    zeros = imp.makeSplat(RankedTensorType::get({w.shape()[0]}, x.elementType()),
                          0);
    b = &zeros;
  }
  return emitConv(imp, x, w, *b, win->strides, win->pads, win->dilations,
                  win->group);
}

LogicalResult importConv(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), w = imp.input(1);
  if (failed(x) || failed(w))
    return failure();
  TV *b = nullptr;
  if (imp.hasInput(2)) {
    FailureOr<TV *> bi = imp.input(2);
    if (failed(bi))
      return failure();
    b = *bi;
  }
  return setResult(imp, convWithAttrs(imp, **x, **w, b));
}

/// `v` (an integer tensor) as f64 minus its zero point (input `zpIndex`,
/// scalar or per `perAxis`-dim entry along dim 0 of a rank-`rank` value).
FailureOr<TV> centered(GraphImporter &imp, TV &v, int zpIndex) {
  Type f64 = imp.builder.getF64Type();
  FailureOr<TV> vf = imp.emitCast(v, f64);
  if (failed(vf) || !imp.hasInput(zpIndex))
    return vf;
  FailureOr<TV *> zp = imp.input(zpIndex);
  if (failed(zp))
    return failure();
  TV z = **zp;
  if (z.type.getNumElements() == 1) {
    FailureOr<TV> r = imp.emitReshape(z, {});
    if (failed(r))
      return failure();
    z = *r;
  } else {
    if (z.rank() != 1 || z.shape()[0] != v.shape()[0])
      return imp.error() << "zero point " << z.type << " does not fit "
                         << v.type;
    SmallVector<int64_t> shape(v.rank(), 1);
    shape[0] = v.shape()[0];
    FailureOr<TV> r = imp.emitReshape(z, shape);
    if (failed(r))
      return failure();
    z = *r;
  }
  FailureOr<TV> zf = imp.emitCast(z, f64);
  if (failed(zf))
    return failure();
  return imp.emitBinary(BinaryKind::Sub, *vf, *zf);
}

/// kiln.integer_conv2d (i32) for the form the int8 kernel takes: a 2-D
/// conv of one group over 8-bit activations with one zero point (input
/// `xZpIndex`), constant signed 8-bit weights whose zero points (input
/// `wZpIndex`) are 0: ONNX Runtime's QOperator and dynamic models with
/// QInt8 weights. A null TV when the node is not that form.
FailureOr<TV> integerKernelConv(GraphImporter &imp, TV &x, int xZpIndex,
                                TV &w, int wZpIndex) {
  auto xe = dyn_cast<IntegerType>(x.elementType());
  if (!xe || xe.getWidth() != 8 || x.rank() != 4 || w.rank() != 4 ||
      !w.isConstant() || !w.elementType().isSignlessInteger(8))
    return TV();
  TV *xzp = nullptr, *wzp = nullptr;
  for (auto [index, zp] : {std::pair(xZpIndex, &xzp), std::pair(wZpIndex, &wzp)})
    if (imp.hasInput(index)) {
      FailureOr<TV *> t = imp.input(index);
      if (failed(t))
        return failure();
      *zp = *t;
    }
  if ((wzp && !isKnownZero(*wzp)) || (xzp && xzp->type.getNumElements() != 1))
    return TV();
  FailureOr<ConvWindow> win = convWindow(imp, x, w);
  if (failed(win))
    return failure();
  std::optional<Contents> values = readContents(w);
  // One group, or depthwise (one input channel per filter).
  bool depthwise = w.shape()[1] == 1 && w.shape()[0] == win->group &&
                   x.shape()[1] == win->group;
  if ((win->group != 1 && !depthwise) || !values)
    return TV();
  // The weights as the im2col matrix [KH * KW * C / group, F].
  int64_t f = w.shape()[0], c = w.shape()[1],
          taps = w.shape()[2] * w.shape()[3], k = c * taps;
  Contents matrix;
  matrix.ints.resize(k * f);
  for (int64_t o = 0; o < f; ++o)
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t t = 0; t < taps; ++t)
        matrix.ints[integerConvWeightRow(t, ci, c) * f + o] =
            values->ints[(o * c + ci) * taps + t];
  TV wm = imp.makeConst(RankedTensorType::get({k, f}, w.elementType()),
                        std::move(matrix));
  FailureOr<Value> vx = imp.materialize(x), vw = imp.materialize(wm);
  FailureOr<Value> vz = scalarZeroPoint(imp, xzp);
  if (failed(vx) || failed(vw) || failed(vz))
    return failure();
  FailureOr<Value> r = imp.create<IntegerConv2DOp>(
      Type(), *vx, *vw, *vz, i64Array(imp, win->kernel),
      i64Array(imp, win->strides), i64Array(imp, win->pads),
      i64Array(imp, win->dilations), /*channels_last=*/nullptr,
      imp.builder.getI64IntegerAttr(win->group));
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// ConvInteger: (x - x_zp) conv (w - w_zp) in int32: the int8 kernel's
/// form, else computed exactly in f64.
LogicalResult importConvInteger(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), w = imp.input(1);
  if (failed(x) || failed(w))
    return failure();
  FailureOr<TV> kernel = integerKernelConv(imp, **x, 2, **w, 3);
  if (failed(kernel) || kernel->type)
    return setResult(imp, kernel);
  FailureOr<TV> xc = centered(imp, **x, 2), wc = centered(imp, **w, 3);
  if (failed(xc) || failed(wc))
    return failure();
  FailureOr<TV> y = convWithAttrs(imp, *xc, *wc, nullptr);
  if (failed(y))
    return failure();
  return setResult(imp, imp.emitCast(*y, imp.builder.getI32Type()));
}

/// QLinearConv: the integer convolution (plus the int32 bias), scaled by
/// x_scale * w_scale / y_scale (w_scale per output channel), plus y_zp,
/// rounded half to even, clamped and cast.
LogicalResult importQLinearConv(GraphImporter &imp) {
  SmallVector<TV *> in;
  for (int i = 0; i < 8; ++i) {
    FailureOr<TV *> t = imp.input(i);
    if (failed(t))
      return failure();
    in.push_back(*t);
  }
  Type f64 = imp.builder.getF64Type();
  // The int32 bias, in f64 like the sums.
  TV bias;
  if (imp.hasInput(8)) {
    FailureOr<TV *> bi = imp.input(8);
    if (failed(bi))
      return failure();
    FailureOr<TV> c = imp.emitCast(**bi, f64);
    if (failed(c))
      return failure();
    bias = *c;
  }
  FailureOr<TV> acc = integerKernelConv(imp, *in[0], 2, *in[3], 5);
  if (failed(acc))
    return failure();
  if (acc->type) {
    // The int32 sums (exact in f64), plus the bias per filter.
    acc = imp.emitCast(*acc, f64);
    if (succeeded(acc) && bias.type) {
      FailureOr<TV> b3 = imp.emitReshape(bias, {bias.shape()[0], 1, 1});
      if (failed(b3))
        return failure();
      acc = imp.emitBinary(BinaryKind::Add, *acc, *b3);
    }
  } else {
    FailureOr<TV> xc = centered(imp, *in[0], 2), wc = centered(imp, *in[3], 5);
    if (failed(xc) || failed(wc))
      return failure();
    acc = convWithAttrs(imp, *xc, *wc, bias.type ? &bias : nullptr);
  }
  if (failed(acc))
    return failure();
  // multiplier = x_scale * w_scale / y_scale (in the scales' type).
  TV ws = *in[4];
  if (ws.type.getNumElements() > 1) {
    FailureOr<TV> r = imp.emitReshape(ws, {1, ws.type.getNumElements(), 1, 1});
    if (failed(r))
      return failure();
    ws = *r;
  }
  FailureOr<TV> m = imp.emitBinary(BinaryKind::Mul, *in[1], ws);
  if (failed(m))
    return failure();
  m = imp.emitBinary(BinaryKind::Div, *m, *in[6]);
  if (failed(m))
    return failure();
  FailureOr<TV> m64 = imp.emitCast(*m, f64);
  if (failed(m64))
    return failure();
  FailureOr<TV> r = imp.emitBinary(BinaryKind::Mul, *acc, *m64);
  if (failed(r))
    return failure();
  return setResult(imp, requantize(imp, *r, *in[7]));
}

//===----------------------------------------------------------------------===//
// ConvTranspose
//===----------------------------------------------------------------------===//

/// Inserts `s - 1` zeros between the elements of dim `d` of `x`.
FailureOr<TV> zeroUpsample(GraphImporter &imp, TV &x, int64_t d, int64_t s) {
  if (s == 1)
    return x;
  int64_t n = x.shape()[d];
  SmallVector<int64_t> unsq(x.shape());
  unsq.insert(unsq.begin() + d + 1, 1);
  FailureOr<TV> u = imp.emitReshape(x, unsq);
  if (failed(u))
    return failure();
  SmallVector<int64_t> zshape(unsq);
  zshape[d + 1] = s - 1;
  TV zeros = imp.makeSplat(RankedTensorType::get(zshape, x.elementType()), 0);
  TV *parts[] = {&*u, &zeros};
  FailureOr<TV> c = imp.emitConcat(parts, d + 1);
  if (failed(c))
    return failure();
  SmallVector<int64_t> merged(x.shape());
  merged[d] = n * s;
  FailureOr<TV> m = imp.emitReshape(*c, merged);
  if (failed(m))
    return failure();
  return sliceAxis(imp, *m, d, 0, (n - 1) * s + 1);
}

LogicalResult importConvTranspose(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), w = imp.input(1);
  if (failed(x) || failed(w))
    return failure();
  int64_t rank = (*x)->rank();
  if (rank < 3 || (*w)->rank() != rank)
    return imp.error() << "input " << (*x)->type << " and weight "
                       << (*w)->type
                       << " must be N x C x spatial... of one rank";
  int64_t k = rank - 2;
  ArrayRef<int64_t> xs = (*x)->shape(), ws = (*w)->shape();
  Type elt = (*x)->elementType();
  FailureOr<SmallVector<int64_t>> kernel =
      spatialAttr(imp, "kernel_shape", k, ws.drop_front(2));
  FailureOr<SmallVector<int64_t>> strides =
      spatialAttr(imp, "strides", k, ones(k));
  FailureOr<SmallVector<int64_t>> dilations =
      spatialAttr(imp, "dilations", k, ones(k));
  FailureOr<int64_t> groupAttr = imp.intAttr("group", 1);
  FailureOr<SmallVector<int64_t>> outPad =
      imp.intsAttr("output_padding", SmallVector<int64_t>(k, 0));
  FailureOr<SmallVector<int64_t>> outShape = imp.intsAttr("output_shape");
  FailureOr<std::string> autoPad = imp.stringAttr("auto_pad", "NOTSET");
  if (failed(kernel) || failed(strides) || failed(dilations) ||
      failed(groupAttr) || failed(outPad) || failed(outShape) ||
      failed(autoPad))
    return failure();
  if (ArrayRef<int64_t>(*kernel) != ws.drop_front(2))
    return imp.error() << "kernel_shape does not match the weight "
                       << (*w)->type;
  int64_t group = *groupAttr, c = xs[1];
  if (group <= 0 || c % group != 0 || ws[0] != c)
    return imp.error() << "weight " << (*w)->type << " does not fit "
                       << c << " input channels in " << group << " groups";
  if (static_cast<int64_t>(outPad->size()) != k)
    return imp.error() << "output_padding needs " << k << " values";
  if (!outShape->empty() && static_cast<int64_t>(outShape->size()) != k) {
    if (static_cast<int64_t>(outShape->size()) == rank)
      outShape->erase(outShape->begin(), outShape->begin() + 2);
    else
      return imp.error() << "output_shape needs " << k << " values";
  }
  SmallVector<int64_t> eff;
  for (int64_t d = 0; d < k; ++d)
    eff.push_back(((*kernel)[d] - 1) * (*dilations)[d] + 1);
  // Padding of the transposed conv: pads given, or derived from the
  // output shape (auto_pad SAME_*, or output_shape).
  SmallVector<int64_t> pads(2 * k, 0), extraEnd(k, 0);
  bool same = *autoPad == "SAME_UPPER" || *autoPad == "SAME_LOWER";
  if (imp.hasAttr("pads") && !same) {
    FailureOr<SmallVector<int64_t>> p = imp.intsAttr("pads");
    if (failed(p))
      return failure();
    if (static_cast<int64_t>(p->size()) != 2 * k)
      return imp.error() << "attribute 'pads' needs " << 2 * k << " values";
    pads = *p;
    if (!outShape->empty())
      for (int64_t d = 0; d < k; ++d) {
        int64_t natural = (*strides)[d] * (xs[2 + d] - 1) + (*outPad)[d] +
                          eff[d] - pads[d] - pads[k + d];
        extraEnd[d] = (*outShape)[d] - natural;
      }
  } else if (same || !outShape->empty()) {
    for (int64_t d = 0; d < k; ++d) {
      int64_t target = outShape->empty() ? xs[2 + d] * (*strides)[d]
                                         : (*outShape)[d];
      int64_t total = (*strides)[d] * (xs[2 + d] - 1) + (*outPad)[d] +
                      eff[d] - target;
      bool upper = *autoPad == "SAME_UPPER";
      // Floor division, as ONNX's reference (total may be negative).
      int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      pads[d] = upper ? half : total - half;
      pads[k + d] = upper ? total - half : half;
    }
  } else if (*autoPad != "NOTSET" && *autoPad != "VALID" &&
             !autoPad->empty()) {
    return imp.error() << "unknown auto_pad '" << *autoPad << "'";
  }

  // z: the input with stride - 1 zeros between elements.
  TV z = **x;
  for (int64_t d = 0; d < k; ++d) {
    FailureOr<TV> u = zeroUpsample(imp, z, 2 + d, (*strides)[d]);
    if (failed(u))
      return failure();
    z = *u;
  }
  // Conv padding: eff - 1 - pad (+ output_padding and any output_shape
  // surplus at the end); negative amounts crop instead.
  SmallVector<int64_t> convPads(2 * k, 0);
  for (int64_t d = 0; d < k; ++d) {
    int64_t lo = eff[d] - 1 - pads[d];
    int64_t hi = eff[d] - 1 - pads[k + d] + (*outPad)[d] + extraEnd[d];
    int64_t dimz = z.shape()[2 + d];
    int64_t cropLo = std::max<int64_t>(0, -lo), cropHi = std::max<int64_t>(0, -hi);
    if (cropLo || cropHi) {
      if (cropLo + cropHi >= dimz)
        return imp.error() << "pads leave no output along dim " << 2 + d;
      FailureOr<TV> s = sliceAxis(imp, z, 2 + d, cropLo, dimz - cropLo - cropHi);
      if (failed(s))
        return failure();
      z = *s;
    }
    convPads[d] = std::max<int64_t>(0, lo);
    convPads[k + d] = std::max<int64_t>(0, hi);
  }
  // Weight [C, F/g, K..] -> [F, C/g, K..], spatially flipped.
  int64_t fg = ws[1], cg = c / group;
  SmallVector<int64_t> split = {group, cg, fg};
  llvm::append_range(split, ws.drop_front(2));
  FailureOr<TV> w1 = imp.emitReshape(**w, split);
  if (failed(w1))
    return failure();
  SmallVector<int64_t> perm = {0, 2, 1};
  for (int64_t d = 0; d < k; ++d)
    perm.push_back(3 + d);
  FailureOr<TV> w2 = imp.emitTranspose(*w1, perm);
  if (failed(w2))
    return failure();
  SmallVector<int64_t> wshape = {group * fg, cg};
  llvm::append_range(wshape, ws.drop_front(2));
  FailureOr<TV> w3 = imp.emitReshape(*w2, wshape);
  if (failed(w3))
    return failure();
  SmallVector<int64_t> starts(rank, 0), sizes(wshape), steps(rank, 1);
  for (int64_t d = 0; d < k; ++d) {
    starts[2 + d] = wshape[2 + d] - 1;
    steps[2 + d] = -1;
  }
  FailureOr<TV> wf = imp.emitSlice(*w3, starts, sizes, steps);
  if (failed(wf))
    return failure();
  FailureOr<TV> bias = biasOrZeros(imp, 2, group * fg, elt);
  if (failed(bias))
    return failure();
  return setResult(imp, emitConv(imp, z, *wf, *bias, ones(k), convPads,
                                 *dilations, group));
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

enum class PoolKind { Max, Avg, Lp };

/// Pools `x` (max or average); `countIncludePad` for averages.
FailureOr<TV> emitPool(GraphImporter &imp, TV &x, bool isMax,
                       bool countIncludePad, bool ceilMode,
                       ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                       ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations,
                       bool isSame) {
  int64_t k = kernel.size();
  ArrayRef<int64_t> in = x.shape().drop_front(2);
  bool undilated = llvm::all_of(dilations, [](int64_t d) { return d == 1; });
  bool isFloat = isa<FloatType>(x.elementType());
  if (isSame)
    ceilMode = false;
  // 2-D ops: ceil mode as extra end padding, unless an average would count
  // those positions.
  bool hasCeilExtra = false;
  SmallVector<int64_t> pads2(pads);
  if (ceilMode)
    for (int64_t d = 0; d < k; ++d) {
      int64_t floorOut = windowOutputSize(in[d], pads[d], pads[k + d],
                                          kernel[d], strides[d], 1, false);
      int64_t ceilOut = windowOutputSize(in[d], pads[d], pads[k + d],
                                         kernel[d], strides[d], 1, true);
      if (ceilOut > floorOut) {
        hasCeilExtra = true;
        pads2[k + d] += (ceilOut - 1) * strides[d] + kernel[d] -
                        (in[d] + pads[d] + pads[k + d]);
      }
    }
  bool use2D = k == 2 && undilated && isFloat &&
               (isMax || !countIncludePad || !hasCeilExtra) &&
               llvm::all_of(llvm::seq<int64_t>(0, k), [&](int64_t d) {
                 return pads2[d] < kernel[d] && pads2[k + d] < kernel[d];
               });
  FailureOr<Value> v = imp.materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r;
  if (use2D) {
    auto kAttr = i64Array(imp, kernel), sAttr = i64Array(imp, strides);
    SmallVector<int64_t> p4 = {pads2[0], pads2[1], pads2[2], pads2[3]};
    auto pAttr = i64Array(imp, p4);
    if (isMax)
      r = imp.create<MaxPool2DOp>(Type(), *v, kAttr, sAttr, pAttr);
    else
      r = imp.create<AvgPool2DOp>(Type(), *v, kAttr, sAttr, pAttr,
                                  imp.builder.getBoolAttr(countIncludePad));
  } else {
    for (int64_t d = 0; d < k; ++d) {
      int64_t effective = (kernel[d] - 1) * dilations[d] + 1;
      if (pads[d] >= effective || pads[k + d] >= effective)
        return imp.error() << "padding " << shapeText(pads)
                           << " must be smaller than the kernel "
                           << shapeText(kernel);
    }
    auto kAttr = i64Array(imp, kernel), sAttr = i64Array(imp, strides),
         pAttr = i64Array(imp, pads), dAttr = i64Array(imp, dilations);
    auto cAttr = imp.builder.getBoolAttr(ceilMode);
    if (isMax)
      r = imp.create<MaxPoolOp>(Type(), *v, kAttr, sAttr, pAttr, dAttr, cAttr);
    else
      r = imp.create<AvgPoolOp>(Type(), *v, kAttr, sAttr, pAttr, dAttr, cAttr,
                                imp.builder.getBoolAttr(countIncludePad));
  }
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// |x|^p (x * x for p = 2).
FailureOr<TV> absPow(GraphImporter &imp, TV &x, int64_t p) {
  if (p == 2)
    return imp.emitBinary(BinaryKind::Mul, x, x);
  FailureOr<TV> a = imp.emitUnary(UnaryKind::Abs, x);
  if (failed(a) || p == 1)
    return a;
  TV e = scalarTV(imp, x.elementType(), double(p));
  return imp.emitBinary(BinaryKind::Pow, *a, e);
}

/// y^(1/p) (sqrt for p = 2).
FailureOr<TV> root(GraphImporter &imp, TV &y, int64_t p) {
  if (p == 1)
    return y;
  if (p == 2)
    return imp.emitUnary(UnaryKind::Sqrt, y);
  TV e = scalarTV(imp, y.elementType(), 1.0 / double(p));
  return imp.emitBinary(BinaryKind::Pow, y, e);
}

/// MaxPool with its Indices output: the max over the kernel taps, each tap
/// a strided slice of the input padded with the lowest value; the running
/// maximum keeps the first of equal values and the flat input index of its
/// tap (row-major, or column-major in the spatial dims for storage_order 1).
LogicalResult maxPoolWithIndices(GraphImporter &imp, TV &x,
                                 ArrayRef<int64_t> kernel,
                                 ArrayRef<int64_t> strides,
                                 ArrayRef<int64_t> pads,
                                 ArrayRef<int64_t> dilations, bool ceilMode,
                                 bool columnMajor) {
  int64_t rank = x.rank(), k = rank - 2;
  ArrayRef<int64_t> xs = x.shape();
  Type elt = x.elementType();
  SmallVector<int64_t> out = {xs[0], xs[1]};
  SmallVector<int64_t> before(rank, 0), after(rank, 0);
  for (int64_t d = 0; d < k; ++d) {
    int64_t o = windowOutputSize(xs[2 + d], pads[d], pads[k + d], kernel[d],
                                 strides[d], dilations[d], ceilMode);
    if (o <= 0)
      return imp.error() << "kernel larger than the padded input";
    out.push_back(o);
    int64_t effective = (kernel[d] - 1) * dilations[d] + 1;
    before[2 + d] = pads[d];
    after[2 + d] = std::max<int64_t>(
        0, (o - 1) * strides[d] + effective - xs[2 + d] - pads[d]);
  }
  // Pad with the lowest value.
  double lowest = -std::numeric_limits<double>::infinity();
  if (auto it = dyn_cast<IntegerType>(elt))
    lowest = it.isUnsigned() ? 0.0 : -std::ldexp(1.0, it.getWidth() - 1);
  TV cur = x;
  for (int64_t d = 2; d < rank; ++d) {
    if (!before[d] && !after[d])
      continue;
    SmallVector<TV> parts;
    SmallVector<int64_t> ps(cur.shape());
    if (before[d]) {
      ps[d] = before[d];
      parts.push_back(imp.makeSplat(RankedTensorType::get(ps, elt), lowest));
    }
    parts.push_back(cur);
    if (after[d]) {
      ps[d] = after[d];
      parts.push_back(imp.makeSplat(RankedTensorType::get(ps, elt), lowest));
    }
    SmallVector<TV *> ptrs;
    for (TV &p : parts)
      ptrs.push_back(&p);
    FailureOr<TV> c = imp.emitConcat(ptrs, d);
    if (failed(c))
      return failure();
    cur = *c;
  }
  // Flat-index strides of the (unpadded) input.
  SmallVector<int64_t> spatialStride(k, 1);
  if (columnMajor) {
    for (int64_t d = 1; d < k; ++d)
      spatialStride[d] = spatialStride[d - 1] * xs[2 + d - 1];
  } else {
    for (int64_t d = k - 2; d >= 0; --d)
      spatialStride[d] = spatialStride[d + 1] * xs[2 + d + 1];
  }
  int64_t image = product(xs.drop_front(2));
  Type i64 = imp.builder.getI64Type();
  SmallVector<int64_t> ncShape = {xs[0], xs[1]}, nc;
  ncShape.append(k, 1);
  for (int64_t i = 0; i < xs[0] * xs[1]; ++i)
    nc.push_back(i * image);
  TV ncBase = i64Const(imp, ncShape, nc);
  int64_t taps = product(kernel);
  std::optional<TV> best, bestIdx;
  SmallVector<int64_t> tap(k, 0);
  for (int64_t t = 0; t < taps; ++t) {
    SmallVector<int64_t> starts(rank, 0), sizes(out), steps(rank, 1);
    for (int64_t d = 0; d < k; ++d) {
      starts[2 + d] = tap[d] * dilations[d];
      steps[2 + d] = strides[d];
    }
    FailureOr<TV> cand = imp.emitSlice(cur, starts, sizes, steps);
    if (failed(cand))
      return failure();
    TV idx = ncBase;
    for (int64_t d = 0; d < k; ++d) {
      SmallVector<int64_t> shape(rank, 1), v;
      shape[2 + d] = out[2 + d];
      for (int64_t o = 0; o < out[2 + d]; ++o) {
        int64_t pos = o * strides[d] + tap[d] * dilations[d] - pads[d];
        pos = std::clamp<int64_t>(pos, 0, xs[2 + d] - 1);
        v.push_back(pos * spatialStride[d]);
      }
      TV term = i64Const(imp, shape, v);
      FailureOr<TV> sum = imp.emitBinary(BinaryKind::Add, idx, term);
      if (failed(sum))
        return failure();
      idx = *sum;
    }
    if (!best) {
      best = *cand;
      FailureOr<TV> full = imp.emitExpand(idx, out);
      if (failed(full))
        return failure();
      bestIdx = *full;
    } else {
      FailureOr<TV> better =
          imp.emitBinary(BinaryKind::Greater, *cand, *best);
      if (failed(better))
        return failure();
      FailureOr<TV> nb = imp.emitWhere(*better, *cand, *best);
      FailureOr<TV> ni = imp.emitWhere(*better, idx, *bestIdx);
      if (failed(nb) || failed(ni))
        return failure();
      best = *nb;
      bestIdx = *ni;
    }
    for (int64_t d = k - 1; d >= 0; --d) {
      if (++tap[d] < kernel[d])
        break;
      tap[d] = 0;
    }
  }
  if (failed(imp.setOutput(0, *best)))
    return failure();
  return imp.setOutput(1, *bestIdx);
}

template <PoolKind Kind> LogicalResult importPool(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  int64_t rank = (*x)->rank();
  if (rank < 3)
    return imp.error() << "input must be N x C x spatial..., got "
                       << (*x)->type;
  int64_t k = rank - 2;
  if (!imp.hasAttr("kernel_shape"))
    return imp.error() << "missing attribute 'kernel_shape'";
  FailureOr<SmallVector<int64_t>> kernel =
      spatialAttr(imp, "kernel_shape", k, {});
  FailureOr<SmallVector<int64_t>> strides =
      spatialAttr(imp, "strides", k, ones(k));
  FailureOr<SmallVector<int64_t>> dilations =
      spatialAttr(imp, "dilations", k, ones(k));
  FailureOr<int64_t> ceilMode = imp.intAttr("ceil_mode", 0);
  FailureOr<int64_t> countIncludePad = imp.intAttr("count_include_pad", 0);
  FailureOr<int64_t> p = imp.intAttr("p", 2);
  if (failed(kernel) || failed(strides) || failed(dilations) ||
      failed(ceilMode) || failed(countIncludePad) || failed(p))
    return failure();
  if (Kind != PoolKind::Max && !isa<FloatType>((*x)->elementType()))
    return imp.error() << "input must be a float tensor, got " << (*x)->type;
  bool isSame;
  FailureOr<SmallVector<int64_t>> pads =
      windowPadding(imp, (*x)->shape().drop_front(2), *kernel, *strides,
                    *dilations, isSame);
  if (failed(pads))
    return failure();
  for (int64_t d = 0; d < k; ++d) {
    int64_t effective = ((*kernel)[d] - 1) * (*dilations)[d] + 1;
    int64_t padded = (*x)->shape()[2 + d] + (*pads)[d] + (*pads)[k + d];
    if (padded < effective)
      return imp.error() << "kernel " << (*kernel)[d]
                         << " is larger than the padded input (" << padded
                         << ")";
  }
  if (Kind == PoolKind::Max && imp.outputUsed(1)) {
    FailureOr<int64_t> order = imp.intAttr("storage_order", 0);
    if (failed(order))
      return failure();
    return maxPoolWithIndices(imp, **x, *kernel, *strides, *pads, *dilations,
                              *ceilMode != 0 && !isSame, *order != 0);
  }
  if (Kind != PoolKind::Lp)
    return setResult(imp, emitPool(imp, **x, Kind == PoolKind::Max,
                                   *countIncludePad != 0, *ceilMode != 0,
                                   *kernel, *strides, *pads, *dilations,
                                   isSame));
  if (*p < 1)
    return imp.error() << "p must be >= 1, got " << *p;
  FailureOr<TV> powered = absPow(imp, **x, *p);
  if (failed(powered))
    return failure();
  // Padded positions count as zeros: an average over the whole window.
  FailureOr<TV> avg = emitPool(imp, *powered, false, true, *ceilMode != 0,
                               *kernel, *strides, *pads, *dilations, isSame);
  if (failed(avg))
    return failure();
  TV area = scalarTV(imp, (*x)->elementType(), double(product(*kernel)));
  FailureOr<TV> sum = imp.emitBinary(BinaryKind::Mul, *avg, area);
  if (failed(sum))
    return failure();
  return setResult(imp, root(imp, *sum, *p));
}

LogicalResult importGlobalLpPool(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> p = imp.intAttr("p", 2);
  if (failed(x) || failed(p))
    return failure();
  if ((*x)->rank() < 3)
    return imp.error() << "input must be N x C x spatial..., got "
                       << (*x)->type;
  FailureOr<TV> powered = absPow(imp, **x, *p);
  if (failed(powered))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < (*x)->rank(); ++d)
    axes.push_back(d);
  FailureOr<TV> sum = imp.emitReduce(ReduceKind::Sum, *powered, axes, true);
  if (failed(sum))
    return failure();
  return setResult(imp, root(imp, *sum, *p));
}


/// CausalConvWithState: the past state (zeros by default) prepended along
/// the length, a depthwise 1-D convolution, optional SiLU; the present
/// state is the last kernel - 1 positions of the padded input.
LogicalResult importCausalConvWithState(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), w = imp.input(1);
  FailureOr<std::string> act = imp.stringAttr("activation", "none");
  if (failed(x) || failed(w) || failed(act))
    return failure();
  if (*act != "none" && *act != "silu" && *act != "swish")
    return imp.error() << "unsupported activation '" << *act << "'";
  if ((*x)->rank() != 3 || (*w)->rank() != 3 || (*w)->shape()[1] != 1)
    return imp.error() << "input must be [N, C, L] and weight [C, 1, K], got "
                       << (*x)->type << " and " << (*w)->type;
  int64_t n = (*x)->shape()[0], c = (*x)->shape()[1], k = (*w)->shape()[2];
  Type elt = (*x)->elementType();
  TV padded = **x;
  if (k > 1) {
    TV past = imp.makeSplat(RankedTensorType::get({n, c, k - 1}, elt), 0.0);
    if (imp.hasInput(3)) {
      FailureOr<TV *> p = imp.input(3);
      if (failed(p))
        return failure();
      past = **p;
    }
    TV *parts[] = {&past, &padded};
    FailureOr<TV> cat = imp.emitConcat(parts, 2);
    if (failed(cat))
      return failure();
    padded = *cat;
  }
  FailureOr<TV> bias = biasOrZeros(imp, 2, c, elt);
  if (failed(bias))
    return failure();
  FailureOr<TV> y =
      emitConv(imp, padded, **w, *bias, {1}, {0, 0}, {1}, c);
  if (failed(y))
    return failure();
  if (*act != "none") {
    FailureOr<TV> sg = imp.emitUnary(UnaryKind::Sigmoid, *y);
    if (failed(sg))
      return failure();
    y = imp.emitBinary(BinaryKind::Mul, *y, *sg);
    if (failed(y))
      return failure();
  }
  if (failed(imp.setOutput(0, *y)))
    return failure();
  int64_t len = padded.shape()[2];
  return setResult(imp, sliceAxis(imp, padded, 2, len - (k - 1), k - 1), 1);
}


/// Places `x` (dim d holds positions start, start + step, ...) into a dim of
/// size `size`: zero-upsampled by `step`, then padded with zeros or cropped
/// at both ends. Positions outside [0, size) are dropped.
FailureOr<TV> placeAlong(GraphImporter &imp, TV &x, int64_t d, int64_t start,
                         int64_t step, int64_t size) {
  FailureOr<TV> up = zeroUpsample(imp, x, d, step);
  if (failed(up))
    return failure();
  TV cur = *up;
  int64_t len = cur.shape()[d];
  int64_t lo = start, hi = size - (start + len);
  int64_t cropLo = std::max<int64_t>(0, -lo), cropHi = std::max<int64_t>(0, -hi);
  if (cropLo + cropHi >= len) {
    SmallVector<int64_t> zs(cur.shape());
    zs[d] = size;
    return imp.makeSplat(RankedTensorType::get(zs, cur.elementType()), 0.0);
  }
  if (cropLo || cropHi) {
    FailureOr<TV> sl = sliceAxis(imp, cur, d, cropLo, len - cropLo - cropHi);
    if (failed(sl))
      return failure();
    cur = *sl;
  }
  SmallVector<TV> parts;
  SmallVector<int64_t> zs(cur.shape());
  if (lo > 0) {
    zs[d] = lo;
    parts.push_back(imp.makeSplat(RankedTensorType::get(zs, cur.elementType()), 0));
  }
  parts.push_back(cur);
  if (hi > 0) {
    zs[d] = hi;
    parts.push_back(imp.makeSplat(RankedTensorType::get(zs, cur.elementType()), 0));
  }
  SmallVector<TV *> ptrs;
  for (TV &p : parts)
    ptrs.push_back(&p);
  return imp.emitConcat(ptrs, d);
}

/// Col2Im: input [N, C * prod(block), L] holds, per kernel tap, the values
/// of L sliding blocks; each tap's [N, C, blocks...] slab is placed at
/// block * stride - pad + tap * dilation and the slabs are summed.
LogicalResult importCol2Im(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  FailureOr<TV *> imgIn = imp.constInput(1, "the image_shape input");
  if (failed(imgIn))
    return failure();
  FailureOr<TV *> blkIn = imp.constInput(2, "the block_shape input");
  if (failed(blkIn))
    return failure();
  FailureOr<SmallVector<int64_t>> image = imp.intsOf(**imgIn, "image_shape");
  FailureOr<SmallVector<int64_t>> block = imp.intsOf(**blkIn, "block_shape");
  if (failed(image) || failed(block))
    return failure();
  int64_t k = image->size();
  if (static_cast<int64_t>(block->size()) != k || k == 0)
    return imp.error() << "image_shape and block_shape differ in length";
  FailureOr<SmallVector<int64_t>> dil = spatialAttr(imp, "dilations", k, ones(k));
  FailureOr<SmallVector<int64_t>> str = spatialAttr(imp, "strides", k, ones(k));
  FailureOr<SmallVector<int64_t>> pads =
      imp.intsAttr("pads", SmallVector<int64_t>(2 * k, 0));
  if (failed(dil) || failed(str) || failed(pads))
    return failure();
  if (static_cast<int64_t>(pads->size()) != 2 * k)
    return imp.error() << "attribute 'pads' needs " << 2 * k << " values";
  ArrayRef<int64_t> xs = (*x)->shape();
  int64_t taps = product(*block);
  if ((*x)->rank() != 3 || xs[1] % taps != 0)
    return imp.error() << "input " << (*x)->type
                       << " must be [N, C * prod(block_shape), L]";
  SmallVector<int64_t> blocks;
  for (int64_t d = 0; d < k; ++d)
    blocks.push_back(((*image)[d] + (*pads)[d] + (*pads)[k + d] -
                      (*dil)[d] * ((*block)[d] - 1) - 1) /
                         (*str)[d] +
                     1);
  if (product(blocks) != xs[2])
    return imp.error() << "input length " << xs[2] << " is not the "
                       << product(blocks) << " sliding blocks";
  int64_t n = xs[0], c = xs[1] / taps;
  // [N, C, taps, blocks...]
  SmallVector<int64_t> split = {n, c, taps};
  llvm::append_range(split, blocks);
  FailureOr<TV> r = imp.emitReshape(**x, split);
  if (failed(r))
    return failure();
  std::optional<TV> sum;
  SmallVector<int64_t> tap(k, 0);
  SmallVector<int64_t> slabShape = {n, c};
  llvm::append_range(slabShape, blocks);
  for (int64_t t = 0; t < taps; ++t) {
    FailureOr<TV> sl = sliceAxis(imp, *r, 2, t, 1);
    if (failed(sl))
      return failure();
    FailureOr<TV> slab = imp.emitReshape(*sl, slabShape);
    if (failed(slab))
      return failure();
    TV cur = *slab;
    for (int64_t d = 0; d < k; ++d) {
      FailureOr<TV> placed =
          placeAlong(imp, cur, 2 + d, tap[d] * (*dil)[d] - (*pads)[d],
                     (*str)[d], (*image)[d]);
      if (failed(placed))
        return failure();
      cur = *placed;
    }
    if (!sum) {
      sum = cur;
    } else {
      FailureOr<TV> a = imp.emitBinary(BinaryKind::Add, *sum, cur);
      if (failed(a))
        return failure();
      sum = *a;
    }
    for (int64_t d = k - 1; d >= 0; --d) {
      if (++tap[d] < (*block)[d])
        break;
      tap[d] = 0;
    }
  }
  return imp.setOutput(0, *sum);
}

} // namespace

void mlir::kiln::onnx::registerConvPoolOps(llvm::StringMap<OpHandler> &map) {
  map["Conv"] = importConv;
  map["ConvTranspose"] = importConvTranspose;
  map["MaxPool"] = importPool<PoolKind::Max>;
  map["AveragePool"] = importPool<PoolKind::Avg>;
  map["LpPool"] = importPool<PoolKind::Lp>;
  map["GlobalLpPool"] = importGlobalLpPool;
  map["CausalConvWithState"] = importCausalConvWithState;
  map["ConvInteger"] = importConvInteger;
  map["Col2Im"] = importCol2Im;
  map["QLinearConv"] = importQLinearConv;
}
