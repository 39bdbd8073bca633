//===- OpsElementwise.cpp - elementwise ONNX ops --------------------------===//
//
// Part of kiln. Handlers for ONNX's elementwise ops: arithmetic,
// activations, comparisons and logic, Where, Cast, Identity/Dropout.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

template <UnaryKind Kind> LogicalResult importUnary(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  FailureOr<TV> r = imp.emitUnary(Kind, **x);
  if (failed(r))
    return failure();
  return imp.setOutput(0, *r);
}

template <BinaryKind Kind> LogicalResult importBinary(GraphImporter &imp) {
  FailureOr<TV *> a = imp.input(0);
  if (failed(a))
    return failure();
  FailureOr<TV *> b = imp.input(1);
  if (failed(b))
    return failure();
  FailureOr<TV> r = imp.emitBinary(Kind, **a, **b);
  if (failed(r))
    return failure();
  return imp.setOutput(0, *r);
}

/// Max, Min, Sum: variadic, folded pairwise left to right.
template <BinaryKind Kind> LogicalResult importVariadic(GraphImporter &imp) {
  if (imp.numInputs() < 1)
    return imp.error() << "needs at least one input";
  FailureOr<TV *> first = imp.input(0);
  if (failed(first))
    return failure();
  TV acc = **first;
  for (int i = 1; i < imp.numInputs(); ++i) {
    FailureOr<TV *> next = imp.input(i);
    if (failed(next))
      return failure();
    FailureOr<TV> r = imp.emitBinary(Kind, acc, **next);
    if (failed(r))
      return failure();
    acc = *r;
  }
  // The first input's cached constant lives in the value table; keep it.
  if (imp.numInputs() == 1)
    return imp.setOutput(0, **first);
  return imp.setOutput(0, acc);
}

LogicalResult importIdentity(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  return imp.setOutput(0, **x);
}

/// OptionalHasElement: kiln values are plain tensors, so an input is always
/// present (true) and a missing one is the empty optional (false).
LogicalResult importOptionalHasElement(GraphImporter &imp) {
  bool has = imp.hasInput(0);
  if (has && failed(imp.input(0)))
    return failure();
  Contents c;
  c.ints.push_back(has ? 1 : 0);
  return imp.setOutput(
      0, imp.makeConst(RankedTensorType::get({}, imp.builder.getI1Type()),
                       std::move(c)));
}

/// OptionalGetElement of a tensor: the tensor itself.
LogicalResult importOptionalGetElement(GraphImporter &imp) {
  if (!imp.hasInput(0))
    return imp.error() << "the optional input is empty";
  return importIdentity(imp);
}

LogicalResult importDropout(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  // opset 12+: training_mode input; a constant true is training.
  if (imp.hasInput(2)) {
    FailureOr<TV *> mode = imp.input(2);
    if (failed(mode))
      return failure();
    if (!(*mode)->hasData())
      return imp.error() << "training_mode must be a compile-time constant";
    if (llvm::any_of((*mode)->data->ints, [](int64_t v) { return v != 0; }))
      return imp.error() << "training_mode=1 is not supported";
  }
  if (imp.opset < 7) {
    FailureOr<int64_t> isTest = imp.intAttr("is_test", 0);
    if (failed(isTest))
      return failure();
  }
  // Inference keeps every element: the mask is all true (bool from opset
  // 10 on, the input's type before).
  if (imp.outputUsed(1)) {
    Type maskElt = imp.opset >= 10 ? Type(imp.builder.getI1Type())
                                   : (*x)->elementType();
    if (failed(imp.setOutput(
            1, imp.makeSplat(RankedTensorType::get((*x)->shape(), maskElt),
                             1.0))))
      return failure();
  }
  return imp.setOutput(0, **x);
}

LogicalResult importWhere(GraphImporter &imp) {
  FailureOr<TV *> c = imp.input(0), a = imp.input(1), b = imp.input(2);
  if (failed(c) || failed(a) || failed(b))
    return failure();
  FailureOr<TV> r = imp.emitWhere(**c, **a, **b);
  if (failed(r))
    return failure();
  return imp.setOutput(0, *r);
}

