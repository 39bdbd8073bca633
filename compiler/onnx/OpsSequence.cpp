//===- OpsSequence.cpp - ONNX sequence ops, resolved at import ------------===//
//
// Part of kiln. ONNX sequences (lists of tensors) have no kiln type: the
// importer keeps a sequence as the list of its tensors (`TV::sequence`) and
// resolves every sequence op while importing, so only the tensors reach the
// kiln dialect. Positions, split sizes and lengths must be compile-time
// constants; a sequence may not be a graph input or output.
//
//   SplitToSequence     slices of the input (like Split)
//   SequenceConstruct   the inputs, in order
//   SequenceEmpty       no tensors (element type from `dtype`)
//   SequenceAt          one tensor
//   SequenceInsert      the sequence with a tensor inserted
//   SequenceErase       the sequence with one tensor removed
//   SequenceLength      an int64 scalar constant
//   ConcatFromSequence  a Concat (new_axis=1: a stack) of the tensors
//
// PyTorch's dynamo exporter writes SplitToSequence + SequenceAt for
// `torch.split`/`chunk` when its graph optimizer is off (optimize=False).
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

TV sequenceTV(Type elementType, std::vector<TV> elements) {
  auto seq = std::make_shared<Sequence>();
  seq->elementType = elementType;
  seq->elements = std::move(elements);
  TV tv;
  tv.sequence = std::move(seq);
  return tv;
}

/// Reads a one-element integer constant (a position) as int64.
FailureOr<int64_t> positionInput(GraphImporter &imp, int i, StringRef what) {
  FailureOr<TV *> in = imp.constInput(i, what);
  if (failed(in))
    return failure();
  if (!isa<IntegerType>((*in)->elementType()) || (*in)->rank() > 1 ||
      (*in)->type.getNumElements() != 1)
    return imp.error() << what << " must be an integer scalar, got "
                       << (*in)->type;
  return (*in)->data->ints[0];
}

/// Normalizes position `pos` of a sequence of `size` tensors into
/// [0, size) (or [0, size] when `insert`), erroring when out of range.
FailureOr<int64_t> normalizePosition(GraphImporter &imp, int64_t pos,
                                     int64_t size, bool insert) {
  int64_t hi = insert ? size : size - 1;
  if (pos < -size || pos > hi)
    return imp.error() << "position " << pos << " is out of range for a "
                       << "sequence of " << size << " tensors";
  return pos < 0 ? pos + size : pos;
}

LogicalResult checkElementType(GraphImporter &imp, Type expected,
                               const TV &t, StringRef what) {
  if (expected && t.elementType() != expected)
    return imp.error() << what << " has element type " << t.elementType()
                       << ", the sequence holds " << expected;
  return success();
}

LogicalResult importSplitToSequence(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  FailureOr<int64_t> keepdims = imp.intAttr("keepdims", 1);
  if (failed(x) || failed(axisAttr) || failed(keepdims))
    return failure();
  int64_t rank = (*x)->rank();
  if (rank == 0)
    return imp.error() << "cannot split a 0-d tensor";
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
  if (failed(axis))
    return failure();
  int64_t dim = (*x)->shape()[*axis];
  SmallVector<int64_t> sizes;
  bool squeeze = false;
  if (imp.hasInput(1)) {
    FailureOr<TV *> s = imp.constInput(1, "the split input");
    if (failed(s))
      return failure();
    FailureOr<SmallVector<int64_t>> v = imp.intsOf(**s, "split");
    if (failed(v))
      return failure();
    if ((*s)->rank() == 0) {
      // One chunk size: chunks of that size, the last one possibly smaller.
      int64_t chunk = (*v)[0];
      if (chunk <= 0)
        return imp.error() << "split size " << chunk << " must be positive";
      for (int64_t off = 0; off < dim; off += chunk)
        sizes.push_back(std::min(chunk, dim - off));
    } else {
      if ((*s)->rank() != 1)
        return imp.error() << "split must be a scalar or 1-D, got "
                           << (*s)->type;
      if (failed(checkSplitSizes(imp, *v, dim)))
        return failure();
      sizes.assign(v->begin(), v->end());
    }
  } else {
    // No split: chunks of 1, the axis removed unless keepdims.
    sizes.assign(dim, 1);
    squeeze = *keepdims == 0;
  }
  std::vector<TV> parts;
  int64_t offset = 0;
  for (int64_t size : sizes) {
    FailureOr<TV> part = sliceAxis(imp, **x, *axis, offset, size);
    if (failed(part))
      return failure();
    if (squeeze) {
      SmallVector<int64_t> shape(part->shape());
      shape.erase(shape.begin() + *axis);
      part = imp.emitReshape(*part, shape);
      if (failed(part))
        return failure();
    }
    parts.push_back(std::move(*part));
    offset += size;
  }
  return imp.setOutput(0, sequenceTV((*x)->elementType(), std::move(parts)));
}

LogicalResult importSequenceConstruct(GraphImporter &imp) {
  if (imp.numInputs() == 0)
    return imp.error() << "needs at least one input";
  std::vector<TV> parts;
  Type elt;
  for (int i = 0; i < imp.numInputs(); ++i) {
    FailureOr<TV *> in = imp.input(i);
    if (failed(in))
      return failure();
    if (i == 0)
      elt = (*in)->elementType();
    else if (failed(checkElementType(imp, elt, **in,
                                     "input #" + std::to_string(i))))
      return failure();
    parts.push_back(**in);
  }
  return imp.setOutput(0, sequenceTV(elt, std::move(parts)));
}

