//===- OpsShape.cpp - shape and data-movement ONNX ops --------------------===//
//
// Part of kiln. Handlers for Shape, Size, Constant, ConstantOfShape, Range,
// Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Slice, Split,
// Gather and Expand. Shapes, axes and indices are read from constants in
// the opset's form (attribute or input); on known data the helpers fold.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "llvm/ADT/SmallSet.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

RankedTensorType i64Vector(GraphImporter &imp, int64_t n) {
  return RankedTensorType::get({n}, imp.builder.getI64Type());
}

/// Axes from the attribute (before `inputSince`) or from input `index`.
FailureOr<SmallVector<int64_t>>
axesOperand(GraphImporter &imp, int64_t inputSince, int index, bool &present) {
  present = false;
  if (imp.opset < inputSince) {
    present = imp.hasAttr("axes");
    return imp.intsAttr("axes");
  }
  if (!imp.hasInput(index))
    return SmallVector<int64_t>();
  present = true;
  FailureOr<TV *> t = imp.constInput(index, "the axes input");
  if (failed(t))
    return failure();
  return imp.intsOf(**t, "axes");
}

/// Normalizes axes against `rank`; rejects duplicates. Not sorted.
FailureOr<SmallVector<int64_t>>
normalizeAxes(GraphImporter &imp, ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t a : axes) {
    FailureOr<int64_t> n = imp.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    if (!seen.insert(*n).second)
      return imp.error() << "axis " << a << " appears twice";
    out.push_back(*n);
  }
  return out;
}

LogicalResult setResult(GraphImporter &imp, FailureOr<TV> r, int i = 0) {
  if (failed(r))
    return failure();
  return imp.setOutput(i, *r);
}

//===----------------------------------------------------------------------===//
// Shape, Size, Constant, ConstantOfShape, Range
//===----------------------------------------------------------------------===//

LogicalResult importShape(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> startAttr = imp.intAttr("start", 0);
  if (failed(x) || failed(startAttr))
    return failure();
  int64_t rank = (*x)->rank();
  FailureOr<int64_t> endAttr = imp.intAttr("end", rank);
  if (failed(endAttr))
    return failure();
  auto clampIndex = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::min(std::max<int64_t>(v, 0), rank);
  };
  int64_t start = clampIndex(*startAttr), end = clampIndex(*endAttr);
  Contents c;
  for (int64_t d = start; d < end; ++d)
    c.ints.push_back((*x)->shape()[d]);
  int64_t n = c.ints.size();
  return imp.setOutput(0, imp.makeConst(i64Vector(imp, n), std::move(c)));
}

LogicalResult importSize(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  Contents c;
  c.ints.push_back((*x)->type.getNumElements());
  return imp.setOutput(
      0, imp.makeConst(RankedTensorType::get({}, imp.builder.getI64Type()),
                       std::move(c)));
}

LogicalResult importConstant(GraphImporter &imp) {
  if (imp.node->attribute_size() != 1)
    return imp.error() << "needs exactly one value attribute";
  const auto &a = imp.node->attribute(0);
  const std::string &name = a.name();
  MLIRContext *ctx = imp.ctx;
  if (name == "value") {
    if (a.type() != ::onnx::AttributeProto::TENSOR && !a.has_t())
      return imp.error() << "attribute 'value' must be a tensor";
    FailureOr<TV> t = decodeTensor(
        ctx, a.t(), imp.getModelDir(), imp.getDiagLoc(),
        "node '" + imp.nodeName + "' (Constant)",
        /*forceContents=*/false,
        imp.node->output_size() > 0 ? StringRef(imp.node->output(0))
                                    : StringRef(imp.nodeName));
    if (failed(t))
      return failure();
    return imp.setOutput(0, *t);
  }
  Contents c;
  RankedTensorType type;
  if (name == "value_float") {
    c.floats.push_back(a.f());
    type = RankedTensorType::get({}, imp.builder.getF32Type());
  } else if (name == "value_floats") {
    for (float f : a.floats())
      c.floats.push_back(f);
    type = RankedTensorType::get({a.floats_size()}, imp.builder.getF32Type());
  } else if (name == "value_int") {
    c.ints.push_back(a.i());
    type = RankedTensorType::get({}, imp.builder.getI64Type());
  } else if (name == "value_ints") {
    for (int64_t i : a.ints())
      c.ints.push_back(i);
    type = RankedTensorType::get({a.ints_size()}, imp.builder.getI64Type());
  } else {
    return imp.error() << "attribute '" << name << "' is not supported";
  }
  return imp.setOutput(0, imp.makeConst(type, std::move(c)));
}

