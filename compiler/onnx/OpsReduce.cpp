//===- OpsReduce.cpp - ONNX reductions, arg/top-k and softmax family ------===//
//
// Part of kiln. Handlers for the Reduce* ops in every opset form (axes as an
// attribute or an input, empty axes, noop_with_empty_axes, keepdims,
// negative axes), ArgMax/ArgMin, TopK, Hardmax and LogSoftmax, and the
// losses built on them (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss).
//
// Every Reduce* is `post(core(pre(x)))`: L1 = sum(|x|), L2 = sqrt(sum(x^2)),
// LogSum = log(sum(x)), SumSquare = sum(x^2), LogSumExp = log(sum(exp(x -
// m))) + m with m the (finite) max. With noop_with_empty_axes and no axes
// only pre and post apply, as in ONNX's reference.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include "llvm/ADT/SmallSet.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

#define KILN_TRY(var, expr)                                                    \
  FailureOr<TV> var##OrFailure = (expr);                                       \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  TV var = std::move(*var##OrFailure)

namespace {

TV scalar(GraphImporter &imp, Type elt, double v) {
  return imp.makeSplat(RankedTensorType::get({}, elt), v);
}

LogicalResult setResult(GraphImporter &imp, FailureOr<TV> r, int i = 0) {
  if (failed(r))
    return failure();
  return imp.setOutput(i, *r);
}

FailureOr<TV> unary(GraphImporter &imp, UnaryKind kind, TV x) {
  return imp.emitUnary(kind, x);
}
FailureOr<TV> binary(GraphImporter &imp, BinaryKind kind, TV a, TV b) {
  return imp.emitBinary(kind, a, b);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

enum class Reduction {
  Sum,
  Mean,
  Max,
  Min,
  Prod,
  L1,
  L2,
  LogSum,
  LogSumExp,
  SumSquare
};

/// The opset from which the op reads its axes from an input.
int64_t axesInputSince(Reduction kind) {
  return kind == Reduction::Sum ? 13 : 18;
}

/// One core reduction op over `axes` (sorted, unique, non-empty).
FailureOr<TV> coreReduce(GraphImporter &imp, Reduction core, TV x,
                         ArrayRef<int64_t> axes, bool keepdims) {
  FailureOr<Value> v = imp.materialize(x);
  if (failed(v))
    return failure();
  auto axesAttr = imp.builder.getDenseI64ArrayAttr(axes);
  auto keep = imp.builder.getBoolAttr(keepdims);
  FailureOr<Value> r;
  switch (core) {
  case Reduction::Sum:
    r = imp.create<ReduceSumOp>(Type(), *v, axesAttr, keep);
    break;
  case Reduction::Mean:
    r = imp.create<ReduceMeanOp>(Type(), *v, axesAttr, keep);
    break;
  case Reduction::Max:
    r = imp.create<ReduceMaxOp>(Type(), *v, axesAttr, keep);
    break;
  case Reduction::Min:
    r = imp.create<ReduceMinOp>(Type(), *v, axesAttr, keep);
    break;
  case Reduction::Prod:
    r = imp.create<ReduceProdOp>(Type(), *v, axesAttr, keep);
    break;
  default:
    return imp.error() << "internal error: not a core reduction";
  }
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// `x` with its non-finite elements replaced by 0 (LogSumExp's shift).
FailureOr<TV> finiteOrZero(GraphImporter &imp, TV x) {
  Type t = x.elementType();
  KILN_TRY(a, unary(imp, UnaryKind::Abs, x));
  KILN_TRY(inf, binary(imp, BinaryKind::Equal, a,
                       scalar(imp, t, std::numeric_limits<double>::infinity())));
  KILN_TRY(nan, binary(imp, BinaryKind::Equal, x, x));
  KILN_TRY(isNan, unary(imp, UnaryKind::Not, nan));
  KILN_TRY(bad, binary(imp, BinaryKind::Or, inf, isNan));
  TV zero = scalar(imp, t, 0.0);
  return imp.emitWhere(bad, zero, x);
}

FailureOr<TV> reduce(GraphImporter &imp, Reduction kind, TV x,
                     ArrayRef<int64_t> axes, bool keepdims) {
  Type t = x.elementType();
  bool isFloat = isa<FloatType>(t);
  bool needsFloat = kind == Reduction::Mean || kind == Reduction::L2 ||
                    kind == Reduction::LogSum || kind == Reduction::LogSumExp;
  if (needsFloat && !isFloat)
    return imp.error() << "expects a float tensor, got " << x.type;
  if (t.isInteger(1) && kind != Reduction::Max && kind != Reduction::Min)
    return imp.error() << "expects a numeric tensor, got " << x.type;
  bool noop = axes.empty();
  switch (kind) {
  case Reduction::Sum:
  case Reduction::Mean:
  case Reduction::Max:
  case Reduction::Min:
  case Reduction::Prod:
    if (noop)
      return x;
    return coreReduce(imp, kind, x, axes, keepdims);
  case Reduction::L1: {
    KILN_TRY(a, unary(imp, UnaryKind::Abs, x));
    if (noop)
      return a;
    return coreReduce(imp, Reduction::Sum, a, axes, keepdims);
  }
  case Reduction::SumSquare:
  case Reduction::L2: {
    KILN_TRY(sq, binary(imp, BinaryKind::Mul, x, x));
    TV s = sq;
    if (!noop) {
      KILN_TRY(r, coreReduce(imp, Reduction::Sum, sq, axes, keepdims));
      s = r;
    }
    if (kind == Reduction::SumSquare)
      return s;
    return unary(imp, UnaryKind::Sqrt, s);
  }
  case Reduction::LogSum: {
    if (noop)
      return unary(imp, UnaryKind::Log, x);
    KILN_TRY(s, coreReduce(imp, Reduction::Sum, x, axes, keepdims));
    return unary(imp, UnaryKind::Log, s);
  }
  case Reduction::LogSumExp: {
    if (noop)
      return x;
    KILN_TRY(m, coreReduce(imp, Reduction::Max, x, axes, /*keepdims=*/true));
    KILN_TRY(shift, finiteOrZero(imp, m));
    KILN_TRY(d, binary(imp, BinaryKind::Sub, x, shift));
    KILN_TRY(e, unary(imp, UnaryKind::Exp, d));
    KILN_TRY(s, coreReduce(imp, Reduction::Sum, e, axes, /*keepdims=*/true));
    KILN_TRY(l, unary(imp, UnaryKind::Log, s));
    KILN_TRY(r, binary(imp, BinaryKind::Add, l, shift));
    if (keepdims)
      return r;
    SmallVector<int64_t> shape;
    for (int64_t dim = 0; dim < x.rank(); ++dim)
      if (!llvm::is_contained(axes, dim))
        shape.push_back(x.shape()[dim]);
    return imp.emitReshape(r, shape);
  }
  }
  return imp.error() << "internal error: unknown reduction";
}

template <Reduction Kind> LogicalResult importReduce(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> keepdims = imp.intAttr("keepdims", 1);
  FailureOr<int64_t> noop = imp.intAttr("noop_with_empty_axes", 0);
  if (failed(x) || failed(keepdims) || failed(noop))
    return failure();
  SmallVector<int64_t> axes;
  if (imp.opset < axesInputSince(Kind)) {
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
  TV in = **x;
  int64_t rank = in.rank();
  if (axes.empty() && !*noop)
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
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
  return setResult(imp, reduce(imp, Kind, in, axes, *keepdims != 0));
}

//===----------------------------------------------------------------------===//
// ArgMax / ArgMin / TopK
//===----------------------------------------------------------------------===//

template <typename OpTy>
FailureOr<TV> argReduce(GraphImporter &imp, TV x, int64_t axis, bool keepdims,
                        bool last) {
  FailureOr<Value> v = imp.materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = imp.create<OpTy>(
      Type(), *v, imp.builder.getI64IntegerAttr(axis),
      imp.builder.getBoolAttr(keepdims), imp.builder.getBoolAttr(last));
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

template <typename OpTy> LogicalResult importArgReduce(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  FailureOr<int64_t> keepdims = imp.intAttr("keepdims", 1);
  FailureOr<int64_t> last = imp.intAttr("select_last_index", 0);
  if (failed(x) || failed(axisAttr) || failed(keepdims) || failed(last))
    return failure();
  if ((*x)->rank() == 0)
    return imp.error() << "input must have rank >= 1";
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, (*x)->rank());
  if (failed(axis))
    return failure();
  return setResult(imp, argReduce<OpTy>(imp, **x, *axis, *keepdims != 0,
                                        *last != 0));
}

LogicalResult importTopK(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", -1);
  FailureOr<int64_t> largest = imp.intAttr("largest", 1);
  FailureOr<int64_t> sorted = imp.intAttr("sorted", 1);
  if (failed(x) || failed(axisAttr) || failed(largest) || failed(sorted))
    return failure();
  int64_t k;
  if (imp.opset < 10) {
    if (!imp.hasAttr("k"))
      return imp.error() << "missing attribute 'k'";
    FailureOr<int64_t> kAttr = imp.intAttr("k", 0);
    if (failed(kAttr))
      return failure();
    k = *kAttr;
  } else {
    FailureOr<TV *> kIn = imp.constInput(1, "the K input");
    if (failed(kIn))
      return failure();
    FailureOr<SmallVector<int64_t>> ks = imp.intsOf(**kIn, "K");
    if (failed(ks))
      return failure();
    if (ks->size() != 1)
      return imp.error() << "K must have one element, got " << ks->size();
    k = ks->front();
  }
  TV &in = **x;
  if (in.rank() == 0)
    return imp.error() << "input must have rank >= 1";
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, in.rank());
  if (failed(axis))
    return failure();
  if (k < 0 || k > in.shape()[*axis])
    return imp.error() << "K = " << k << " is out of range for dim " << *axis
                       << " of size " << in.shape()[*axis];
  SmallVector<int64_t> shape(in.shape());
  shape[*axis] = k;
  auto valuesType = RankedTensorType::get(shape, in.elementType());
  auto indicesType = RankedTensorType::get(shape, imp.builder.getI64Type());
  FailureOr<Value> v = imp.materialize(in);
  if (failed(v))
    return failure();
  FailureOr<Value> r = imp.create<TopKOp>(
      valuesType, indicesType, *v, imp.builder.getI64IntegerAttr(*axis),
      imp.builder.getI64IntegerAttr(k), imp.builder.getBoolAttr(*largest != 0),
      imp.builder.getBoolAttr(*sorted != 0));
  if (failed(r))
    return failure();
  Operation *op = r->getDefiningOp();
  if (failed(imp.setOutput(0, GraphImporter::fromValue(op->getResult(0)))))
    return failure();
  if (imp.numOutputs() > 1)
    return imp.setOutput(1, GraphImporter::fromValue(op->getResult(1)));
  return success();
}

//===----------------------------------------------------------------------===//
// Hardmax / LogSoftmax
//===----------------------------------------------------------------------===//

/// Runs `body` over one axis of `x`, in the opset's form: from opset 13 on
/// one axis (default -1); before, over the input flattened to 2-D at `axis`
/// (default 1), the result reshaped back.
LogicalResult
importAxisOp(GraphImporter &imp,
             llvm::function_ref<FailureOr<TV>(TV, int64_t)> body) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  bool legacy = imp.opset < 13;
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", legacy ? 1 : -1);
  if (failed(axisAttr))
    return failure();
  TV in = **x;
  int64_t rank = in.rank();
  if (rank == 0)
    return imp.error() << "input must have rank >= 1";
  if (!isa<FloatType>(in.elementType()))
    return imp.error() << "expects a float tensor, got " << in.type;
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
  if (failed(axis))
    return failure();
  if (!legacy || *axis == rank - 1)
    return setResult(imp, body(in, *axis));
  ArrayRef<int64_t> s = in.shape();
  int64_t outer = *checkedNumElements(s.take_front(*axis));
  int64_t inner = *checkedNumElements(s.drop_front(*axis));
  KILN_TRY(flat, imp.emitReshape(in, {outer, inner}));
  KILN_TRY(r, body(flat, 1));
  return setResult(imp, imp.emitReshape(r, s));
}

/// log_softmax: (x - m) - log(sum(exp(x - m))), m the max along `axis` (as
/// ONNX's function body).
FailureOr<TV> logSoftmax(GraphImporter &imp, TV x, int64_t axis) {
  KILN_TRY(m, coreReduce(imp, Reduction::Max, x, {axis}, true));
  KILN_TRY(d, binary(imp, BinaryKind::Sub, x, m));
  KILN_TRY(e, unary(imp, UnaryKind::Exp, d));
  KILN_TRY(s, coreReduce(imp, Reduction::Sum, e, {axis}, true));
  KILN_TRY(l, unary(imp, UnaryKind::Log, s));
  return binary(imp, BinaryKind::Sub, d, l);
}

/// hardmax: 1 where the index along `axis` is the (first) argmax, else 0.
FailureOr<TV> hardmax(GraphImporter &imp, TV x, int64_t axis) {
  KILN_TRY(idx, argReduce<ArgMaxOp>(imp, x, axis, true, false));
  int64_t n = x.shape()[axis];
  SmallVector<int64_t> iotaShape(x.rank(), 1);
  iotaShape[axis] = n;
  Contents c;
  for (int64_t i = 0; i < n; ++i)
    c.ints.push_back(i);
  TV iota = imp.makeConst(
      RankedTensorType::get(iotaShape, imp.builder.getI64Type()), std::move(c));
  KILN_TRY(eq, binary(imp, BinaryKind::Equal, idx, iota));
  return imp.emitCast(eq, x.elementType());
}

LogicalResult importLogSoftmax(GraphImporter &imp) {
  return importAxisOp(
      imp, [&](TV x, int64_t axis) { return logSoftmax(imp, x, axis); });
}

LogicalResult importHardmax(GraphImporter &imp) {
  return importAxisOp(imp,
                      [&](TV x, int64_t axis) { return hardmax(imp, x, axis); });
}

//===----------------------------------------------------------------------===//
// NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss
//===----------------------------------------------------------------------===//

/// NLL of `x` [N, C, d...] (log-probabilities) at integer `target`
/// [N, d...], as ONNX's reference computes it:
///   loss[n, d] = -x[n, target[n, d], d] * w[n, d]
/// with w = weight[clip(target, 0, C-1)] (1 without weights), 0 where target
/// is `ignoreIndex` (those elements also lose their -x term). The pick is a
/// one-hot mask (target == iota over C) summed over C, so out-of-range
/// targets read nothing. Reductions: "none", "sum", and "mean" = sum(loss) /
/// sum(w) (the plain mean without weights and ignore_index).
FailureOr<TV> nllLoss(GraphImporter &imp, TV x, TV target, TV *weight,
                      std::optional<int64_t> ignoreIndex,
                      StringRef reduction) {
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return imp.error() << "reduction must be \"none\", \"sum\" or \"mean\", "
                          "got \""
                       << reduction << "\"";
  Type elt = x.elementType();
  if (!isa<FloatType>(elt))
    return imp.error() << "expects a float input, got " << x.type;
  int64_t rank = x.rank();
  if (rank < 2)
    return imp.error() << "input must have rank >= 2 ([N, C, d...]), got "
                       << x.type;
  ArrayRef<int64_t> xs = x.shape();
  int64_t c = xs[1];
  SmallVector<int64_t> ts{xs[0]};
  ts.append(xs.begin() + 2, xs.end());
  Type tt = target.elementType();
  if (!tt.isSignlessInteger(32) && !tt.isSignlessInteger(64))
    return imp.error() << "target must be int32 or int64, got " << target.type;
  if (target.shape() != ArrayRef<int64_t>(ts))
    return imp.error() << "target shape " << shapeText(target.shape())
                       << " does not match the input's [N, d...] "
                       << shapeText(ts);
  if (weight && (weight->elementType() != elt || weight->rank() != 1 ||
                 weight->shape()[0] != c))
    return imp.error() << "weight must be a [" << c << "] tensor of the "
                       << "input's type, got " << weight->type;

  Type i64 = imp.builder.getI64Type();
  TV t = target;
  if (tt != i64) {
    KILN_TRY(c64, imp.emitCast(target, i64));
    t = c64;
  }
  // One-hot pick of x along C.
  SmallVector<int64_t> us(ts);
  us.insert(us.begin() + 1, 1);
  KILN_TRY(tu, imp.emitReshape(t, us));
  SmallVector<int64_t> iotaShape(rank, 1);
  iotaShape[1] = c;
  Contents iotaData;
  for (int64_t i = 0; i < c; ++i)
    iotaData.ints.push_back(i);
  TV iota = imp.makeConst(RankedTensorType::get(iotaShape, i64),
                          std::move(iotaData));
  KILN_TRY(onehot, binary(imp, BinaryKind::Equal, tu, iota));
  TV zero = scalar(imp, elt, 0.0);
  KILN_TRY(sel, imp.emitWhere(onehot, x, zero));
  KILN_TRY(picked, imp.emitReduce(ReduceKind::Sum, sel, {1}, false));
  KILN_TRY(loss, unary(imp, UnaryKind::Neg, picked));

  // Per-element weights.
  std::optional<TV> w;
  if (weight) {
    TV lo = scalar(imp, i64, 0.0), hi = scalar(imp, i64, double(c - 1));
    KILN_TRY(a, binary(imp, BinaryKind::Max, t, lo));
    KILN_TRY(clipped, binary(imp, BinaryKind::Min, a, hi));
    KILN_TRY(g, imp.emitGather(*weight, clipped, 0));
    w = g;
  }
  if (ignoreIndex) {
    TV ii = scalar(imp, i64, double(*ignoreIndex));
    KILN_TRY(ignored, binary(imp, BinaryKind::Equal, t, ii));
    TV one = scalar(imp, elt, 1.0);
    KILN_TRY(kept, imp.emitWhere(ignored, zero, w ? *w : one));
    w = kept;
  }
  if (w) {
    KILN_TRY(weighted, binary(imp, BinaryKind::Mul, loss, *w));
    loss = weighted;
  }
  if (reduction == "none")
    return loss;
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < loss.rank(); ++d)
    all.push_back(d);
  if (all.empty())
    return loss;
  if (reduction == "mean" && !w)
    return imp.emitReduce(ReduceKind::Mean, loss, all, false);
  KILN_TRY(sum, imp.emitReduce(ReduceKind::Sum, loss, all, false));
  if (reduction == "sum")
    return sum;
  KILN_TRY(wsum, imp.emitReduce(ReduceKind::Sum, *w, all, false));
  return binary(imp, BinaryKind::Div, sum, wsum);
}

/// Reads the shared attributes and the optional weight input (#2).
LogicalResult lossOperands(GraphImporter &imp, TV *&weight,
                           std::optional<int64_t> &ignoreIndex,
                           std::string &reduction) {
  FailureOr<std::string> red = imp.stringAttr("reduction", "mean");
  if (failed(red))
    return failure();
  reduction = *red;
  if (imp.hasAttr("ignore_index")) {
    FailureOr<int64_t> ii = imp.intAttr("ignore_index", 0);
    if (failed(ii))
      return failure();
    ignoreIndex = *ii;
  }
  weight = nullptr;
  if (imp.hasInput(2)) {
    FailureOr<TV *> w = imp.input(2);
    if (failed(w))
      return failure();
    weight = *w;
  }
  return success();
}

LogicalResult importNegativeLogLikelihoodLoss(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), target = imp.input(1);
  if (failed(x) || failed(target))
    return failure();
  TV *weight;
  std::optional<int64_t> ignoreIndex;
  std::string reduction;
  if (failed(lossOperands(imp, weight, ignoreIndex, reduction)))
    return failure();
  return setResult(
      imp, nllLoss(imp, **x, **target, weight, ignoreIndex, reduction));
}

