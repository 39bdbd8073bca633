//===- OpsLayout.cpp - layout and structure ONNX ops ----------------------===//
//
// Part of kiln. Handlers for Tile, DepthToSpace, SpaceToDepth, EyeLike,
// Trilu, Pad, Compress, NonZero and OneHot. All of them decompose exactly
// into existing kiln ops at import: reshapes, transposes, expands, slices,
// concats, gathers with constant indices and selects with constant masks.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

//===----------------------------------------------------------------------===//
// Tile
//===----------------------------------------------------------------------===//

/// y = tile(x, r): reshape x to [1, d0, 1, d1, ...], expand to
/// [r0, d0, r1, d1, ...] and merge each (r_i, d_i) pair.
LogicalResult importTile(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  FailureOr<TV *> r = imp.constInput(1, "the repeats input");
  if (failed(r))
    return failure();
  FailureOr<SmallVector<int64_t>> reps = imp.intsOf(**r, "repeats");
  if (failed(reps))
    return failure();
  int64_t rank = (*x)->rank();
  if (static_cast<int64_t>(reps->size()) != rank)
    return imp.error() << "repeats has " << reps->size()
                       << " entries for an input of rank " << rank;
  SmallVector<int64_t> split, expanded, out;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = (*x)->shape()[d], k = (*reps)[d];
    if (k < 0)
      return imp.error() << "negative repeat " << k;
    split.append({1, n});
    expanded.append({k, n});
    out.push_back(k * n);
  }
  FailureOr<TV> s = imp.emitReshape(**x, split);
  if (failed(s))
    return failure();
  FailureOr<TV> e = imp.emitExpand(*s, expanded);
  if (failed(e))
    return failure();
  return setResult(imp, imp.emitReshape(*e, out));
}

//===----------------------------------------------------------------------===//
// DepthToSpace, SpaceToDepth
//===----------------------------------------------------------------------===//

LogicalResult reshapeTransposeReshape(GraphImporter &imp, TV &x,
                                      ArrayRef<int64_t> split,
                                      ArrayRef<int64_t> perm,
                                      ArrayRef<int64_t> out) {
  FailureOr<TV> a = imp.emitReshape(x, split);
  if (failed(a))
    return failure();
  FailureOr<TV> b = imp.emitTranspose(*a, perm);
  if (failed(b))
    return failure();
  return setResult(imp, imp.emitReshape(*b, out));
}

LogicalResult importDepthToSpace(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> b = imp.intAttr("blocksize", 0);
  FailureOr<std::string> mode = imp.stringAttr("mode", "DCR");
  if (failed(x) || failed(b) || failed(mode))
    return failure();
  if ((*x)->rank() != 4)
    return imp.error() << "input must be 4-D, got " << (*x)->type;
  int64_t bs = *b;
  ArrayRef<int64_t> s = (*x)->shape();
  if (bs <= 0 || s[1] % (bs * bs) != 0)
    return imp.error() << "blocksize " << bs << " does not divide the "
                       << s[1] << " channels";
  int64_t n = s[0], c = s[1] / (bs * bs), h = s[2], w = s[3];
  SmallVector<int64_t> out = {n, c, h * bs, w * bs};
  if (*mode == "DCR")
    return reshapeTransposeReshape(imp, **x, {n, bs, bs, c, h, w},
                                   {0, 3, 4, 1, 5, 2}, out);
  if (*mode == "CRD")
    return reshapeTransposeReshape(imp, **x, {n, c, bs, bs, h, w},
                                   {0, 1, 4, 2, 5, 3}, out);
  return imp.error() << "unknown mode '" << *mode << "'";
}

LogicalResult importSpaceToDepth(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> b = imp.intAttr("blocksize", 0);
  FailureOr<std::string> mode = imp.stringAttr("mode", "DCR");
  if (failed(x) || failed(b) || failed(mode))
    return failure();
  if ((*x)->rank() != 4)
    return imp.error() << "input must be 4-D, got " << (*x)->type;
  int64_t bs = *b;
  ArrayRef<int64_t> s = (*x)->shape();
  if (bs <= 0 || s[2] % bs != 0 || s[3] % bs != 0)
    return imp.error() << "blocksize " << bs << " does not divide the "
                       << "spatial dims " << shapeText(s.drop_front(2));
  int64_t n = s[0], c = s[1], h = s[2] / bs, w = s[3] / bs;
  SmallVector<int64_t> split = {n, c, h, bs, w, bs};
  SmallVector<int64_t> out = {n, c * bs * bs, h, w};
  if (*mode == "DCR")
    return reshapeTransposeReshape(imp, **x, split, {0, 3, 5, 1, 2, 4}, out);
  if (*mode == "CRD")
    return reshapeTransposeReshape(imp, **x, split, {0, 1, 3, 5, 2, 4}, out);
  return imp.error() << "unknown mode '" << *mode << "'";
}