LogicalResult importConstantOfShape(GraphImporter &imp) {
  FailureOr<TV *> shapeIn = imp.constInput(0, "the shape input");
  if (failed(shapeIn))
    return failure();
  FailureOr<SmallVector<int64_t>> shape = imp.intsOf(**shapeIn, "shape");
  if (failed(shape))
    return failure();
  std::optional<int64_t> n = checkedNumElements(*shape);
  if (!n)
    return imp.error() << "invalid shape " << shapeText(*shape);
  // The fill value: a one-element tensor attribute, float32 0 by default.
  Type elt = imp.builder.getF32Type();
  Contents one;
  one.floats.push_back(0.0);
  if (const auto *a = imp.getAttr("value")) {
    if (!a->has_t())
      return imp.error() << "attribute 'value' must be a tensor";
    FailureOr<TV> v =
        decodeTensor(imp.ctx, a->t(), imp.getModelDir(), imp.getDiagLoc(),
                     "node '" + imp.nodeName + "' value",
                     /*forceContents=*/true);
    if (failed(v))
      return failure();
    if (v->type.getNumElements() != 1)
      return imp.error() << "attribute 'value' must hold one element";
    elt = v->elementType();
    one = *v->data;
  }
  auto type = RankedTensorType::get(*shape, elt);
  if (canFoldElements(elt, *n)) {
    Contents c;
    if (!one.floats.empty())
      c.floats.assign(*n, one.floats[0]);
    else
      c.ints.assign(*n, one.ints[0]);
    return imp.setOutput(0, imp.makeConst(type, std::move(c)));
  }
  TV tv;
  tv.type = type;
  auto scalar = cast<DenseElementsAttr>(
      contentsToAttr(RankedTensorType::get({}, elt), one, "fill"));
  tv.attr = cast<ElementsAttr>(scalar.resizeSplat(type));
  return imp.setOutput(0, tv);
}

LogicalResult importRange(GraphImporter &imp) {
  FailureOr<TV *> start = imp.constInput(0, "start");
  if (failed(start))
    return failure();
  FailureOr<TV *> limit = imp.constInput(1, "limit");
  if (failed(limit))
    return failure();
  FailureOr<TV *> delta = imp.constInput(2, "delta");
  if (failed(delta))
    return failure();
  Type elt = (*start)->elementType();
  for (TV *t : {*start, *limit, *delta})
    if (t->type.getNumElements() != 1 || t->elementType() != elt)
      return imp.error() << "start, limit and delta must be scalars of one "
                            "type";
  Contents c;
  if (isa<FloatType>(elt)) {
    double s = (*start)->data->floats[0], l = (*limit)->data->floats[0],
           d = (*delta)->data->floats[0];
    if (d == 0 || std::isnan(s) || std::isnan(l) || std::isnan(d))
      return imp.error() << "invalid range (delta 0 or NaN)";
    double count = std::max(std::ceil((l - s) / d), 0.0);
    if (count > kMaxFoldElements)
      return imp.error() << "range of " << count << " elements is too large";
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i)
      c.floats.push_back(roundToFloatType(elt, s + i * d));
  } else {
    int64_t s = (*start)->data->ints[0], l = (*limit)->data->ints[0],
            d = (*delta)->data->ints[0];
    if (d == 0)
      return imp.error() << "delta must not be 0";
    double count =
        std::max(std::ceil((double(l) - double(s)) / double(d)), 0.0);
    if (count > kMaxFoldElements)
      return imp.error() << "range of " << count << " elements is too large";
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i)
      c.ints.push_back(wrapToIntType(elt, s + i * d));
  }
  int64_t n = isa<FloatType>(elt) ? c.floats.size() : c.ints.size();
  return imp.setOutput(
      0, imp.makeConst(RankedTensorType::get({n}, elt), std::move(c)));
}

