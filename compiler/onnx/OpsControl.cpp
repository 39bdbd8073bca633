//===- OpsControl.cpp - ONNX control flow, resolved at import -------------===//
//
// Part of kiln. kiln compiles static graphs, so control flow is resolved
// while importing:
//   If   -> the branch its compile-time condition selects, imported inline;
//   Loop -> unrolled: the trip count and every iteration's condition must be
//           known at compile time; scan outputs are stacked along a new
//           axis 0;
//   Scan -> unrolled over the (static) sequence length: each iteration
//           imports the body on slices of the scan inputs; opset 8's batch
//           axis runs the same per batch entry.
// Anything data-dependent is a clear error naming the node. Unrolling is
// capped at kMaxIterations per node.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

#define KILN_TRY(var, expr)                                                    \
  FailureOr<TV> var##OrFailure = (expr);                                       \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  TV var = std::move(*var##OrFailure)

namespace {

constexpr int64_t kMaxIterations = 4096;

FailureOr<const ::onnx::GraphProto *> graphAttr(GraphImporter &imp,
                                                StringRef name) {
  const ::onnx::AttributeProto *a = imp.getAttr(name);
  if (!a || !a->has_g())
    return imp.error() << "missing graph attribute '" << name << "'";
  return &a->g();
}

/// Reads a one-element constant (bool or integer) as int64.
FailureOr<int64_t> scalarConst(GraphImporter &imp, int i, StringRef what) {
  FailureOr<TV *> in = imp.constInput(i, what);
  if (failed(in))
    return failure();
  if (!isa<IntegerType>((*in)->elementType()) ||
      (*in)->type.getNumElements() != 1)
    return imp.error() << what << " must be a one-element bool or integer "
                       << "tensor, got " << (*in)->type;
  return (*in)->data->ints[0];
}

/// Stacks same-typed tensors along a new axis `axis` (in [0, rank]).
FailureOr<TV> stack(GraphImporter &imp, SmallVectorImpl<TV> &parts,
                    int64_t axis, StringRef what) {
  SmallVector<TV> expanded;
  for (TV &p : parts) {
    if (p.type != parts.front().type)
      return imp.error() << what << " changes type between iterations ("
                         << parts.front().type << " then " << p.type << ")";
    SmallVector<int64_t> s(p.shape());
    s.insert(s.begin() + axis, 1);
    KILN_TRY(r, imp.emitReshape(p, s));
    expanded.push_back(r);
  }
  if (expanded.size() == 1)
    return expanded.front();
  SmallVector<TV *> ptrs;
  for (TV &e : expanded)
    ptrs.push_back(&e);
  return imp.emitConcat(ptrs, axis);
}

//===----------------------------------------------------------------------===//
// If
//===----------------------------------------------------------------------===//

LogicalResult importIf(GraphImporter &imp) {
  FailureOr<int64_t> cond = scalarConst(imp, 0, "the condition");
  if (failed(cond))
    return failure();
  StringRef branch = *cond ? "then_branch" : "else_branch";
  FailureOr<const ::onnx::GraphProto *> g = graphAttr(imp, branch);
  if (failed(g))
    return failure();
  FailureOr<SmallVector<TV>> outs =
      imp.importSubgraph(**g, {}, branch, /*allowSequenceOutputs=*/true);
  if (failed(outs))
    return failure();
  if (static_cast<int>(outs->size()) != imp.numOutputs())
    return imp.error() << branch << " has " << outs->size()
                       << " outputs, the node " << imp.numOutputs();
  for (auto [i, v] : llvm::enumerate(*outs))
    if (failed(imp.setOutput(i, v)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Loop
//===----------------------------------------------------------------------===//

LogicalResult importLoop(GraphImporter &imp) {
  FailureOr<const ::onnx::GraphProto *> body = graphAttr(imp, "body");
  if (failed(body))
    return failure();
  std::optional<int64_t> trip;
  if (imp.hasInput(0)) {
    FailureOr<int64_t> m = scalarConst(imp, 0, "the trip count");
    if (failed(m))
      return failure();
    trip = *m;
  }
  std::optional<bool> cond;
  if (imp.hasInput(1)) {
    FailureOr<int64_t> c = scalarConst(imp, 1, "the loop condition");
    if (failed(c))
      return failure();
    cond = *c != 0;
  }
  if (!trip && !cond)
    return imp.error() << "a Loop with neither a trip count nor a condition "
                          "never ends";
  int numCarried = std::max(imp.numInputs() - 2, 0);
  SmallVector<TV> carried;
  for (int i = 0; i < numCarried; ++i) {
    FailureOr<TV *> v = imp.input(i + 2);
    if (failed(v))
      return failure();
    carried.push_back(**v);
  }
  int numScan = (*body)->output_size() - 1 - numCarried;
  if (numScan < 0)
    return imp.error() << "the body has " << (*body)->output_size()
                       << " outputs, fewer than 1 + " << numCarried
                       << " loop-carried values";
  SmallVector<SmallVector<TV>> scans(numScan);
  Type i64 = imp.builder.getI64Type();
  bool running = cond.value_or(true);
  for (int64_t it = 0;; ++it) {
    if ((trip && it >= *trip) || !running)
      break;
    if (it >= kMaxIterations)
      return imp.error() << "runs more than " << kMaxIterations
                         << " iterations (kiln unrolls Loop at compile time)";
    SmallVector<TV> ins;
    ins.push_back(scalarTV(imp, i64, double(it)));
    ins.push_back(boolConst(imp, {}, {true}));
    ins.append(carried.begin(), carried.end());
    FailureOr<SmallVector<TV>> outs =
        imp.importSubgraph(**body, ins, "body");
    if (failed(outs))
      return failure();
    TV &c = (*outs)[0];
    if (!c.hasData() || !isa<IntegerType>(c.elementType()) ||
        c.type.getNumElements() != 1)
      return imp.error() << "the condition the body computes in iteration "
                         << it << " must be a compile-time constant "
                         << "(kiln unrolls Loop)";
    running = c.data->ints[0] != 0;
    for (int i = 0; i < numCarried; ++i)
      carried[i] = (*outs)[1 + i];
    for (int s = 0; s < numScan; ++s)
      scans[s].push_back((*outs)[1 + numCarried + s]);
  }
  for (int i = 0; i < numCarried; ++i)
    if (failed(imp.setOutput(i, carried[i])))
      return failure();
  for (int s = 0; s < numScan; ++s) {
    if (!imp.outputUsed(numCarried + s))
      continue;
    if (scans[s].empty())
      return imp.error() << "scan output #" << s
                         << " of a Loop that runs no iteration has no type";
    KILN_TRY(r, stack(imp, scans[s], 0, "scan output"));
    if (failed(imp.setOutput(numCarried + s, r)))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Scan
//===----------------------------------------------------------------------===//

struct ScanAttrs {
  int64_t numScanInputs;
  SmallVector<int64_t> inDirs, outDirs, inAxes, outAxes;
};

/// One Scan (opset 9 semantics) over `states` and `scanIn`; returns the final
/// states followed by the scan outputs.
FailureOr<SmallVector<TV>> runScan(GraphImporter &imp,
                                   const ::onnx::GraphProto &body,
                                   SmallVector<TV> states,
                                   ArrayRef<TV> scanIn, const ScanAttrs &a) {
  int64_t numStates = states.size();
  int64_t numOut = body.output_size() - numStates;
  if (numOut < 0)
    return imp.error() << "the body has fewer outputs than states";
  int64_t len = -1;
  SmallVector<int64_t> axes;
  for (auto [j, x] : llvm::enumerate(scanIn)) {
    int64_t axis = j < a.inAxes.size() ? a.inAxes[j] : 0;
    FailureOr<int64_t> ax = imp.normalizeAxis(axis, x.rank(), "scan input axis");
    if (failed(ax))
      return failure();
    axes.push_back(*ax);
    int64_t l = x.shape()[*ax];
    if (len >= 0 && l != len)
      return imp.error() << "scan inputs have different lengths (" << len
                         << " and " << l << ")";
    len = l;
  }
  if (len < 0)
    return imp.error() << "Scan needs at least one scan input";
  if (len > kMaxIterations)
    return imp.error() << "scans " << len << " steps, more than "
                       << kMaxIterations
                       << " (kiln unrolls Scan at compile time)";
  SmallVector<SmallVector<TV>> outs(numOut);
  for (int64_t t = 0; t < len; ++t) {
    SmallVector<TV> ins(states);
    for (auto [j, x] : llvm::enumerate(scanIn)) {
      bool reverse = j < a.inDirs.size() && a.inDirs[j];
      TV xs = x;
      KILN_TRY(s, sliceAxis(imp, xs, axes[j], reverse ? len - 1 - t : t, 1));
      SmallVector<int64_t> shape(x.shape());
      shape.erase(shape.begin() + axes[j]);
      KILN_TRY(r, imp.emitReshape(s, shape));
      ins.push_back(r);
    }
    FailureOr<SmallVector<TV>> res = imp.importSubgraph(body, ins, "body");
    if (failed(res))
      return failure();
    for (int64_t i = 0; i < numStates; ++i)
      states[i] = (*res)[i];
    for (int64_t k = 0; k < numOut; ++k)
      outs[k].push_back((*res)[numStates + k]);
  }
  SmallVector<TV> result(states);
  for (int64_t k = 0; k < numOut; ++k) {
    if (len == 0)
      return imp.error() << "a Scan of length 0 has untyped scan outputs";
    bool reverse = k < static_cast<int64_t>(a.outDirs.size()) && a.outDirs[k];
    if (reverse)
      std::reverse(outs[k].begin(), outs[k].end());
    int64_t axis = k < static_cast<int64_t>(a.outAxes.size()) ? a.outAxes[k] : 0;
    FailureOr<int64_t> ax = imp.normalizeAxis(axis, outs[k].front().rank() + 1,
                                              "scan output axis");
    if (failed(ax))
      return failure();
    KILN_TRY(r, stack(imp, outs[k], *ax, "scan output"));
    result.push_back(r);
  }
  return result;
}

LogicalResult importScan(GraphImporter &imp) {
  FailureOr<const ::onnx::GraphProto *> body = graphAttr(imp, "body");
  if (failed(body))
    return failure();
  FailureOr<int64_t> numScanInputs = imp.intAttr("num_scan_inputs", -1);
  if (failed(numScanInputs))
    return failure();
  ScanAttrs a;
  a.numScanInputs = *numScanInputs;
  bool opset8 = imp.opset < 9;
  int first = opset8 ? 1 : 0; // opset 8: input 0 is sequence_lens
  int64_t numIn = imp.numInputs() - first;
  if (a.numScanInputs < 1 || a.numScanInputs > numIn)
    return imp.error() << "num_scan_inputs " << a.numScanInputs
                       << " does not fit " << numIn << " inputs";
  FailureOr<SmallVector<int64_t>> inDirs =
      imp.intsAttr(opset8 ? "directions" : "scan_input_directions");
  FailureOr<SmallVector<int64_t>> outDirs =
      imp.intsAttr("scan_output_directions");
  FailureOr<SmallVector<int64_t>> inAxes = imp.intsAttr("scan_input_axes");
  FailureOr<SmallVector<int64_t>> outAxes = imp.intsAttr("scan_output_axes");
  if (failed(inDirs) || failed(outDirs) || failed(inAxes) || failed(outAxes))
    return failure();
  a.inDirs = *inDirs;
  a.outDirs = *outDirs;
  a.inAxes = *inAxes;
  a.outAxes = *outAxes;
  if (opset8 && imp.hasInput(0))
    return imp.error() << "sequence_lens is not supported (all sequences "
                          "must have the full length)";
  int64_t numStates = numIn - a.numScanInputs;
  SmallVector<TV> states, scanIn;
  for (int64_t i = 0; i < numIn; ++i) {
    FailureOr<TV *> v = imp.input(first + i);
    if (failed(v))
      return failure();
    (i < numStates ? states : scanIn).push_back(**v);
  }
  if (!opset8) {
    FailureOr<SmallVector<TV>> r = runScan(imp, **body, states, scanIn, a);
    if (failed(r))
      return failure();
    for (auto [i, v] : llvm::enumerate(*r))
      if (failed(imp.setOutput(i, v)))
        return failure();
    return success();
  }
  // Opset 8: axis 0 of every input is the batch, axis 1 the sequence; run
  // each batch entry and stack the results.
  int64_t batch = -1;
  for (TV &v : llvm::concat<TV>(states, scanIn)) {
    if (v.rank() < 1 || (batch >= 0 && v.shape()[0] != batch))
      return imp.error() << "opset-8 Scan inputs must share the batch dim 0";
    batch = v.shape()[0];
  }
  if (batch < 1 || batch > kMaxIterations)
    return imp.error() << "batch " << batch << " is out of range";
  a.inAxes.clear();
  a.outAxes.clear();
  auto entry = [&](TV &v, int64_t b) -> FailureOr<TV> {
    KILN_TRY(s, sliceAxis(imp, v, 0, b, 1));
    return imp.emitReshape(s, v.shape().drop_front());
  };
  SmallVector<SmallVector<TV>> perOutput;
  for (int64_t b = 0; b < batch; ++b) {
    SmallVector<TV> st, sc;
    for (TV &v : states) {
      KILN_TRY(e, entry(v, b));
      st.push_back(e);
    }
    for (TV &v : scanIn) {
      KILN_TRY(e, entry(v, b));
      sc.push_back(e);
    }
    FailureOr<SmallVector<TV>> r = runScan(imp, **body, st, sc, a);
    if (failed(r))
      return failure();
    perOutput.resize(r->size());
    for (auto [i, v] : llvm::enumerate(*r))
      perOutput[i].push_back(v);
  }
  for (auto [i, parts] : llvm::enumerate(perOutput)) {
    KILN_TRY(r, stack(imp, parts, 0, "Scan output"));
    if (failed(imp.setOutput(i, r)))
      return failure();
  }
  return success();
}

} // namespace

void mlir::kiln::onnx::registerControlOps(llvm::StringMap<OpHandler> &map) {
  map["If"] = importIf;
  map["Loop"] = importLoop;
  map["Scan"] = importScan;
}