LogicalResult importSequenceEmpty(GraphImporter &imp) {
  FailureOr<int64_t> dtype =
      imp.intAttr("dtype", ::onnx::TensorProto::FLOAT);
  if (failed(dtype))
    return failure();
  Type elt = getElementType(imp.ctx, static_cast<int32_t>(*dtype));
  if (!elt)
    return imp.error() << "unsupported dtype " << *dtype;
  return imp.setOutput(0, sequenceTV(elt, {}));
}

LogicalResult importSequenceAt(GraphImporter &imp) {
  FailureOr<const Sequence *> seq = imp.sequenceInput(0);
  if (failed(seq))
    return failure();
  FailureOr<int64_t> pos = positionInput(imp, 1, "the position");
  if (failed(pos))
    return failure();
  FailureOr<int64_t> at =
      normalizePosition(imp, *pos, (*seq)->elements.size(), false);
  if (failed(at))
    return failure();
  return imp.setOutput(0, (*seq)->elements[*at]);
}

LogicalResult importSequenceInsert(GraphImporter &imp) {
  FailureOr<const Sequence *> seq = imp.sequenceInput(0);
  FailureOr<TV *> t = imp.input(1);
  if (failed(seq) || failed(t))
    return failure();
  if (failed(checkElementType(imp, (*seq)->elementType, **t, "the tensor")))
    return failure();
  int64_t size = (*seq)->elements.size();
  int64_t at = size;
  if (imp.hasInput(2)) {
    FailureOr<int64_t> pos = positionInput(imp, 2, "the position");
    if (failed(pos))
      return failure();
    FailureOr<int64_t> p = normalizePosition(imp, *pos, size, true);
    if (failed(p))
      return failure();
    at = *p;
  }
  std::vector<TV> parts = (*seq)->elements;
  parts.insert(parts.begin() + at, **t);
  return imp.setOutput(0, sequenceTV((*seq)->elementType, std::move(parts)));
}

LogicalResult importSequenceErase(GraphImporter &imp) {
  FailureOr<const Sequence *> seq = imp.sequenceInput(0);
  if (failed(seq))
    return failure();
  int64_t size = (*seq)->elements.size();
  if (size == 0)
    return imp.error() << "cannot erase from an empty sequence";
  int64_t at = size - 1;
  if (imp.hasInput(1)) {
    FailureOr<int64_t> pos = positionInput(imp, 1, "the position");
    if (failed(pos))
      return failure();
    FailureOr<int64_t> p = normalizePosition(imp, *pos, size, false);
    if (failed(p))
      return failure();
    at = *p;
  }
  std::vector<TV> parts = (*seq)->elements;
  parts.erase(parts.begin() + at);
  return imp.setOutput(0, sequenceTV((*seq)->elementType, std::move(parts)));
}

LogicalResult importSequenceLength(GraphImporter &imp) {
  FailureOr<const Sequence *> seq = imp.sequenceInput(0);
  if (failed(seq))
    return failure();
  return imp.setOutput(
      0, i64Const(imp, {}, {static_cast<int64_t>((*seq)->elements.size())}));
}

LogicalResult importConcatFromSequence(GraphImporter &imp) {
  FailureOr<const Sequence *> seq = imp.sequenceInput(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  FailureOr<int64_t> newAxis = imp.intAttr("new_axis", 0);
  if (failed(seq) || failed(axisAttr) || failed(newAxis))
    return failure();
  if (!imp.hasAttr("axis"))
    return imp.error() << "missing attribute 'axis'";
  if (*newAxis != 0 && *newAxis != 1)
    return imp.error() << "new_axis must be 0 or 1, got " << *newAxis;
  if ((*seq)->elements.empty())
    return imp.error() << "cannot concatenate an empty sequence";
  std::vector<TV> parts = (*seq)->elements;
  int64_t rank = parts[0].rank();
  FailureOr<int64_t> axis =
      imp.normalizeAxis(*axisAttr, rank + (*newAxis ? 1 : 0));
  if (failed(axis))
    return failure();
  SmallVector<TV *> ptrs;
  for (TV &p : parts) {
    if (p.rank() != rank)
      return imp.error() << "the sequence's tensors differ in rank ("
                         << parts[0].type << " and " << p.type << ")";
    if (*newAxis) {
      // Stack: give every tensor a unit dim at `axis` first.
      SmallVector<int64_t> shape(p.shape());
      shape.insert(shape.begin() + *axis, 1);
      FailureOr<TV> r = imp.emitReshape(p, shape);
      if (failed(r))
        return failure();
      p = std::move(*r);
    }
    ptrs.push_back(&p);
  }
  return setResult(imp, imp.emitConcat(ptrs, *axis));
}

} // namespace

void mlir::kiln::onnx::registerSequenceOps(llvm::StringMap<OpHandler> &map) {
  map["SplitToSequence"] = importSplitToSequence;
  map["SequenceConstruct"] = importSequenceConstruct;
  map["SequenceEmpty"] = importSequenceEmpty;
  map["SequenceAt"] = importSequenceAt;
  map["SequenceInsert"] = importSequenceInsert;
  map["SequenceErase"] = importSequenceErase;
  map["SequenceLength"] = importSequenceLength;
  map["ConcatFromSequence"] = importConcatFromSequence;
}