LogicalResult importCast(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  if (!imp.hasAttr("to"))
    return imp.error() << "missing attribute 'to'";
  FailureOr<int64_t> to = imp.intAttr("to", 0);
  FailureOr<int64_t> saturate = imp.intAttr("saturate", 1);
  FailureOr<std::string> roundMode = imp.stringAttr("round_mode", "up");
  if (failed(to) || failed(saturate) || failed(roundMode))
    return failure();
  Type elt = getElementType(imp.ctx, static_cast<int32_t>(*to));
  if (!elt)
    return imp.error() << "cast to unsupported type "
                       << dataTypeName(static_cast<int32_t>(*to));
  FailureOr<TV> r = imp.emitCast(**x, elt, *saturate != 0, *roundMode);
  if (failed(r))
    return failure();
  if (r->elementType() == (*x)->elementType())
    return imp.setOutput(0, **x);
  return imp.setOutput(0, *r);
}

LogicalResult importLeakyRelu(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<float> alpha = imp.floatAttr("alpha", 0.01f);
  if (failed(x) || failed(alpha))
    return failure();
  FailureOr<Value> v = imp.materialize(**x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = imp.create<LeakyReluOp>(
      (*x)->type, *v, imp.builder.getF32FloatAttr(*alpha));
  if (failed(r))
    return failure();
  return imp.setOutput(0, GraphImporter::fromValue(*r));
}

LogicalResult importGelu(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<std::string> approx = imp.stringAttr("approximate", "none");
  if (failed(x) || failed(approx))
    return failure();
  if (*approx != "none" && *approx != "tanh")
    return imp.error() << "approximate must be \"none\" or \"tanh\", got \""
                       << *approx << "\"";
  FailureOr<Value> v = imp.materialize(**x);
  if (failed(v))
    return failure();
  FailureOr<Value> r =
      imp.create<GeluOp>((*x)->type, *v, imp.builder.getStringAttr(*approx));
  if (failed(r))
    return failure();
  return imp.setOutput(0, GraphImporter::fromValue(*r));
}

/// One scalar bound of Clip from an optional constant input.
FailureOr<std::optional<double>> clipBound(GraphImporter &imp, int i,
                                           StringRef what) {
  if (!imp.hasInput(i))
    return std::optional<double>();
  FailureOr<TV *> t = imp.constInput(i, what);
  if (failed(t))
    return failure();
  const TV &b = **t;
  if (b.type.getNumElements() != 1)
    return imp.error() << what << " must be a scalar, got " << b.type;
  if (b.data->floats.size() == 1)
    return std::optional<double>(b.data->floats[0]);
  return std::optional<double>(static_cast<double>(b.data->ints[0]));
}

LogicalResult importClip(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  Type elt = (*x)->elementType();
  double lo, hi;
  if (isa<FloatType>(elt)) {
    lo = -std::numeric_limits<double>::infinity();
    hi = std::numeric_limits<double>::infinity();
  } else if (auto it = dyn_cast<IntegerType>(elt)) {
    unsigned w = it.getWidth();
    if (it.isUnsigned() || w == 1) {
      lo = 0;
      hi = std::ldexp(1.0, w) - 1;
    } else {
      lo = -std::ldexp(1.0, w - 1);
      hi = std::ldexp(1.0, w - 1) - 1;
    }
  } else {
    return imp.error() << "unsupported element type " << elt;
  }
  if (imp.opset < 11) {
    FailureOr<float> mn = imp.floatAttr("min", -3.4028234663852886e38f);
    FailureOr<float> mx = imp.floatAttr("max", 3.4028234663852886e38f);
    if (failed(mn) || failed(mx))
      return failure();
    lo = *mn;
    hi = *mx;
  } else {
    // Bounds computed at run time: max(x, min) then min(., max).
    auto isDynamic = [&](int i) -> FailureOr<bool> {
      if (!imp.hasInput(i))
        return false;
      FailureOr<TV *> t = imp.input(i);
      if (failed(t))
        return failure();
      return !(*t)->hasData();
    };
    FailureOr<bool> dynMin = isDynamic(1), dynMax = isDynamic(2);
    if (failed(dynMin) || failed(dynMax))
      return failure();
    if (*dynMin || *dynMax) {
      TV acc = **x;
      for (int i : {1, 2}) {
        if (!imp.hasInput(i))
          continue;
        FailureOr<TV *> bound = imp.input(i);
        if (failed(bound))
          return failure();
        if ((*bound)->type.getNumElements() != 1)
          return imp.error() << (i == 1 ? "the min input" : "the max input")
                             << " must be a scalar, got " << (*bound)->type;
        FailureOr<TV> b = imp.emitReshape(**bound, {});
        if (failed(b))
          return failure();
        FailureOr<TV> r = imp.emitBinary(
            i == 1 ? BinaryKind::Max : BinaryKind::Min, acc, *b);
        if (failed(r))
          return failure();
        acc = *r;
      }
      return imp.setOutput(0, acc);
    }
    FailureOr<std::optional<double>> mn = clipBound(imp, 1, "the min input");
    if (failed(mn))
      return failure();
    FailureOr<std::optional<double>> mx = clipBound(imp, 2, "the max input");
    if (failed(mx))
      return failure();
    if (*mn)
      lo = **mn;
    if (*mx)
      hi = **mx;
  }
  // min > max sets every element to max (numpy.clip).
  if (lo > hi)
    lo = hi;
  TV &in = **x;
  if (in.hasData()) {
    Contents c;
    for (double v : in.data->floats)
      c.floats.push_back(std::min(std::max(v, lo), hi));
    for (int64_t v : in.data->ints)
      c.ints.push_back(static_cast<int64_t>(
          std::min(std::max(static_cast<double>(v), lo), hi)));
    return imp.setOutput(0, imp.makeConst(in.type, std::move(c)));
  }
  FailureOr<Value> v = imp.materialize(in);
  if (failed(v))
    return failure();
  FailureOr<Value> r =
      imp.create<ClipOp>(in.type, *v, imp.builder.getF64FloatAttr(lo),
                         imp.builder.getF64FloatAttr(hi));
  if (failed(r))
    return failure();
  return imp.setOutput(0, GraphImporter::fromValue(*r));
}

} // namespace

