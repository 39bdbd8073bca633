//===- OpsMath.cpp - ONNX activations, math and integer ops ---------------===//
//
// Part of kiln. Handlers for ONNX's activations (Elu, Selu, Celu, HardSigmoid,
// HardSwish, Softplus, Softsign, Mish, PRelu, ThresholdedRelu, Shrink,
// Swish, SwiGLU), Det, ai.onnx.ml Binarizer, ArrayFeatureExtractor and
// TreeEnsemble (trees unfolded into comparisons), float functions (trigonometric, hyperbolic, Floor/Ceil/Round,
// Sign), tests (IsNaN, IsInf, LessOrEqual, GreaterOrEqual), integer ops (Mod,
// BitShift, Bitwise*, Xor), Mean, CastLike and BitCast.
//
// Activations decompose at import into kiln ops when the decomposition is
// what ONNX's own function definition computes (so results match the
// reference); functions without such an expansion get their own kiln ops.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include <algorithm>
#include <functional>
#include <map>
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

/// Evaluates a FailureOr<TV> expression into a new TV named `var`, returning
/// failure from the enclosing function when it failed.
#define KILN_TRY(var, expr)                                                    \
  FailureOr<TV> var##OrFailure = (expr);                                       \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  TV var = std::move(*var##OrFailure)

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// A 0-d constant of element type `elt`.
TV scalar(GraphImporter &imp, Type elt, double v) {
  return imp.makeSplat(RankedTensorType::get({}, elt), v);
}

LogicalResult setResult(GraphImporter &imp, FailureOr<TV> r, int i = 0) {
  if (failed(r))
    return failure();
  return imp.setOutput(i, *r);
}

/// The node's only input, which must have a float element type.
FailureOr<TV *> floatInput(GraphImporter &imp, int i = 0) {
  FailureOr<TV *> x = imp.input(i);
  if (failed(x))
    return failure();
  if (!isa<FloatType>((*x)->elementType()))
    return imp.error() << "expects a float tensor, got " << (*x)->type;
  return x;
}

FailureOr<TV> unary(GraphImporter &imp, UnaryKind kind, TV x) {
  return imp.emitUnary(kind, x);
}
FailureOr<TV> binary(GraphImporter &imp, BinaryKind kind, TV a, TV b) {
  return imp.emitBinary(kind, a, b);
}
FailureOr<TV> mulScalar(GraphImporter &imp, TV x, double c) {
  return binary(imp, BinaryKind::Mul, x, scalar(imp, x.elementType(), c));
}
FailureOr<TV> addScalar(GraphImporter &imp, TV x, double c) {
  return binary(imp, BinaryKind::Add, x, scalar(imp, x.elementType(), c));
}

/// A new kiln op of one operand with the operand's type; folds known float
/// contents through `fold` when given.
template <typename OpTy>
FailureOr<TV> newUnary(GraphImporter &imp, TV x,
                       double (*fold)(double) = nullptr) {
  if (fold && x.hasData() && isa<FloatType>(x.elementType())) {
    Contents c;
    for (double v : x.data->floats)
      c.floats.push_back(roundToFloatType(x.elementType(), fold(v)));
    return imp.makeConst(x.type, std::move(c));
  }
  FailureOr<Value> v = imp.materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = imp.create<OpTy>(x.type, *v);
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// A new broadcasting kiln op of two operands (result type inferred).
template <typename OpTy, typename... Attrs>
FailureOr<TV> newBinary(GraphImporter &imp, TV a, TV b, Attrs &&...attrs) {
  FailureOr<Value> va = imp.materialize(a);
  if (failed(va))
    return failure();
  FailureOr<Value> vb = imp.materialize(b);
  if (failed(vb))
    return failure();
  FailureOr<Value> r =
      imp.create<OpTy>(Type(), *va, *vb, std::forward<Attrs>(attrs)...);
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

/// Elu: x < 0 ? alpha * (exp(x) - 1) : x.
LogicalResult importElu(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.0f);
  if (failed(in) || failed(alpha))
    return failure();
  TV x = **in;
  Type t = x.elementType();
  KILN_TRY(e, unary(imp, UnaryKind::Exp, x));
  KILN_TRY(em1, addScalar(imp, e, -1.0));
  KILN_TRY(neg, mulScalar(imp, em1, *alpha));
  KILN_TRY(isNeg, binary(imp, BinaryKind::Less, x, scalar(imp, t, 0.0)));
  return setResult(imp, imp.emitWhere(isNeg, neg, x));
}

/// Selu: gamma * (x > 0 ? x : alpha * exp(x) - alpha).
LogicalResult importSelu(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.67326319217681884765625f);
  FailureOr<float> gamma = imp.floatAttr("gamma", 1.05070102214813232421875f);
  if (failed(in) || failed(alpha) || failed(gamma))
    return failure();
  TV x = **in;
  Type t = x.elementType();
  KILN_TRY(e, unary(imp, UnaryKind::Exp, x));
  KILN_TRY(ae, mulScalar(imp, e, *alpha));
  KILN_TRY(neg, addScalar(imp, ae, -double(*alpha)));
  KILN_TRY(isPos, binary(imp, BinaryKind::Greater, x, scalar(imp, t, 0.0)));
  KILN_TRY(sel, imp.emitWhere(isPos, x, neg));
  return setResult(imp, mulScalar(imp, sel, *gamma));
}