//===----------------------------------------------------------------------===//
// EyeLike, Trilu
//===----------------------------------------------------------------------===//

LogicalResult importEyeLike(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> k = imp.intAttr("k", 0);
  if (failed(x) || failed(k))
    return failure();
  if ((*x)->rank() != 2)
    return imp.error() << "input must be 2-D, got " << (*x)->type;
  Type elt = (*x)->elementType();
  if (imp.hasAttr("dtype")) {
    FailureOr<int64_t> dt = imp.intAttr("dtype", 0);
    if (failed(dt))
      return failure();
    elt = getElementType(imp.ctx, *dt);
    if (!elt)
      return imp.error() << "unsupported dtype " << dataTypeName(*dt);
  }
  int64_t rows = (*x)->shape()[0], cols = (*x)->shape()[1];
  auto type = RankedTensorType::get({rows, cols}, elt);
  Contents c;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      bool one = j - i == *k;
      if (isa<FloatType>(elt))
        c.floats.push_back(one ? 1.0 : 0.0);
      else
        c.ints.push_back(one ? 1 : 0);
    }
  if (!canFoldElements(elt, rows * cols))
    return imp.error() << "output of " << rows * cols
                       << " elements is too large";
  return imp.setOutput(0, imp.makeConst(type, std::move(c)));
}

/// where(mask, x, 0) with a constant [N, M] mask: upper keeps j - i >= k,
/// lower keeps j - i <= k.
LogicalResult importTrilu(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> upper = imp.intAttr("upper", 1);
  if (failed(x) || failed(upper))
    return failure();
  int64_t k = 0;
  if (imp.hasInput(1)) {
    FailureOr<TV *> kin = imp.constInput(1, "the k input");
    if (failed(kin))
      return failure();
    FailureOr<SmallVector<int64_t>> kv = imp.intsOf(**kin, "k");
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return imp.error() << "k must hold one value";
    k = kv->front();
  }
  int64_t rank = (*x)->rank();
  if (rank < 2)
    return imp.error() << "input must have rank >= 2, got " << (*x)->type;
  int64_t rows = (*x)->shape()[rank - 2], cols = (*x)->shape()[rank - 1];
  SmallVector<bool> mask;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      mask.push_back(*upper ? j - i >= k : j - i <= k);
  TV m = boolConst(imp, {rows, cols}, mask);
  TV zero = scalarTV(imp, (*x)->elementType(), 0.0);
  FailureOr<TV> r = imp.emitWhere(m, **x, zero);
  if (failed(r))
    return failure();
  if (r->shape() != (*x)->shape())
    return imp.error() << "internal error: Trilu changed the shape";
  return imp.setOutput(0, *r);
}

//===----------------------------------------------------------------------===//
// Pad
//===----------------------------------------------------------------------===//

/// Source index along one axis for output position `p` (in padded
/// coordinates shifted so that 0 is the first input element).
int64_t padSource(StringRef mode, int64_t p, int64_t dim) {
  if (mode == "edge")
    return std::clamp<int64_t>(p, 0, dim - 1);
  if (mode == "wrap")
    return ((p % dim) + dim) % dim;
  // reflect: mirror without repeating the edge; period 2 * (dim - 1).
  if (dim == 1)
    return 0;
  int64_t period = 2 * (dim - 1);
  int64_t q = ((p % period) + period) % period;
  return q < dim ? q : period - q;
}