//===----------------------------------------------------------------------===//
// Reshape family
//===----------------------------------------------------------------------===//

LogicalResult importReshape(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  SmallVector<int64_t> target;
  if (imp.opset < 5) {
    FailureOr<SmallVector<int64_t>> s = imp.intsAttr("shape");
    if (failed(s))
      return failure();
    target = *s;
  } else {
    FailureOr<TV *> s = imp.constInput(1, "the shape input");
    if (failed(s))
      return failure();
    FailureOr<SmallVector<int64_t>> v = imp.intsOf(**s, "shape");
    if (failed(v))
      return failure();
    target = *v;
  }
  FailureOr<int64_t> allowZero = imp.intAttr("allowzero", 0);
  if (failed(allowZero))
    return failure();
  ArrayRef<int64_t> in = (*x)->shape();
  SmallVector<int64_t> shape;
  int inferIndex = -1;
  for (auto [i, s] : llvm::enumerate(target)) {
    if (s == 0 && !*allowZero) {
      if (i >= in.size())
        return imp.error() << "shape entry " << i
                           << " is 0 (copy) but the input has rank "
                           << in.size();
      shape.push_back(in[i]);
    } else if (s == -1) {
      if (inferIndex >= 0)
        return imp.error() << "shape " << shapeText(target)
                           << " has more than one -1";
      inferIndex = i;
      shape.push_back(1);
    } else if (s < 0) {
      return imp.error() << "invalid shape entry " << s;
    } else {
      shape.push_back(s);
    }
  }
  int64_t total = (*x)->type.getNumElements();
  if (inferIndex >= 0) {
    std::optional<int64_t> known = checkedNumElements(shape);
    if (!known || *known == 0 || total % *known != 0)
      return imp.error() << "cannot reshape " << shapeText(in) << " to "
                         << shapeText(target);
    shape[inferIndex] = total / *known;
  }
  return setResult(imp, imp.emitReshape(**x, shape));
}

LogicalResult importFlatten(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 1);
  if (failed(x) || failed(axisAttr))
    return failure();
  int64_t rank = (*x)->rank();
  int64_t axis = *axisAttr;
  if (axis < -rank || axis > rank)
    return imp.error() << "axis " << axis << " is out of range for rank "
                       << rank;
  if (axis < 0)
    axis += rank;
  ArrayRef<int64_t> s = (*x)->shape();
  int64_t outer = *checkedNumElements(s.take_front(axis));
  int64_t inner = *checkedNumElements(s.drop_front(axis));
  return setResult(imp, imp.emitReshape(**x, {outer, inner}));
}