/// Celu: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
LogicalResult importCelu(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.0f);
  if (failed(in) || failed(alpha))
    return failure();
  if (*alpha == 0.0f)
    return imp.error() << "alpha must not be 0";
  TV x = **in;
  Type t = x.elementType();
  KILN_TRY(scaled, binary(imp, BinaryKind::Div, x, scalar(imp, t, *alpha)));
  KILN_TRY(e, unary(imp, UnaryKind::Exp, scaled));
  KILN_TRY(em1, addScalar(imp, e, -1.0));
  KILN_TRY(neg, mulScalar(imp, em1, *alpha));
  KILN_TRY(lo, binary(imp, BinaryKind::Min, neg, scalar(imp, t, 0.0)));
  KILN_TRY(hi, binary(imp, BinaryKind::Max, x, scalar(imp, t, 0.0)));
  return setResult(imp, binary(imp, BinaryKind::Add, hi, lo));
}

/// ThresholdedRelu: x > alpha ? x : 0.
LogicalResult importThresholdedRelu(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.0f);
  if (failed(in) || failed(alpha))
    return failure();
  TV x = **in;
  Type t = x.elementType();
  KILN_TRY(above, binary(imp, BinaryKind::Greater, x, scalar(imp, t, *alpha)));
  TV zero = scalar(imp, t, 0.0);
  return setResult(imp, imp.emitWhere(above, x, zero));
}

/// clip(alpha * x + beta, 0, 1) as a kiln.clip (or folded).
FailureOr<TV> hardSigmoid(GraphImporter &imp, TV x, double alpha,
                          double beta) {
  KILN_TRY(ax, mulScalar(imp, x, alpha));
  KILN_TRY(axb, addScalar(imp, ax, beta));
  if (axb.hasData()) {
    KILN_TRY(lo, binary(imp, BinaryKind::Max, axb,
                        scalar(imp, x.elementType(), 0.0)));
    return binary(imp, BinaryKind::Min, lo, scalar(imp, x.elementType(), 1.0));
  }
  FailureOr<Value> v = imp.materialize(axb);
  if (failed(v))
    return failure();
  FailureOr<Value> r = imp.create<ClipOp>(
      axb.type, *v, imp.builder.getF64FloatAttr(0.0),
      imp.builder.getF64FloatAttr(1.0));
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

LogicalResult importHardSigmoid(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  FailureOr<float> alpha = imp.floatAttr("alpha", 0.2f);
  FailureOr<float> beta = imp.floatAttr("beta", 0.5f);
  if (failed(in) || failed(alpha) || failed(beta))
    return failure();
  return setResult(imp, hardSigmoid(imp, **in, *alpha, *beta));
}

/// HardSwish: x * hardsigmoid(x, 1/6, 0.5).
LogicalResult importHardSwish(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  if (failed(in))
    return failure();
  TV x = **in;
  KILN_TRY(hs, hardSigmoid(imp, x, 1.0 / 6.0, 0.5));
  return setResult(imp, binary(imp, BinaryKind::Mul, x, hs));
}

/// log(exp(x) + 1), as ONNX's Softplus function body.
FailureOr<TV> softplus(GraphImporter &imp, TV x) {
  KILN_TRY(e, unary(imp, UnaryKind::Exp, x));
  KILN_TRY(e1, addScalar(imp, e, 1.0));
  return unary(imp, UnaryKind::Log, e1);
}

LogicalResult importSoftplus(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  if (failed(in))
    return failure();
  return setResult(imp, softplus(imp, **in));
}

/// Softsign: x / (1 + |x|).
LogicalResult importSoftsign(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  if (failed(in))
    return failure();
  TV x = **in;
  KILN_TRY(a, unary(imp, UnaryKind::Abs, x));
  KILN_TRY(a1, addScalar(imp, a, 1.0));
  return setResult(imp, binary(imp, BinaryKind::Div, x, a1));
}

/// Mish: x * tanh(softplus(x)).
LogicalResult importMish(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  if (failed(in))
    return failure();
  TV x = **in;
  KILN_TRY(sp, softplus(imp, x));
  KILN_TRY(t, unary(imp, UnaryKind::Tanh, sp));
  return setResult(imp, binary(imp, BinaryKind::Mul, x, t));
}

/// Swish: x * sigmoid(alpha * x).
LogicalResult importSwish(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.0f);
  if (failed(in) || failed(alpha))
    return failure();
  TV x = **in;
  TV ax = x;
  if (*alpha != 1.0f) {
    FailureOr<TV> r = mulScalar(imp, x, *alpha);
    if (failed(r))
      return failure();
    ax = *r;
  }
  KILN_TRY(s, unary(imp, UnaryKind::Sigmoid, ax));
  return setResult(imp, binary(imp, BinaryKind::Mul, x, s));
}

/// SwiGLU (opset 28): a * sigmoid(alpha * a) * b, a and b of one shape.
LogicalResult importSwiGLU(GraphImporter &imp) {
  FailureOr<TV *> a = floatInput(imp, 0), b = floatInput(imp, 1);
  FailureOr<float> alpha = imp.floatAttr("alpha", 1.0f);
  if (failed(a) || failed(b) || failed(alpha))
    return failure();
  if ((*a)->type != (*b)->type)
    return imp.error() << "A and B must have one type and shape, got "
                       << (*a)->type << " and " << (*b)->type;
  TV x = **a;
  TV ax = x;
  if (*alpha != 1.0f) {
    KILN_TRY(r, mulScalar(imp, x, *alpha));
    ax = r;
  }
  KILN_TRY(s, unary(imp, UnaryKind::Sigmoid, ax));
  KILN_TRY(swish, binary(imp, BinaryKind::Mul, x, s));
  return setResult(imp, binary(imp, BinaryKind::Mul, swish, **b));
}