LogicalResult importPad(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  FailureOr<std::string> mode = imp.stringAttr("mode", "constant");
  if (failed(mode))
    return failure();
  if (*mode != "constant" && *mode != "reflect" && *mode != "edge" &&
      *mode != "wrap")
    return imp.error() << "unknown mode '" << *mode << "'";
  int64_t rank = (*x)->rank();
  Type elt = (*x)->elementType();
  SmallVector<int64_t> rawPads, axes;
  TV value = scalarTV(imp, elt, 0.0);
  if (imp.opset < 11) {
    FailureOr<SmallVector<int64_t>> p =
        imp.intsAttr(imp.opset < 2 ? "paddings" : "pads");
    FailureOr<float> v = imp.floatAttr("value", 0.0f);
    if (failed(p) || failed(v))
      return failure();
    rawPads = *p;
    value = scalarTV(imp, elt, *v);
  } else {
    FailureOr<TV *> p = imp.constInput(1, "the pads input");
    if (failed(p))
      return failure();
    FailureOr<SmallVector<int64_t>> pv = imp.intsOf(**p, "pads");
    if (failed(pv))
      return failure();
    rawPads = *pv;
    if (imp.hasInput(2)) {
      FailureOr<TV *> v = imp.input(2);
      if (failed(v))
        return failure();
      if ((*v)->type.getNumElements() != 1 || (*v)->elementType() != elt)
        return imp.error() << "constant_value must be one " << elt
                           << " element, got " << (*v)->type;
      FailureOr<TV> s = imp.emitReshape(**v, {});
      if (failed(s))
        return failure();
      value = *s;
    }
    if (imp.hasInput(3)) {
      FailureOr<TV *> a = imp.constInput(3, "the axes input");
      if (failed(a))
        return failure();
      FailureOr<SmallVector<int64_t>> av = imp.intsOf(**a, "axes");
      if (failed(av))
        return failure();
      axes = *av;
    }
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  int64_t n = axes.size();
  if (static_cast<int64_t>(rawPads.size()) != 2 * n)
    return imp.error() << "pads has " << rawPads.size() << " entries for "
                       << n << " axes";
  SmallVector<int64_t> before(rank, 0), after(rank, 0);
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t i = 0; i < n; ++i) {
    FailureOr<int64_t> a = imp.normalizeAxis(axes[i], rank);
    if (failed(a))
      return failure();
    if (!seen.insert(*a).second)
      return imp.error() << "axis " << axes[i] << " appears twice";
    before[*a] = rawPads[i];
    after[*a] = rawPads[i + n];
  }
  TV cur = **x;
  // Negative pads crop first.
  for (int64_t d = 0; d < rank; ++d) {
    int64_t lo = std::max<int64_t>(0, -before[d]);
    int64_t hi = std::max<int64_t>(0, -after[d]);
    if (!lo && !hi)
      continue;
    int64_t dim = cur.shape()[d];
    if (lo + hi > dim)
      return imp.error() << "negative pads remove more than dim " << d
                         << " of size " << dim;
    FailureOr<TV> s = sliceAxis(imp, cur, d, lo, dim - lo - hi);
    if (failed(s))
      return failure();
    cur = *s;
  }
  for (int64_t d = 0; d < rank; ++d) {
    int64_t lo = std::max<int64_t>(0, before[d]);
    int64_t hi = std::max<int64_t>(0, after[d]);
    if (!lo && !hi)
      continue;
    int64_t dim = cur.shape()[d];
    if (*mode == "constant") {
      SmallVector<TV> parts;
      SmallVector<int64_t> shape(cur.shape());
      if (lo) {
        shape[d] = lo;
        FailureOr<TV> f = fill(imp, value, shape);
        if (failed(f))
          return failure();
        parts.push_back(*f);
      }
      parts.push_back(cur);
      if (hi) {
        shape[d] = hi;
        FailureOr<TV> f = fill(imp, value, shape);
        if (failed(f))
          return failure();
        parts.push_back(*f);
      }
      SmallVector<TV *> ptrs;
      for (TV &p : parts)
        ptrs.push_back(&p);
      FailureOr<TV> c = imp.emitConcat(ptrs, d);
      if (failed(c))
        return failure();
      cur = *c;
      continue;
    }
    if (dim == 0)
      return imp.error() << "cannot " << *mode << "-pad an empty dim " << d;
    SmallVector<int64_t> idx;
    for (int64_t p = -lo; p < dim + hi; ++p)
      idx.push_back(padSource(*mode, p, dim));
    TV indices = i64Const(imp, {static_cast<int64_t>(idx.size())}, idx);
    FailureOr<TV> g = imp.emitGather(cur, indices, d);
    if (failed(g))
      return failure();
    cur = *g;
  }
  return imp.setOutput(0, cur);
}

//===----------------------------------------------------------------------===//
// Compress, NonZero
//===----------------------------------------------------------------------===//