LogicalResult importSqueeze(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  bool present;
  FailureOr<SmallVector<int64_t>> axes = axesOperand(imp, 13, 1, present);
  if (failed(axes))
    return failure();
  int64_t rank = (*x)->rank();
  ArrayRef<int64_t> in = (*x)->shape();
  SmallVector<bool> drop(rank, false);
  if (axes->empty()) {
    for (int64_t d = 0; d < rank; ++d)
      drop[d] = in[d] == 1;
  } else {
    FailureOr<SmallVector<int64_t>> norm = normalizeAxes(imp, *axes, rank);
    if (failed(norm))
      return failure();
    for (int64_t a : *norm) {
      if (in[a] != 1)
        return imp.error() << "cannot squeeze dim " << a << " of size "
                           << in[a];
      drop[a] = true;
    }
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      shape.push_back(in[d]);
  return setResult(imp, imp.emitReshape(**x, shape));
}

LogicalResult importUnsqueeze(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  bool present;
  FailureOr<SmallVector<int64_t>> axes = axesOperand(imp, 13, 1, present);
  if (failed(axes))
    return failure();
  if (!present)
    return imp.error() << "needs axes";
  int64_t outRank = (*x)->rank() + static_cast<int64_t>(axes->size());
  FailureOr<SmallVector<int64_t>> norm = normalizeAxes(imp, *axes, outRank);
  if (failed(norm))
    return failure();
  SmallVector<int64_t> shape;
  ArrayRef<int64_t> in = (*x)->shape();
  size_t next = 0;
  for (int64_t d = 0; d < outRank; ++d) {
    if (llvm::is_contained(*norm, d))
      shape.push_back(1);
    else
      shape.push_back(in[next++]);
  }
  return setResult(imp, imp.emitReshape(**x, shape));
}

LogicalResult importTranspose(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  int64_t rank = (*x)->rank();
  SmallVector<int64_t> dflt;
  for (int64_t d = rank - 1; d >= 0; --d)
    dflt.push_back(d);
  FailureOr<SmallVector<int64_t>> perm = imp.intsAttr("perm", dflt);
  if (failed(perm))
    return failure();
  return setResult(imp, imp.emitTranspose(**x, *perm));
}

LogicalResult importExpand(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  FailureOr<TV *> s = imp.constInput(1, "the shape input");
  if (failed(s))
    return failure();
  FailureOr<SmallVector<int64_t>> shape = imp.intsOf(**s, "shape");
  if (failed(shape))
    return failure();
  return setResult(imp, imp.emitExpand(**x, *shape));
}

//===----------------------------------------------------------------------===//
// Concat, Slice, Split, Gather
//===----------------------------------------------------------------------===//

LogicalResult importConcat(GraphImporter &imp) {
  if (!imp.hasAttr("axis"))
    return imp.error() << "missing attribute 'axis'";
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  if (failed(axisAttr))
    return failure();
  SmallVector<TV *> xs;
  for (int i = 0; i < imp.numInputs(); ++i) {
    if (!imp.hasInput(i))
      continue;
    FailureOr<TV *> x = imp.input(i);
    if (failed(x))
      return failure();
    xs.push_back(*x);
  }
  if (xs.empty())
    return imp.error() << "needs at least one input";
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, xs.front()->rank());
  if (failed(axis))
    return failure();
  if (xs.size() == 1)
    return imp.setOutput(0, *xs.front());
  return setResult(imp, imp.emitConcat(xs, *axis));
}