/// Det of [..., n, n] matrices, n <= 4: the Leibniz sum over permutations
/// of products of [..., 1, 1] element slices (exact for the small matrices
/// this covers; larger ones need a factorization kiln lacks).
LogicalResult importDet(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  if (failed(in))
    return failure();
  TV x = **in;
  int64_t rank = x.rank();
  if (rank < 2 || x.shape()[rank - 1] != x.shape()[rank - 2])
    return imp.error() << "input must be [..., n, n], got " << x.type;
  int64_t n = x.shape()[rank - 1];
  if (n > 4)
    return imp.error() << "matrices larger than 4x4 are not supported (got "
                       << n << "x" << n << ")";
  SmallVector<int64_t> outShape(x.shape().drop_back(2));
  Type elt = x.elementType();
  if (n == 0)
    return imp.setOutput(
        0, imp.makeSplat(RankedTensorType::get(outShape, elt), 1.0));
  // Element (i, j) as a [...] tensor.
  SmallVector<TV> el(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      SmallVector<int64_t> starts(rank, 0), sizes(x.shape()),
          steps(rank, 1);
      starts[rank - 2] = i, starts[rank - 1] = j;
      sizes[rank - 2] = 1, sizes[rank - 1] = 1;
      KILN_TRY(s, imp.emitSlice(x, starts, sizes, steps));
      KILN_TRY(r, imp.emitReshape(s, outShape));
      el[i * n + j] = r;
    }
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < n; ++i)
    perm.push_back(i);
  std::optional<TV> pos, neg;
  do {
    int64_t inversions = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j)
        inversions += perm[i] > perm[j];
    TV term = el[perm[0]];
    for (int64_t i = 1; i < n; ++i) {
      KILN_TRY(m, binary(imp, BinaryKind::Mul, term, el[i * n + perm[i]]));
      term = m;
    }
    std::optional<TV> &acc = (inversions & 1) ? neg : pos;
    if (!acc) {
      acc = term;
      continue;
    }
    KILN_TRY(sum, binary(imp, BinaryKind::Add, *acc, term));
    acc = sum;
  } while (std::next_permutation(perm.begin(), perm.end()));
  if (!neg)
    return imp.setOutput(0, *pos);
  return setResult(imp, binary(imp, BinaryKind::Sub, *pos, *neg));
}

/// ai.onnx.ml Binarizer: x > threshold ? 1 : 0 in x's type.
LogicalResult importBinarizer(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0);
  FailureOr<float> threshold = imp.floatAttr("threshold", 0.0f);
  if (failed(in) || failed(threshold))
    return failure();
  TV x = **in;
  Type t = x.elementType();
  if (t.isInteger(1) || !isa<FloatType, IntegerType>(t))
    return imp.error() << "expects a numeric tensor, got " << x.type;
  KILN_TRY(gt, binary(imp, BinaryKind::Greater, x, scalar(imp, t, *threshold)));
  return setResult(imp, imp.emitCast(gt, t));
}

/// ai.onnx.ml ArrayFeatureExtractor: x[..., indices] along the last axis,
/// indices flattened; a 1-D x gives one row ([1, k]), as ONNX Runtime.
LogicalResult importArrayFeatureExtractor(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0), idxIn = imp.input(1);
  if (failed(in) || failed(idxIn))
    return failure();
  TV x = **in, idx = **idxIn;
  if (x.rank() < 1)
    return imp.error() << "input must have rank >= 1, got " << x.type;
  if (!idx.elementType().isSignlessInteger(64) &&
      !idx.elementType().isSignlessInteger(32))
    return imp.error() << "indices must be int64 or int32, got " << idx.type;
  int64_t k = idx.type.getNumElements();
  KILN_TRY(flat, imp.emitReshape(idx, {k}));
  KILN_TRY(g, imp.emitGather(x, flat, x.rank() - 1));
  if (x.rank() == 1)
    return setResult(imp, imp.emitReshape(g, {1, k}));
  return imp.setOutput(0, g);
}

/// A tensor attribute's contents (as doubles), or an error.
FailureOr<SmallVector<double>> tensorAttrValues(GraphImporter &imp,
                                                StringRef name,
                                                bool required) {
  const ::onnx::AttributeProto *a = imp.getAttr(name);
  if (!a) {
    if (required)
      return imp.error() << "missing attribute '" << name << "'";
    return SmallVector<double>();
  }
  if (!a->has_t())
    return imp.error() << "attribute '" << name << "' must be a tensor";
  FailureOr<TV> tv =
      decodeTensor(imp.ctx, a->t(), imp.getModelDir(), imp.getDiagLoc(),
                   "attribute '" + name + "'", /*forceContents=*/true);
  if (failed(tv))
    return failure();
  if (!tv->data)
    return imp.error() << "attribute '" << name << "' has no readable data";
  if (!tv->data->floats.empty())
    return SmallVector<double>(tv->data->floats);
  SmallVector<double> v;
  for (int64_t i : tv->data->ints)
    v.push_back(double(i));
  return v;
}