LogicalResult importCompress(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  FailureOr<TV *> cond = imp.constInput(1, "the condition input");
  if (failed(cond))
    return failure();
  if ((*cond)->rank() != 1)
    return imp.error() << "condition must be 1-D, got " << (*cond)->type;
  TV data = **x;
  int64_t axis = 0;
  if (imp.hasAttr("axis")) {
    FailureOr<int64_t> a = imp.intAttr("axis", 0);
    if (failed(a))
      return failure();
    FailureOr<int64_t> n = imp.normalizeAxis(*a, data.rank());
    if (failed(n))
      return failure();
    axis = *n;
  } else {
    FailureOr<TV> flat = imp.emitReshape(data, {data.type.getNumElements()});
    if (failed(flat))
      return failure();
    data = *flat;
  }
  int64_t dim = data.shape()[axis];
  const Contents &c = *(*cond)->data;
  SmallVector<int64_t> idx;
  int64_t len = std::max(c.ints.size(), c.floats.size());
  if (len > dim)
    return imp.error() << "condition has " << len << " entries for a dim of "
                       << dim;
  for (int64_t i = 0; i < len; ++i)
    if (c.ints.empty() ? c.floats[i] != 0 : c.ints[i] != 0)
      idx.push_back(i);
  TV indices = i64Const(imp, {static_cast<int64_t>(idx.size())}, idx);
  return setResult(imp, imp.emitGather(data, indices, axis));
}

LogicalResult importNonZero(GraphImporter &imp) {
  // The output's shape depends on the data: only static inputs.
  FailureOr<TV *> x = imp.constInput(0, "the input (NonZero's output shape "
                                        "depends on its data)");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = (*x)->shape();
  int64_t rank = shape.size();
  const Contents &c = *(*x)->data;
  int64_t n = (*x)->type.getNumElements();
  SmallVector<SmallVector<int64_t>> coords(rank);
  SmallVector<int64_t> counter(rank, 0);
  int64_t count = 0;
  for (int64_t k = 0; k < n; ++k) {
    bool nz = c.ints.empty() ? c.floats[k] != 0 : c.ints[k] != 0;
    if (nz) {
      ++count;
      for (int64_t d = 0; d < rank; ++d)
        coords[d].push_back(counter[d]);
    }
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++counter[d] < shape[d])
        break;
      counter[d] = 0;
    }
  }
  SmallVector<int64_t> flat;
  for (auto &row : coords)
    flat.append(row.begin(), row.end());
  if (rank == 0) // A scalar: one row of no coordinates.
    return imp.setOutput(0, i64Const(imp, {0, count}, {}));
  return imp.setOutput(0, i64Const(imp, {rank, count}, flat));
}

//===----------------------------------------------------------------------===//
// OneHot
//===----------------------------------------------------------------------===//

LogicalResult importOneHot(GraphImporter &imp) {
  FailureOr<TV *> indices = imp.input(0);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", -1);
  if (failed(indices) || failed(axisAttr))
    return failure();
  FailureOr<TV *> depthIn = imp.constInput(1, "the depth input");
  if (failed(depthIn))
    return failure();
  FailureOr<TV *> values = imp.input(2);
  if (failed(values))
    return failure();
  if ((*depthIn)->type.getNumElements() != 1)
    return imp.error() << "depth must hold one value";
  const Contents &dc = *(*depthIn)->data;
  int64_t depth = dc.ints.empty() ? static_cast<int64_t>(dc.floats[0])
                                  : dc.ints[0];
  if (depth <= 0)
    return imp.error() << "depth must be positive, got " << depth;
  if ((*values)->type.getNumElements() != 2)
    return imp.error() << "values must hold [off, on], got "
                       << (*values)->type;
  int64_t rank = (*indices)->rank();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank + 1);
  if (failed(axis))
    return failure();
  Type i64 = imp.builder.getI64Type();
  TV idx = **indices;
  if (idx.elementType() != i64) {
    FailureOr<TV> c = imp.emitCast(idx, i64);
    if (failed(c))
      return failure();
    idx = *c;
  }
  // Negative indices count from the end of the depth.
  TV zero = scalarTV(imp, i64, 0), d = scalarTV(imp, i64, double(depth));
  FailureOr<TV> neg = imp.emitBinary(BinaryKind::Less, idx, zero);
  if (failed(neg))
    return failure();
  FailureOr<TV> shifted = imp.emitBinary(BinaryKind::Add, idx, d);
  if (failed(shifted))
    return failure();
  FailureOr<TV> norm = imp.emitWhere(*neg, *shifted, idx);
  if (failed(norm))
    return failure();
  SmallVector<int64_t> unsq(idx.shape());
  unsq.insert(unsq.begin() + *axis, 1);
  FailureOr<TV> u = imp.emitReshape(*norm, unsq);
  if (failed(u))
    return failure();
  SmallVector<int64_t> iotaShape(rank + 1, 1), iota;
  iotaShape[*axis] = depth;
  for (int64_t i = 0; i < depth; ++i)
    iota.push_back(i);
  TV iotaTV = i64Const(imp, iotaShape, iota);
  FailureOr<TV> eq = imp.emitBinary(BinaryKind::Equal, *u, iotaTV);
  if (failed(eq))
    return failure();
  FailureOr<TV> flatValues = imp.emitReshape(**values, {2});
  if (failed(flatValues))
    return failure();
  FailureOr<TV> off = sliceAxis(imp, *flatValues, 0, 0, 1);
  FailureOr<TV> on = sliceAxis(imp, *flatValues, 0, 1, 1);
  if (failed(off) || failed(on))
    return failure();
  FailureOr<TV> offS = imp.emitReshape(*off, {});
  FailureOr<TV> onS = imp.emitReshape(*on, {});
  if (failed(offS) || failed(onS))
    return failure();
  return setResult(imp, imp.emitWhere(*eq, *onS, *offS));
}