/// SoftmaxCrossEntropyLoss: NLL of log_softmax(scores) along C (axis 1);
/// the optional second output is that log_softmax.
LogicalResult importSoftmaxCrossEntropyLoss(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), target = imp.input(1);
  if (failed(x) || failed(target))
    return failure();
  TV *weight;
  std::optional<int64_t> ignoreIndex;
  std::string reduction;
  if (failed(lossOperands(imp, weight, ignoreIndex, reduction)))
    return failure();
  if (!isa<FloatType>((*x)->elementType()))
    return imp.error() << "expects a float input, got " << (*x)->type;
  if ((*x)->rank() < 2)
    return imp.error() << "input must have rank >= 2 ([N, C, d...]), got "
                       << (*x)->type;
  KILN_TRY(logProb, logSoftmax(imp, **x, 1));
  if (failed(setResult(
          imp, nllLoss(imp, logProb, **target, weight, ignoreIndex, reduction))))
    return failure();
  return imp.setOutput(1, logProb);
}

} // namespace

void mlir::kiln::onnx::registerReduceOps(llvm::StringMap<OpHandler> &map) {
  map["ReduceSum"] = importReduce<Reduction::Sum>;
  map["ReduceMean"] = importReduce<Reduction::Mean>;
  map["ReduceMax"] = importReduce<Reduction::Max>;
  map["ReduceMin"] = importReduce<Reduction::Min>;
  map["ReduceProd"] = importReduce<Reduction::Prod>;
  map["ReduceL1"] = importReduce<Reduction::L1>;
  map["ReduceL2"] = importReduce<Reduction::L2>;
  map["ReduceLogSum"] = importReduce<Reduction::LogSum>;
  map["ReduceLogSumExp"] = importReduce<Reduction::LogSumExp>;
  map["ReduceSumSquare"] = importReduce<Reduction::SumSquare>;
  map["ArgMax"] = importArgReduce<ArgMaxOp>;
  map["ArgMin"] = importArgReduce<ArgMinOp>;
  map["TopK"] = importTopK;
  map["Hardmax"] = importHardmax;
  map["LogSoftmax"] = importLogSoftmax;
  map["NegativeLogLikelihoodLoss"] = importNegativeLogLikelihoodLoss;
  map["SoftmaxCrossEntropyLoss"] = importSoftmaxCrossEntropyLoss;
}