/// ai.onnx.ml TreeEnsemble (opset 5): every tree is unfolded at import.
/// Each node's test is a comparison of one feature column (NaN taking the
/// true branch when missing values track true); each leaf is reached where
/// the AND of the tests along its path holds, and contributes its weight to
/// its target (SUM, AVERAGE over trees, MIN, MAX). post_transform NONE.
LogicalResult importTreeEnsemble(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0);
  if (failed(in))
    return failure();
  TV x = **in;
  Type elt = x.elementType();
  if (!isa<FloatType>(elt) || x.rank() != 2)
    return imp.error() << "X must be a 2-D float tensor, got " << x.type;
  int64_t n = x.shape()[0], numFeatures = x.shape()[1];
  auto ints = [&](StringRef name) { return imp.intsAttr(name); };
  FailureOr<SmallVector<int64_t>> featureIds = ints("nodes_featureids"),
                                  trueIds = ints("nodes_truenodeids"),
                                  falseIds = ints("nodes_falsenodeids"),
                                  trueLeafs = ints("nodes_trueleafs"),
                                  falseLeafs = ints("nodes_falseleafs"),
                                  targetIds = ints("leaf_targetids"),
                                  roots = ints("tree_roots"),
                                  tracks = ints(
                                      "nodes_missing_value_tracks_true");
  FailureOr<int64_t> nTargets = imp.intAttr("n_targets", 0);
  FailureOr<int64_t> aggregate = imp.intAttr("aggregate_function", 1);
  FailureOr<int64_t> post = imp.intAttr("post_transform", 0);
  if (failed(featureIds) || failed(trueIds) || failed(falseIds) ||
      failed(trueLeafs) || failed(falseLeafs) || failed(targetIds) ||
      failed(roots) || failed(tracks) || failed(nTargets) ||
      failed(aggregate) || failed(post))
    return failure();
  FailureOr<SmallVector<double>> splits =
      tensorAttrValues(imp, "nodes_splits", true);
  FailureOr<SmallVector<double>> modes =
      tensorAttrValues(imp, "nodes_modes", true);
  FailureOr<SmallVector<double>> weights =
      tensorAttrValues(imp, "leaf_weights", true);
  FailureOr<SmallVector<double>> members =
      tensorAttrValues(imp, "membership_values", false);
  if (failed(splits) || failed(modes) || failed(weights) || failed(members))
    return failure();
  if (*post != 0)
    return imp.error() << "post_transform " << *post
                       << " is not supported (only NONE)";
  if (*aggregate < 0 || *aggregate > 3)
    return imp.error() << "aggregate_function " << *aggregate
                       << " is not supported";
  size_t numNodes = featureIds->size();
  if (trueIds->size() != numNodes || falseIds->size() != numNodes ||
      trueLeafs->size() != numNodes || falseLeafs->size() != numNodes ||
      splits->size() != numNodes || modes->size() != numNodes ||
      (!tracks->empty() && tracks->size() != numNodes))
    return imp.error() << "the nodes_* attributes differ in length";
  if (targetIds->size() != weights->size())
    return imp.error() << "leaf_targetids and leaf_weights differ in length";
  if (*nTargets < 1)
    return imp.error() << "n_targets must be positive";
  // Set members per MEMBER node, in node order (NaN-separated).
  SmallVector<SmallVector<double>> memberSets(numNodes);
  {
    size_t pos = 0;
    for (size_t i = 0; i < numNodes; ++i) {
      if ((*modes)[i] != 6)
        continue;
      while (pos < members->size() && !std::isnan((*members)[pos]))
        memberSets[i].push_back((*members)[pos++]);
      if (pos >= members->size())
        return imp.error() << "membership_values has no set for node " << i;
      ++pos;
    }
  }
  std::map<int64_t, TV> columns;
  auto column = [&](int64_t f) -> FailureOr<TV> {
    if (f < 0 || f >= numFeatures)
      return imp.error() << "feature id " << f << " is out of range";
    auto it = columns.find(f);
    if (it != columns.end())
      return it->second;
    KILN_TRY(s, imp.emitSlice(x, {0, f}, {n, 1}, {1, 1}));
    KILN_TRY(r, imp.emitReshape(s, {n}));
    columns.emplace(f, r);
    return r;
  };
  auto test = [&](size_t i) -> FailureOr<TV> {
    KILN_TRY(col, column((*featureIds)[i]));
    TV split = scalar(imp, elt, (*splits)[i]);
    int mode = static_cast<int>((*modes)[i]);
    std::optional<TV> c;
    switch (mode) {
    case 0: { // LEQ: not (x > s)
      KILN_TRY(g, binary(imp, BinaryKind::Greater, col, split));
      KILN_TRY(ng, unary(imp, UnaryKind::Not, g));
      KILN_TRY(nan, binary(imp, BinaryKind::Equal, col, col));
      KILN_TRY(r, binary(imp, BinaryKind::And, ng, nan));
      c = r;
      break;
    }
    case 1: {
      KILN_TRY(r, binary(imp, BinaryKind::Less, col, split));
      c = r;
      break;
    }
    case 2: { // GTE: not (x < s), x not NaN
      KILN_TRY(l, binary(imp, BinaryKind::Less, col, split));
      KILN_TRY(nl, unary(imp, UnaryKind::Not, l));
      KILN_TRY(nan, binary(imp, BinaryKind::Equal, col, col));
      KILN_TRY(r, binary(imp, BinaryKind::And, nl, nan));
      c = r;
      break;
    }
    case 3: {
      KILN_TRY(r, binary(imp, BinaryKind::Greater, col, split));
      c = r;
      break;
    }
    case 4: {
      KILN_TRY(r, binary(imp, BinaryKind::Equal, col, split));
      c = r;
      break;
    }
    case 5: {
      KILN_TRY(e, binary(imp, BinaryKind::Equal, col, split));
      KILN_TRY(r, unary(imp, UnaryKind::Not, e));
      c = r;
      break;
    }
    case 6: {
      for (double m : memberSets[i]) {
        KILN_TRY(e, binary(imp, BinaryKind::Equal, col, scalar(imp, elt, m)));
        if (!c) {
          c = e;
          continue;
        }
        KILN_TRY(o, binary(imp, BinaryKind::Or, *c, e));
        c = o;
      }
      if (!c)
        c = imp.makeSplat(RankedTensorType::get({n}, imp.builder.getI1Type()),
                          0.0);
      break;
    }
    default:
      return imp.error() << "node " << i << " has unknown mode " << mode;
    }
    if (!tracks->empty() && (*tracks)[i]) {
      KILN_TRY(eq, binary(imp, BinaryKind::Equal, col, col));
      KILN_TRY(isNan, unary(imp, UnaryKind::Not, eq));
      KILN_TRY(r, binary(imp, BinaryKind::Or, *c, isNan));
      c = r;
    }
    return *c;
  };
  // Per tree: for each target, the weight sum of the reached leaves with
  // that target and whether one was reached.
  struct Contribution {
    std::optional<TV> value, reached;
  };
  SmallVector<SmallVector<Contribution>> perTree;
  TV zero = scalar(imp, elt, 0.0);
  int64_t steps = 0;
  for (int64_t root : *roots) {
    if (root < 0 || static_cast<size_t>(root) >= numNodes)
      return imp.error() << "tree root " << root << " is out of range";
    SmallVector<Contribution> contrib(*nTargets);
    auto addLeaf = [&](int64_t leaf,
                       std::optional<TV> path) -> LogicalResult {
      if (leaf < 0 || static_cast<size_t>(leaf) >= weights->size())
        return imp.error() << "leaf " << leaf << " is out of range";
      int64_t t = (*targetIds)[leaf];
      if (t < 0 || t >= *nTargets)
        return imp.error() << "leaf target " << t << " is out of range";
      TV w = scalar(imp, elt, (*weights)[leaf]);
      TV reached = path ? *path
                        : imp.makeSplat(RankedTensorType::get(
                                            {n}, imp.builder.getI1Type()),
                                        1.0);
      FailureOr<TV> v = imp.emitWhere(reached, w, zero);
      if (failed(v))
        return failure();
      Contribution &c = contrib[t];
      if (!c.value) {
        c.value = *v;
        c.reached = reached;
        return success();
      }
      FailureOr<TV> sum = binary(imp, BinaryKind::Add, *c.value, *v);
      FailureOr<TV> any = binary(imp, BinaryKind::Or, *c.reached, reached);
      if (failed(sum) || failed(any))
        return failure();
      c.value = *sum;
      c.reached = *any;
      return success();
    };
    std::function<LogicalResult(int64_t, bool, std::optional<TV>, int)> walk =
        [&](int64_t id, bool isLeaf, std::optional<TV> path,
            int depth) -> LogicalResult {
      if (isLeaf)
        return addLeaf(id, path);
      if (id < 0 || static_cast<size_t>(id) >= numNodes)
        return imp.error() << "node " << id << " is out of range";
      if (depth > 4096 || ++steps > (int64_t(1) << 20))
        return imp.error() << "the trees are too large to unfold";
      FailureOr<TV> c = test(id);
      if (failed(c))
        return failure();
      FailureOr<TV> nc = unary(imp, UnaryKind::Not, *c);
      if (failed(nc))
        return failure();
      auto extend = [&](TV cond) -> FailureOr<TV> {
        if (!path)
          return cond;
        return binary(imp, BinaryKind::And, *path, cond);
      };
      FailureOr<TV> tp = extend(*c), fp = extend(*nc);
      if (failed(tp) || failed(fp))
        return failure();
      if (failed(walk((*trueIds)[id], (*trueLeafs)[id] != 0, *tp, depth + 1)))
        return failure();
      return walk((*falseIds)[id], (*falseLeafs)[id] != 0, *fp, depth + 1);
    };
    bool rootIsLeaf = (*trueLeafs)[root] && (*falseLeafs)[root] &&
                      (*trueIds)[root] == (*falseIds)[root];
    if (failed(rootIsLeaf ? addLeaf((*trueIds)[root], std::nullopt)
                          : walk(root, false, std::nullopt, 0)))
      return failure();
    perTree.push_back(std::move(contrib));
  }
  // Aggregate over trees per target.
  double init = 0.0;
  if (*aggregate == 2)
    init = APFloat::getLargest(cast<FloatType>(elt).getFloatSemantics())
               .convertToDouble();
  if (*aggregate == 3)
    init = -APFloat::getLargest(cast<FloatType>(elt).getFloatSemantics())
                .convertToDouble();
  TV initTV = imp.makeSplat(RankedTensorType::get({n, 1}, elt), init);
  SmallVector<TV> cols;
  for (int64_t t = 0; t < *nTargets; ++t) {
    std::optional<TV> acc;
    for (SmallVector<Contribution> &tree : perTree) {
      Contribution &c = tree[t];
      if (!c.value)
        continue;
      TV v = *c.value;
      if (*aggregate == 0) {
        KILN_TRY(d, mulScalar(imp, v, 1.0 / double(perTree.size())));
        v = d;
      }
      if (*aggregate >= 2) {
        // Trees that reach no leaf of this target leave it alone.
        TV initScalar = scalar(imp, elt, init);
        KILN_TRY(m, imp.emitWhere(*c.reached, v, initScalar));
        v = m;
      }
      if (!acc) {
        if (*aggregate >= 2) {
          TV initScalar = scalar(imp, elt, init);
          KILN_TRY(m, binary(imp, *aggregate == 2 ? BinaryKind::Min
                                                  : BinaryKind::Max,
                             v, initScalar));
          v = m;
        }
        acc = v;
        continue;
      }
      BinaryKind k = *aggregate == 2   ? BinaryKind::Min
                     : *aggregate == 3 ? BinaryKind::Max
                                       : BinaryKind::Add;
      KILN_TRY(r, binary(imp, k, *acc, v));
      acc = r;
    }
    if (!acc) {
      cols.push_back(initTV);
      continue;
    }
    KILN_TRY(r, imp.emitReshape(*acc, {n, 1}));
    cols.push_back(r);
  }
  SmallVector<TV *> ptrs;
  for (TV &c : cols)
    ptrs.push_back(&c);
  if (ptrs.size() == 1)
    return imp.setOutput(0, cols.front());
  return setResult(imp, imp.emitConcat(ptrs, 1));
}