//===----------------------------------------------------------------------===//
// CenterCropPad
//===----------------------------------------------------------------------===//

/// Per listed axis: a centered slice when the target is smaller, centered
/// zero padding (the odd element at the end) when it is larger.
LogicalResult importCenterCropPad(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  FailureOr<TV *> shapeIn = imp.constInput(1, "the shape input");
  if (failed(shapeIn))
    return failure();
  FailureOr<SmallVector<int64_t>> target = imp.intsOf(**shapeIn, "shape");
  FailureOr<SmallVector<int64_t>> axesAttr = imp.intsAttr("axes");
  if (failed(target) || failed(axesAttr))
    return failure();
  int64_t rank = (*x)->rank();
  SmallVector<int64_t> axes;
  if (axesAttr->empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  for (int64_t a : *axesAttr) {
    FailureOr<int64_t> n = imp.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    axes.push_back(*n);
  }
  if (target->size() != axes.size())
    return imp.error() << "shape has " << target->size() << " entries for "
                       << axes.size() << " axes";
  TV cur = **x;
  Type elt = cur.elementType();
  for (auto [a, want] : llvm::zip(axes, *target)) {
    int64_t dim = cur.shape()[a];
    if (want < 0)
      return imp.error() << "negative target size " << want;
    if (want < dim) {
      FailureOr<TV> s = sliceAxis(imp, cur, a, (dim - want) / 2, want);
      if (failed(s))
        return failure();
      cur = *s;
    } else if (want > dim) {
      int64_t lo = (want - dim) / 2, hi = want - dim - lo;
      SmallVector<TV> parts;
      SmallVector<int64_t> zs(cur.shape());
      if (lo) {
        zs[a] = lo;
        parts.push_back(imp.makeSplat(RankedTensorType::get(zs, elt), 0.0));
      }
      parts.push_back(cur);
      if (hi) {
        zs[a] = hi;
        parts.push_back(imp.makeSplat(RankedTensorType::get(zs, elt), 0.0));
      }
      SmallVector<TV *> ptrs;
      for (TV &p : parts)
        ptrs.push_back(&p);
      FailureOr<TV> c = imp.emitConcat(ptrs, a);
      if (failed(c))
        return failure();
      cur = *c;
    }
  }
  return imp.setOutput(0, cur);
}

} // namespace

void mlir::kiln::onnx::registerLayoutOps(llvm::StringMap<OpHandler> &map) {
  map["Tile"] = importTile;
  map["DepthToSpace"] = importDepthToSpace;
  map["SpaceToDepth"] = importSpaceToDepth;
  map["EyeLike"] = importEyeLike;
  map["Trilu"] = importTrilu;
  map["Pad"] = importPad;
  map["CenterCropPad"] = importCenterCropPad;
  map["Compress"] = importCompress;
  map["NonZero"] = importNonZero;
  map["OneHot"] = importOneHot;
}