LogicalResult importSlice(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  int64_t rank = (*x)->rank();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (imp.opset < 10) {
    FailureOr<SmallVector<int64_t>> s = imp.intsAttr("starts");
    FailureOr<SmallVector<int64_t>> e = imp.intsAttr("ends");
    if (failed(s) || failed(e))
      return failure();
    starts = *s;
    ends = *e;
    if (imp.hasAttr("axes")) {
      FailureOr<SmallVector<int64_t>> a = imp.intsAttr("axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else {
    auto read = [&](int i, StringRef what,
                    SmallVectorImpl<int64_t> &out) -> LogicalResult {
      FailureOr<TV *> t = imp.constInput(i, what);
      if (failed(t))
        return failure();
      FailureOr<SmallVector<int64_t>> v = imp.intsOf(**t, what);
      if (failed(v))
        return failure();
      out.assign(v->begin(), v->end());
      return success();
    };
    if (failed(read(1, "the starts input", starts)) ||
        failed(read(2, "the ends input", ends)))
      return failure();
    if (imp.hasInput(3) && failed(read(3, "the axes input", axes)))
      return failure();
    if (imp.hasInput(4) && failed(read(4, "the steps input", steps)))
      return failure();
  }
  size_t n = starts.size();
  if (axes.empty())
    for (size_t i = 0; i < n; ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(n, 1);
  if (ends.size() != n || axes.size() != n || steps.size() != n)
    return imp.error() << "starts, ends, axes and steps differ in length";
  FailureOr<SmallVector<int64_t>> normAxes = normalizeAxes(imp, axes, rank);
  if (failed(normAxes))
    return failure();

  SmallVector<int64_t> outStarts(rank, 0), sizes((*x)->shape()),
      outSteps(rank, 1);
  for (size_t i = 0; i < n; ++i) {
    int64_t a = (*normAxes)[i], dim = (*x)->shape()[a];
    int64_t step = std::max(steps[i], -std::numeric_limits<int64_t>::max());
    if (step == 0)
      return imp.error() << "slice step of axis " << a << " is 0";
    int64_t start = starts[i], end = ends[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t size;
    if (dim == 0) {
      size = 0;
    } else if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      size = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      size = start > end ? (start - end - 1) / (-step) + 1 : 0;
    }
    if (size == 0)
      start = 0;
    outStarts[a] = start;
    sizes[a] = size;
    outSteps[a] = step;
  }
  return setResult(imp, imp.emitSlice(**x, outStarts, sizes, outSteps));
}

LogicalResult importSplit(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  if (failed(x) || failed(axisAttr))
    return failure();
  int64_t rank = (*x)->rank();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
  if (failed(axis))
    return failure();
  int64_t dim = (*x)->shape()[*axis];
  int outputs = imp.numOutputs();
  SmallVector<int64_t> split;
  if (imp.opset < 13) {
    FailureOr<SmallVector<int64_t>> s = imp.intsAttr("split");
    if (failed(s))
      return failure();
    split = *s;
  } else if (imp.hasInput(1)) {
    FailureOr<TV *> s = imp.constInput(1, "the split input");
    if (failed(s))
      return failure();
    FailureOr<SmallVector<int64_t>> v = imp.intsOf(**s, "split");
    if (failed(v))
      return failure();
    split = *v;
  }
  if (split.empty()) {
    if (imp.opset >= 18 && imp.hasAttr("num_outputs")) {
      FailureOr<int64_t> num = imp.intAttr("num_outputs", outputs);
      if (failed(num))
        return failure();
      if (*num != outputs || *num <= 0)
        return imp.error() << "num_outputs " << *num << " but the node has "
                           << outputs << " outputs";
      int64_t chunk = (dim + *num - 1) / *num;
      for (int i = 0; i < outputs; ++i) {
        int64_t left = dim - chunk * i;
        split.push_back(std::max<int64_t>(std::min(chunk, left), 0));
      }
    } else {
      if (outputs <= 0 || dim % outputs != 0)
        return imp.error() << "cannot split dim " << *axis << " of size " << dim
                           << " into " << outputs << " equal parts";
      split.assign(outputs, dim / outputs);
    }
  }
  if (static_cast<int>(split.size()) != outputs)
    return imp.error() << "split has " << split.size() << " entries for "
                       << outputs << " outputs";
  if (failed(checkSplitSizes(imp, split, dim)))
    return failure();
  int64_t offset = 0;
  for (int i = 0; i < outputs; ++i) {
    int64_t size = split[i];
    if (imp.outputUsed(i)) {
      SmallVector<int64_t> starts(rank, 0), sizes((*x)->shape()),
          steps(rank, 1);
      starts[*axis] = size ? offset : 0;
      sizes[*axis] = size;
      if (failed(setResult(imp, imp.emitSlice(**x, starts, sizes, steps), i)))
        return failure();
    }
    offset += size;
  }
  return success();
}

LogicalResult importGather(GraphImporter &imp) {
  FailureOr<TV *> data = imp.input(0);
  FailureOr<TV *> indices = imp.input(1);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  if (failed(data) || failed(indices) || failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, (*data)->rank());
  if (failed(axis))
    return failure();
  return setResult(imp, imp.emitGather(**data, **indices, *axis));
}

} // namespace

void mlir::kiln::onnx::registerShapeOps(llvm::StringMap<OpHandler> &map) {
  map["Shape"] = importShape;
  map["Size"] = importSize;
  map["Constant"] = importConstant;
  map["ConstantOfShape"] = importConstantOfShape;
  map["Range"] = importRange;
  map["Reshape"] = importReshape;
  map["Flatten"] = importFlatten;
  map["Squeeze"] = importSqueeze;
  map["Unsqueeze"] = importUnsqueeze;
  map["Transpose"] = importTranspose;
  map["Expand"] = importExpand;
  map["Concat"] = importConcat;
  map["Slice"] = importSlice;
  map["Split"] = importSplit;
  map["Gather"] = importGather;
}

LogicalResult mlir::kiln::onnx::checkSplitSizes(GraphImporter &imp,
                                                ArrayRef<int64_t> sizes,
                                                int64_t dim) {
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      return imp.error() << "negative split size " << s;
    // Sizes past the dim cannot add up to it (and must not overflow).
    if (s > dim - sum)
      return imp.error() << "split sizes add up to more than the dim size "
                         << dim;
    sum += s;
  }
  if (sum != dim)
    return imp.error() << "split sizes add up to " << sum
                       << ", not the dim size " << dim;
  return success();
}