/// PRelu: x < 0 ? slope * x : x, with the slope broadcast to x.
LogicalResult importPRelu(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0), slopeIn = imp.input(1);
  if (failed(in) || failed(slopeIn))
    return failure();
  TV x = **in, slope = **slopeIn;
  Type t = x.elementType();
  if (slope.elementType() != t)
    return imp.error() << "slope type " << slope.type
                       << " differs from the input's " << x.type;
  KILN_TRY(scaled, binary(imp, BinaryKind::Mul, x, slope));
  if (scaled.shape() != x.shape())
    return imp.error() << "slope of shape " << shapeText(slope.shape())
                       << " does not broadcast to the input's shape "
                       << shapeText(x.shape());
  KILN_TRY(isNeg, binary(imp, BinaryKind::Less, x, scalar(imp, t, 0.0)));
  return setResult(imp, imp.emitWhere(isNeg, scaled, x));
}

/// Shrink: x < -lambd ? x + bias : (x > lambd ? x - bias : 0).
LogicalResult importShrink(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0);
  FailureOr<float> bias = imp.floatAttr("bias", 0.0f);
  FailureOr<float> lambd = imp.floatAttr("lambd", 0.5f);
  if (failed(in) || failed(bias) || failed(lambd))
    return failure();
  TV x = **in;
  Type t = x.elementType();
  if (t.isInteger(1) || !isa<FloatType, IntegerType>(t))
    return imp.error() << "expects a numeric tensor, got " << x.type;
  KILN_TRY(below, binary(imp, BinaryKind::Less, x, scalar(imp, t, -*lambd)));
  KILN_TRY(above, binary(imp, BinaryKind::Greater, x, scalar(imp, t, *lambd)));
  KILN_TRY(plus, addScalar(imp, x, *bias));
  KILN_TRY(minus, binary(imp, BinaryKind::Sub, x, scalar(imp, t, *bias)));
  TV zero = scalar(imp, t, 0.0);
  KILN_TRY(upper, imp.emitWhere(above, minus, zero));
  return setResult(imp, imp.emitWhere(below, plus, upper));
}