void mlir::kiln::onnx::registerElementwiseOps(llvm::StringMap<OpHandler> &map) {
  map["Neg"] = importUnary<UnaryKind::Neg>;
  map["Abs"] = importUnary<UnaryKind::Abs>;
  map["Sqrt"] = importUnary<UnaryKind::Sqrt>;
  map["Exp"] = importUnary<UnaryKind::Exp>;
  map["Log"] = importUnary<UnaryKind::Log>;
  map["Erf"] = importUnary<UnaryKind::Erf>;
  map["Tanh"] = importUnary<UnaryKind::Tanh>;
  map["Sigmoid"] = importUnary<UnaryKind::Sigmoid>;
  map["Relu"] = importUnary<UnaryKind::Relu>;
  map["Reciprocal"] = importUnary<UnaryKind::Reciprocal>;
  map["Not"] = importUnary<UnaryKind::Not>;

  map["Add"] = importBinary<BinaryKind::Add>;
  map["Sub"] = importBinary<BinaryKind::Sub>;
  map["Mul"] = importBinary<BinaryKind::Mul>;
  map["Div"] = importBinary<BinaryKind::Div>;
  map["Pow"] = importBinary<BinaryKind::Pow>;
  map["And"] = importBinary<BinaryKind::And>;
  map["Or"] = importBinary<BinaryKind::Or>;
  map["Equal"] = importBinary<BinaryKind::Equal>;
  map["Less"] = importBinary<BinaryKind::Less>;
  map["Greater"] = importBinary<BinaryKind::Greater>;
  map["Max"] = importVariadic<BinaryKind::Max>;
  map["Min"] = importVariadic<BinaryKind::Min>;
  map["Sum"] = importVariadic<BinaryKind::Add>;

  map["Where"] = importWhere;
  map["Cast"] = importCast;
  map["Identity"] = importIdentity;
  map["OptionalHasElement"] = importOptionalHasElement;
  map["OptionalGetElement"] = importOptionalGetElement;
  map["Dropout"] = importDropout;
  map["LeakyRelu"] = importLeakyRelu;
  map["Gelu"] = importGelu;
  map["Clip"] = importClip;
}