//===----------------------------------------------------------------------===//
// Float functions
//===----------------------------------------------------------------------===//

template <typename OpTy, double (*Fold)(double)>
LogicalResult importFloatUnary(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  if (failed(in))
    return failure();
  return setResult(imp, newUnary<OpTy>(imp, **in, Fold));
}

double foldSin(double v) { return std::sin(v); }
double foldCos(double v) { return std::cos(v); }
double foldTan(double v) { return std::tan(v); }
double foldAsin(double v) { return std::asin(v); }
double foldAcos(double v) { return std::acos(v); }
double foldAtan(double v) { return std::atan(v); }
double foldSinh(double v) { return std::sinh(v); }
double foldCosh(double v) { return std::cosh(v); }
double foldAsinh(double v) { return std::asinh(v); }
double foldAcosh(double v) { return std::acosh(v); }
double foldAtanh(double v) { return std::atanh(v); }
double foldFloor(double v) { return std::floor(v); }
double foldCeil(double v) { return std::ceil(v); }
double foldRound(double v) { return std::nearbyint(v); } // ties to even

LogicalResult importSign(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0);
  if (failed(in))
    return failure();
  TV &x = **in;
  if (x.hasData()) {
    Contents c;
    for (double v : x.data->floats)
      c.floats.push_back(v > 0 ? 1.0 : (v < 0 ? -1.0 : v));
    for (int64_t v : x.data->ints)
      c.ints.push_back(x.elementType().isUnsignedInteger()
                           ? (v != 0)
                           : (v > 0 ? 1 : (v < 0 ? -1 : 0)));
    return imp.setOutput(0, imp.makeConst(x.type, std::move(c)));
  }
  return setResult(imp, newUnary<SignOp>(imp, x));
}

/// IsNaN: x != x.
LogicalResult importIsNaN(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  if (failed(in))
    return failure();
  TV x = **in;
  KILN_TRY(eq, binary(imp, BinaryKind::Equal, x, x));
  return setResult(imp, unary(imp, UnaryKind::Not, eq));
}

/// IsInf: x == +inf and/or x == -inf.
LogicalResult importIsInf(GraphImporter &imp) {
  FailureOr<TV *> in = floatInput(imp);
  FailureOr<int64_t> pos = imp.intAttr("detect_positive", 1);
  FailureOr<int64_t> neg = imp.intAttr("detect_negative", 1);
  if (failed(in) || failed(pos) || failed(neg))
    return failure();
  TV x = **in;
  Type t = x.elementType();
  double inf = std::numeric_limits<double>::infinity();
  if (!*pos && !*neg) {
    TV f = imp.makeSplat(RankedTensorType::get(x.shape(), imp.builder.getI1Type()),
                         0.0);
    return imp.setOutput(0, f);
  }
  if (*pos && *neg) {
    KILN_TRY(a, unary(imp, UnaryKind::Abs, x));
    return setResult(imp, binary(imp, BinaryKind::Equal, a, scalar(imp, t, inf)));
  }
  return setResult(imp, binary(imp, BinaryKind::Equal, x,
                               scalar(imp, t, *pos ? inf : -inf)));
}

//===----------------------------------------------------------------------===//
// Comparisons, logic and integer arithmetic
//===----------------------------------------------------------------------===//

/// LessOrEqual / GreaterOrEqual: (a < b) or (a == b), exact for NaN.
template <BinaryKind Strict> LogicalResult importOrEqual(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1);
  if (failed(a) || failed(b))
    return failure();
  KILN_TRY(strict, binary(imp, Strict, **a, **b));
  KILN_TRY(eq, binary(imp, BinaryKind::Equal, **a, **b));
  return setResult(imp, binary(imp, BinaryKind::Or, strict, eq));
}

/// Mean: the sum of all inputs (broadcast) divided by their count.
LogicalResult importMean(GraphImporter &imp) {
  if (imp.numInputs() < 1)
    return imp.error() << "needs at least one input";
  FailureOr<TV *> first = imp.input(0);
  if (failed(first))
    return failure();
  TV acc = **first;
  if (!isa<FloatType>(acc.elementType()))
    return imp.error() << "expects float tensors, got " << acc.type;
  for (int i = 1; i < imp.numInputs(); ++i) {
    FailureOr<TV *> next = imp.input(i);
    if (failed(next))
      return failure();
    KILN_TRY(r, binary(imp, BinaryKind::Add, acc, **next));
    acc = r;
  }
  if (imp.numInputs() == 1)
    return imp.setOutput(0, **first);
  return setResult(imp, binary(imp, BinaryKind::Div, acc,
                               scalar(imp, acc.elementType(),
                                      double(imp.numInputs()))));
}

/// Integer operands of the same type (the ONNX integer-only ops).
LogicalResult checkIntegerOperands(GraphImporter &imp, const TV &a,
                                   const TV &b, bool allowBool) {
  Type t = a.elementType();
  if (!isa<IntegerType>(t) || (!allowBool && t.isInteger(1)))
    return imp.error() << "expects " << (allowBool ? "integer or bool" : "integer")
                       << " tensors, got " << a.type;
  if (b.elementType() != t)
    return imp.error() << "operand element types differ: " << a.type << " and "
                       << b.type;
  return success();
}

LogicalResult importMod(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1);
  FailureOr<int64_t> fmod = imp.intAttr("fmod", 0);
  if (failed(a) || failed(b) || failed(fmod))
    return failure();
  Type t = (*a)->elementType();
  if ((*b)->elementType() != t)
    return imp.error() << "operand element types differ: " << (*a)->type
                       << " and " << (*b)->type;
  if (t.isInteger(1) || !isa<FloatType, IntegerType>(t))
    return imp.error() << "expects numeric tensors, got " << (*a)->type;
  // emitBinary folds known operands (shape arithmetic in expanded
  // functions: Attention's head-count checks).
  FailureOr<TV> r = imp.emitBinary(*fmod ? BinaryKind::FMod : BinaryKind::Mod,
                                   **a, **b);
  if (failed(r))
    return failure();
  return imp.setOutput(0, *r);
}

LogicalResult importBitShift(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1);
  FailureOr<std::string> dir = imp.stringAttr("direction", "");
  if (failed(a) || failed(b) || failed(dir))
    return failure();
  if (*dir != "LEFT" && *dir != "RIGHT")
    return imp.error() << "direction must be \"LEFT\" or \"RIGHT\", got \""
                       << *dir << "\"";
  if (failed(checkIntegerOperands(imp, **a, **b, /*allowBool=*/false)))
    return failure();
  return setResult(imp, newBinary<BitShiftOp>(
                            imp, **a, **b,
                            imp.builder.getStringAttr(*dir == "LEFT" ? "left"
                                                                     : "right")));
}

/// BitwiseAnd/Or/Xor and Xor: the kiln ops are bitwise (logical on i1).
template <typename OpTy, bool BoolOnly>
LogicalResult importBitwise(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0), b = imp.input(1);
  if (failed(a) || failed(b))
    return failure();
  if (BoolOnly && !(*a)->elementType().isInteger(1))
    return imp.error() << "expects bool tensors, got " << (*a)->type;
  if (failed(checkIntegerOperands(imp, **a, **b, /*allowBool=*/BoolOnly)))
    return failure();
  return setResult(imp, newBinary<OpTy>(imp, **a, **b));
}

/// BitwiseNot: x xor all-ones.
LogicalResult importBitwiseNot(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0);
  if (failed(a))
    return failure();
  TV x = **a;
  if (failed(checkIntegerOperands(imp, x, x, /*allowBool=*/false)))
    return failure();
  return setResult(imp,
                   newBinary<XorOp>(imp, x, scalar(imp, x.elementType(), -1.0)));
}

LogicalResult importCastLike(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), like = imp.input(1);
  FailureOr<int64_t> saturate = imp.intAttr("saturate", 1);
  FailureOr<std::string> roundMode = imp.stringAttr("round_mode", "up");
  if (failed(x) || failed(like) || failed(saturate) || failed(roundMode))
    return failure();
  FailureOr<TV> r = imp.emitCast(**x, (*like)->elementType(), *saturate != 0,
                                 *roundMode);
  if (failed(r))
    return failure();
  if (r->elementType() == (*x)->elementType())
    return imp.setOutput(0, **x);
  return imp.setOutput(0, *r);
}

/// BitCast: the same bits as another type of the same size.
LogicalResult importBitCast(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> to = imp.intAttr("to", 0);
  if (failed(x) || failed(to))
    return failure();
  if (!imp.hasAttr("to"))
    return imp.error() << "missing attribute 'to'";
  Type elt = getElementType(imp.ctx, static_cast<int32_t>(*to));
  if (!elt)
    return imp.error() << "bitcast to unsupported type "
                       << dataTypeName(static_cast<int32_t>(*to));
  TV &in = **x;
  if (elt == in.elementType())
    return imp.setOutput(0, in);
  FailureOr<Value> v = imp.materialize(in);
  if (failed(v))
    return failure();
  return setResult(imp, [&]() -> FailureOr<TV> {
    FailureOr<Value> r = imp.create<BitcastOp>(
        RankedTensorType::get(in.shape(), elt), *v);
    if (failed(r))
      return failure();
    return GraphImporter::fromValue(*r);
  }());
}

} // namespace

void mlir::kiln::onnx::registerMathOps(llvm::StringMap<OpHandler> &map) {
  map["Elu"] = importElu;
  map["Selu"] = importSelu;
  map["Celu"] = importCelu;
  map["ThresholdedRelu"] = importThresholdedRelu;
  map["HardSigmoid"] = importHardSigmoid;
  map["HardSwish"] = importHardSwish;
  map["Softplus"] = importSoftplus;
  map["Softsign"] = importSoftsign;
  map["Mish"] = importMish;
  map["Swish"] = importSwish;
  map["SwiGLU"] = importSwiGLU;
  map["Det"] = importDet;
  map["ai.onnx.ml.Binarizer"] = importBinarizer;
  map["ai.onnx.ml.ArrayFeatureExtractor"] = importArrayFeatureExtractor;
  map["ai.onnx.ml.TreeEnsemble"] = importTreeEnsemble;
  map["PRelu"] = importPRelu;
  map["Shrink"] = importShrink;

  map["Sin"] = importFloatUnary<SinOp, foldSin>;
  map["Cos"] = importFloatUnary<CosOp, foldCos>;
  map["Tan"] = importFloatUnary<TanOp, foldTan>;
  map["Asin"] = importFloatUnary<AsinOp, foldAsin>;
  map["Acos"] = importFloatUnary<AcosOp, foldAcos>;
  map["Atan"] = importFloatUnary<AtanOp, foldAtan>;
  map["Sinh"] = importFloatUnary<SinhOp, foldSinh>;
  map["Cosh"] = importFloatUnary<CoshOp, foldCosh>;
  map["Asinh"] = importFloatUnary<AsinhOp, foldAsinh>;
  map["Acosh"] = importFloatUnary<AcoshOp, foldAcosh>;
  map["Atanh"] = importFloatUnary<AtanhOp, foldAtanh>;
  map["Floor"] = importFloatUnary<FloorOp, foldFloor>;
  map["Ceil"] = importFloatUnary<CeilOp, foldCeil>;
  map["Round"] = importFloatUnary<RoundOp, foldRound>;
  map["Sign"] = importSign;
  map["IsNaN"] = importIsNaN;
  map["IsInf"] = importIsInf;

  map["LessOrEqual"] = importOrEqual<BinaryKind::Less>;
  map["GreaterOrEqual"] = importOrEqual<BinaryKind::Greater>;
  map["Mean"] = importMean;
  map["Mod"] = importMod;
  map["BitShift"] = importBitShift;
  map["BitwiseAnd"] = importBitwise<AndOp, false>;
  map["BitwiseOr"] = importBitwise<OrOp, false>;
  map["BitwiseXor"] = importBitwise<XorOp, false>;
  map["BitwiseNot"] = importBitwiseNot;
  map["Xor"] = importBitwise<XorOp, true>;
  map["CastLike"] = importCastLike;
  map["BitCast"] = importBitCast;
}
