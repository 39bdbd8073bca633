//===- OpsIndexing.cpp - indexing and contraction ONNX ops ----------------===//
//
// Part of kiln. Handlers for GatherElements, GatherND, ReverseSequence,
// CumSum/CumProd, Einsum, the scatters, TfIdfVectorizer (token
// comparisons on shifted slices), Unique and NonMaxSuppression (evaluated
// at import on constant inputs), mostly decomposed exactly into
// existing kiln ops:
//   GatherElements / GatherND -> integer arithmetic computing flat indices
//       (constant strides and offsets) and one kiln.gather on the flattened
//       data;
//   CumSum, CumProd -> kiln.cumulative;
//   Einsum -> diagonals (gathers), reductions, transposes, reshapes and
//       batched matmuls.
// ScatterND and ScatterElements (rows of full coordinates) become
// kiln.scatter_nd, which applies its rows in order.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "dialects/Kiln/KilnOps.h"

#include "onnx.pb.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

/// Row-major strides of `shape`.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/// int64 copy of an index tensor with negative entries wrapped by `dim`
/// (dims given per element by broadcasting `dim`, a scalar here).
FailureOr<TV> normalizeIndices(GraphImporter &imp, TV &idx, int64_t dim) {
  Type i64 = imp.builder.getI64Type();
  Type it = idx.elementType();
  if (!it.isSignlessInteger(32) && !it.isSignlessInteger(64))
    return imp.error() << "indices must be int32 or int64, got " << idx.type;
  TV cur = idx;
  if (it != i64) {
    FailureOr<TV> c = imp.emitCast(idx, i64);
    if (failed(c))
      return failure();
    cur = *c;
  }
  if (cur.hasData()) {
    for (int64_t v : cur.data->ints)
      if (v < -dim || v >= dim)
        return imp.error() << "index " << v << " is out of range for a dim of "
                           << dim;
  }
  TV zero = scalarTV(imp, i64, 0), d = scalarTV(imp, i64, double(dim));
  FailureOr<TV> neg = imp.emitBinary(BinaryKind::Less, cur, zero);
  if (failed(neg))
    return failure();
  FailureOr<TV> shifted = imp.emitBinary(BinaryKind::Add, cur, d);
  if (failed(shifted))
    return failure();
  return imp.emitWhere(*neg, *shifted, cur);
}

//===----------------------------------------------------------------------===//
// GatherElements
//===----------------------------------------------------------------------===//

/// out[i] = data[i with the axis coordinate replaced by indices[i]]: one
/// kiln.gather on the flattened data at flat indices.
FailureOr<TV> gatherElements(GraphImporter &imp, TV &data, TV &indices,
                             int64_t axis) {
  int64_t rank = data.rank();
  if (indices.rank() != rank)
    return imp.error() << "indices must have the data's rank " << rank
                       << ", got " << indices.type;
  ArrayRef<int64_t> ds = data.shape(), is = indices.shape();
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && is[d] > ds[d])
      return imp.error() << "indices dim " << d << " (" << is[d]
                         << ") exceeds the data's (" << ds[d] << ")";
  SmallVector<int64_t> strides = stridesOf(ds);
  // base[i] = sum over d != axis of i_d * stride_d.
  int64_t n = product(is);
  SmallVector<int64_t> base(n), counter(rank, 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis)
        off += counter[d] * strides[d];
    base[k] = off;
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++counter[d] < is[d])
        break;
      counter[d] = 0;
    }
  }
  FailureOr<TV> norm = normalizeIndices(imp, indices, ds[axis]);
  if (failed(norm))
    return failure();
  Type i64 = imp.builder.getI64Type();
  TV stride = scalarTV(imp, i64, double(strides[axis]));
  FailureOr<TV> scaled = imp.emitBinary(BinaryKind::Mul, *norm, stride);
  if (failed(scaled))
    return failure();
  TV baseTV = i64Const(imp, is, base);
  FailureOr<TV> flatIdx = imp.emitBinary(BinaryKind::Add, *scaled, baseTV);
  if (failed(flatIdx))
    return failure();
  FailureOr<TV> flat = imp.emitReshape(data, {product(ds)});
  if (failed(flat))
    return failure();
  return imp.emitGather(*flat, *flatIdx, 0);
}

LogicalResult importGatherElements(GraphImporter &imp) {
  FailureOr<TV *> data = imp.input(0), indices = imp.input(1);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  if (failed(data) || failed(indices) || failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, (*data)->rank());
  if (failed(axis))
    return failure();
  return setResult(imp, gatherElements(imp, **data, **indices, *axis));
}

/// ReverseSequence: along the time axis, entry t of batch b reads
/// len[b] - 1 - t for t < len[b] and stays otherwise (a GatherElements).
LogicalResult importReverseSequence(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), lens = imp.input(1);
  FailureOr<int64_t> batchAttr = imp.intAttr("batch_axis", 1);
  FailureOr<int64_t> timeAttr = imp.intAttr("time_axis", 0);
  if (failed(x) || failed(lens) || failed(batchAttr) || failed(timeAttr))
    return failure();
  int64_t rank = (*x)->rank();
  FailureOr<int64_t> ba = imp.normalizeAxis(*batchAttr, rank, "batch_axis");
  FailureOr<int64_t> ta = imp.normalizeAxis(*timeAttr, rank, "time_axis");
  if (failed(ba) || failed(ta))
    return failure();
  if (*ba == *ta)
    return imp.error() << "batch_axis and time_axis must differ";
  int64_t b = (*x)->shape()[*ba], t = (*x)->shape()[*ta];
  if ((*lens)->rank() != 1 || (*lens)->shape()[0] != b)
    return imp.error() << "sequence_lens must be [" << b << "], got "
                       << (*lens)->type;
  Type i64 = imp.builder.getI64Type();
  TV len = **lens;
  if (len.elementType() != i64) {
    FailureOr<TV> c = imp.emitCast(len, i64);
    if (failed(c))
      return failure();
    len = *c;
  }
  // [T, B] (or [B, T]) source indices, then broadcast to the data shape.
  SmallVector<int64_t> tShape(rank, 1), bShape(rank, 1), iota;
  tShape[*ta] = t;
  bShape[*ba] = b;
  for (int64_t i = 0; i < t; ++i)
    iota.push_back(i);
  TV ti = i64Const(imp, tShape, iota);
  FailureOr<TV> lb = imp.emitReshape(len, bShape);
  if (failed(lb))
    return failure();
  FailureOr<TV> live = imp.emitBinary(BinaryKind::Less, ti, *lb);
  if (failed(live))
    return failure();
  TV one = scalarTV(imp, i64, 1);
  FailureOr<TV> last = imp.emitBinary(BinaryKind::Sub, *lb, one);
  if (failed(last))
    return failure();
  FailureOr<TV> rev = imp.emitBinary(BinaryKind::Sub, *last, ti);
  if (failed(rev))
    return failure();
  FailureOr<TV> src = imp.emitWhere(*live, *rev, ti);
  if (failed(src))
    return failure();
  FailureOr<TV> full = imp.emitExpand(*src, (*x)->shape());
  if (failed(full))
    return failure();
  return setResult(imp, gatherElements(imp, **x, *full, *ta));
}

//===----------------------------------------------------------------------===//
// GatherND
//===----------------------------------------------------------------------===//

LogicalResult importGatherND(GraphImporter &imp) {
  FailureOr<TV *> data = imp.input(0), indices = imp.input(1);
  FailureOr<int64_t> batchDims = imp.intAttr("batch_dims", 0);
  if (failed(data) || failed(indices) || failed(batchDims))
    return failure();
  ArrayRef<int64_t> ds = (*data)->shape(), is = (*indices)->shape();
  int64_t b = *batchDims, r = ds.size(), q = is.size();
  if (q < 1 || b < 0 || b >= std::min(r, q))
    return imp.error() << "batch_dims " << b << " does not fit data "
                       << (*data)->type << " and indices " << (*indices)->type;
  int64_t k = is.back();
  if (k < 1 || b + k > r)
    return imp.error() << "indices' last dim " << k << " does not fit data "
                       << (*data)->type << " with batch_dims " << b;
  for (int64_t d = 0; d < b; ++d)
    if (ds[d] != is[d])
      return imp.error() << "batch dim " << d << " differs: " << ds[d]
                         << " vs " << is[d];
  ArrayRef<int64_t> batch = ds.take_front(b);
  ArrayRef<int64_t> indexed = ds.slice(b, k);
  ArrayRef<int64_t> rest = ds.drop_front(b + k);
  ArrayRef<int64_t> outer = is.drop_back(); // batch + query dims
  int64_t rows = product(indexed);
  SmallVector<int64_t> strides = stridesOf(indexed);
  Type i64 = imp.builder.getI64Type();
  // flat = batchOffset + sum_j norm(idx[..., j]) * stride_j
  TV idx = **indices;
  std::optional<TV> acc;
  for (int64_t j = 0; j < k; ++j) {
    FailureOr<TV> col = sliceAxis(imp, idx, q - 1, j, 1);
    if (failed(col))
      return failure();
    FailureOr<TV> colR = imp.emitReshape(*col, outer);
    if (failed(colR))
      return failure();
    FailureOr<TV> norm = normalizeIndices(imp, *colR, indexed[j]);
    if (failed(norm))
      return failure();
    TV stride = scalarTV(imp, i64, double(strides[j]));
    FailureOr<TV> term = imp.emitBinary(BinaryKind::Mul, *norm, stride);
    if (failed(term))
      return failure();
    if (!acc) {
      acc = *term;
      continue;
    }
    FailureOr<TV> sum = imp.emitBinary(BinaryKind::Add, *acc, *term);
    if (failed(sum))
      return failure();
    acc = *sum;
  }
  if (b > 0) {
    SmallVector<int64_t> offShape(outer.size(), 1), offs;
    for (int64_t d = 0; d < b; ++d)
      offShape[d] = batch[d];
    int64_t nb = product(batch);
    for (int64_t i = 0; i < nb; ++i)
      offs.push_back(i * rows);
    TV off = i64Const(imp, offShape, offs);
    FailureOr<TV> sum = imp.emitBinary(BinaryKind::Add, *acc, off);
    if (failed(sum))
      return failure();
    acc = *sum;
  }
  SmallVector<int64_t> flatShape = {product(batch) * rows};
  flatShape.append(rest.begin(), rest.end());
  FailureOr<TV> flat = imp.emitReshape(**data, flatShape);
  if (failed(flat))
    return failure();
  return setResult(imp, imp.emitGather(*flat, *acc, 0));
}

//===----------------------------------------------------------------------===//
// CumSum, CumProd
//===----------------------------------------------------------------------===//

/// CumSum and CumProd: kiln.cumulative along the (constant) axis.
template <bool IsProd> LogicalResult importCumulative(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  FailureOr<int64_t> exclusive = imp.intAttr("exclusive", 0);
  FailureOr<int64_t> reverse = imp.intAttr("reverse", 0);
  if (failed(x) || failed(exclusive) || failed(reverse))
    return failure();
  FailureOr<TV *> axisIn = imp.constInput(1, "the axis input");
  if (failed(axisIn))
    return failure();
  FailureOr<SmallVector<int64_t>> av = imp.intsOf(**axisIn, "axis");
  if (failed(av))
    return failure();
  if (av->size() != 1)
    return imp.error() << "axis must hold one value";
  int64_t rank = (*x)->rank();
  if (rank == 0)
    return imp.error() << "input must have rank >= 1";
  FailureOr<int64_t> axis = imp.normalizeAxis(av->front(), rank);
  if (failed(axis))
    return failure();
  FailureOr<Value> v = imp.materialize(**x);
  if (failed(v))
    return failure();
  return setValue(imp, imp.create<CumulativeOp>(
                           (*x)->type, *v, imp.builder.getI64IntegerAttr(*axis),
                           imp.builder.getStringAttr(IsProd ? "prod" : "sum"),
                           imp.builder.getBoolAttr(*exclusive != 0),
                           imp.builder.getBoolAttr(*reverse != 0)));
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// One operand during contraction: its value and one label per dim.
struct Term {
  TV value;
  std::string labels;
};

/// Sums out the dims of `t` whose labels are not in `keep`.
LogicalResult sumOut(GraphImporter &imp, Term &t, StringRef keep) {
  SmallVector<int64_t> axes;
  std::string kept;
  for (auto [d, c] : llvm::enumerate(t.labels)) {
    if (keep.contains(c))
      kept.push_back(c);
    else
      axes.push_back(d);
  }
  if (axes.empty())
    return success();
  FailureOr<TV> r =
      imp.emitReduce(ReduceKind::Sum, t.value, axes, /*keepdims=*/false);
  if (failed(r))
    return failure();
  t.value = *r;
  t.labels = kept;
  return success();
}

/// Takes the diagonal of every label repeated within `t`.
LogicalResult takeDiagonals(GraphImporter &imp, Term &t) {
  for (size_t i = 0; i < t.labels.size(); ++i) {
    size_t j = t.labels.find(t.labels[i], i + 1);
    if (j == std::string::npos)
      continue;
    int64_t n = t.value.shape()[i];
    if (t.value.shape()[j] != n)
      return imp.error() << "label '" << t.labels[i]
                         << "' has two different sizes";
    // Move dims i and j last, merge them and gather the diagonal.
    int64_t rank = t.value.rank();
    SmallVector<int64_t> perm;
    std::string labels;
    for (int64_t d = 0; d < rank; ++d)
      if (d != (int64_t)i && d != (int64_t)j) {
        perm.push_back(d);
        labels.push_back(t.labels[d]);
      }
    perm.append({(int64_t)i, (int64_t)j});
    FailureOr<TV> tr = imp.emitTranspose(t.value, perm);
    if (failed(tr))
      return failure();
    SmallVector<int64_t> shape(tr->shape().drop_back(2));
    shape.push_back(n * n);
    FailureOr<TV> merged = imp.emitReshape(*tr, shape);
    if (failed(merged))
      return failure();
    SmallVector<int64_t> diag;
    for (int64_t k = 0; k < n; ++k)
      diag.push_back(k * n + k);
    TV idx = i64Const(imp, {n}, diag);
    FailureOr<TV> g = imp.emitGather(*merged, idx, rank - 2);
    if (failed(g))
      return failure();
    labels.push_back(t.labels[i]);
    t.value = *g;
    t.labels = labels;
    i = static_cast<size_t>(-1); // Restart: labels moved.
  }
  return success();
}

/// Transposes `t` so that its labels read `order` (a permutation).
LogicalResult permuteTo(GraphImporter &imp, Term &t, StringRef order) {
  SmallVector<int64_t> perm;
  for (char c : order)
    perm.push_back(t.labels.find(c));
  FailureOr<TV> r = imp.emitTranspose(t.value, perm);
  if (failed(r))
    return failure();
  t.value = *r;
  t.labels = order.str();
  return success();
}

/// Contracts two terms, keeping the labels in `keep`.
FailureOr<Term> contract(GraphImporter &imp, Term &a, Term &b,
                         StringRef keep) {
  std::string batch, left, right, sum;
  for (char c : a.labels) {
    bool inB = b.labels.find(c) != std::string::npos;
    if (inB && keep.contains(c))
      batch.push_back(c);
    else if (inB)
      sum.push_back(c);
    else
      left.push_back(c);
  }
  for (char c : b.labels)
    if (a.labels.find(c) == std::string::npos)
      right.push_back(c);
  auto sizeOf = [&](StringRef labels) {
    int64_t n = 1;
    for (char c : labels) {
      size_t i = a.labels.find(c);
      n *= i != std::string::npos ? a.value.shape()[i]
                                  : b.value.shape()[b.labels.find(c)];
    }
    return n;
  };
  auto dimsOf = [&](StringRef labels) {
    SmallVector<int64_t> dims;
    for (char c : labels) {
      size_t i = a.labels.find(c);
      dims.push_back(i != std::string::npos
                         ? a.value.shape()[i]
                         : b.value.shape()[b.labels.find(c)]);
    }
    return dims;
  };
  for (char c : batch + sum)
    if (a.value.shape()[a.labels.find(c)] !=
        b.value.shape()[b.labels.find(c)])
      return imp.error() << "label '" << c << "' has two different sizes";
  if (failed(permuteTo(imp, a, batch + left + sum)) ||
      failed(permuteTo(imp, b, batch + sum + right)))
    return failure();
  int64_t nb = sizeOf(batch), nl = sizeOf(left), ns = sizeOf(sum),
          nr = sizeOf(right);
  FailureOr<TV> a3 = imp.emitReshape(a.value, {nb, nl, ns});
  FailureOr<TV> b3 = imp.emitReshape(b.value, {nb, ns, nr});
  if (failed(a3) || failed(b3))
    return failure();
  FailureOr<TV> p = imp.emitMatMul(*a3, *b3);
  if (failed(p))
    return failure();
  SmallVector<int64_t> shape = dimsOf(batch);
  llvm::append_range(shape, dimsOf(left));
  llvm::append_range(shape, dimsOf(right));
  FailureOr<TV> r = imp.emitReshape(*p, shape);
  if (failed(r))
    return failure();
  return Term{*r, batch + left + right};
}

LogicalResult importEinsum(GraphImporter &imp) {
  FailureOr<std::string> eqAttr = imp.stringAttr("equation", "");
  if (failed(eqAttr))
    return failure();
  std::string eq;
  for (char c : *eqAttr)
    if (!llvm::isSpace(c))
      eq.push_back(c);
  StringRef lhs = eq, rhs;
  bool explicitOut = false;
  size_t arrow = eq.find("->");
  if (arrow != std::string::npos) {
    lhs = StringRef(eq).take_front(arrow);
    rhs = StringRef(eq).drop_front(arrow + 2);
    explicitOut = true;
  }
  SmallVector<StringRef> specs;
  lhs.split(specs, ',');
  if (static_cast<int>(specs.size()) != imp.numInputs())
    return imp.error() << "equation '" << *eqAttr << "' has " << specs.size()
                       << " operands, the node " << imp.numInputs();
  // Ellipsis dims get labels from the unused characters '0'..
  int64_t ellipsisRank = 0;
  SmallVector<Term> terms;
  for (auto [i, spec] : llvm::enumerate(specs)) {
    FailureOr<TV *> x = imp.input(i);
    if (failed(x))
      return failure();
    int64_t letters = 0;
    for (char c : spec)
      letters += llvm::isAlpha(c);
    if (spec.contains("..."))
      ellipsisRank = std::max(ellipsisRank, (*x)->rank() - letters);
  }
  auto expand = [&](StringRef spec, int64_t rank) -> FailureOr<std::string> {
    std::string out;
    size_t dots = spec.find("...");
    if (dots == StringRef::npos) {
      for (char c : spec) {
        if (!llvm::isAlpha(c))
          return imp.error() << "bad character '" << c << "' in equation";
        out.push_back(c);
      }
      return out;
    }
    int64_t letters = static_cast<int64_t>(spec.size()) - 3;
    int64_t n = rank < 0 ? ellipsisRank : rank - letters;
    out = spec.take_front(dots).str();
    for (int64_t k = ellipsisRank - n; k < ellipsisRank; ++k)
      out.push_back(static_cast<char>('0' + k));
    out += spec.drop_front(dots + 3).str();
    return out;
  };
  for (auto [i, spec] : llvm::enumerate(specs)) {
    TV &x = **imp.input(i);
    FailureOr<std::string> labels = expand(spec, x.rank());
    if (failed(labels))
      return failure();
    if (static_cast<int64_t>(labels->size()) != x.rank())
      return imp.error() << "operand " << i << " has rank " << x.rank()
                         << " but its subscripts '" << spec.str() << "' name "
                         << labels->size() << " dims";
    terms.push_back(Term{x, *labels});
  }
  std::string out;
  if (explicitOut) {
    FailureOr<std::string> o = expand(rhs, -1);
    if (failed(o))
      return failure();
    out = *o;
  } else {
    // Implicit: ellipsis dims, then labels used once, alphabetically.
    std::map<char, int> count;
    for (Term &t : terms)
      for (char c : t.labels)
        ++count[c];
    for (int64_t k = 0; k < ellipsisRank; ++k)
      out.push_back(static_cast<char>('0' + k));
    for (auto [c, n] : count)
      if (n == 1 && llvm::isAlpha(c))
        out.push_back(c);
  }
  for (Term &t : terms)
    if (failed(takeDiagonals(imp, t)))
      return failure();
  // Labels needed after operand i: those of later operands and the output.
  auto neededAfter = [&](size_t i) {
    std::string need = out;
    for (size_t j = i + 1; j < terms.size(); ++j)
      need += terms[j].labels;
    return need;
  };
  std::string need0 = neededAfter(0);
  Term acc = terms[0];
  // Sum out labels only operand 0 has.
  if (failed(sumOut(imp, acc, need0)))
    return failure();
  for (size_t i = 1; i < terms.size(); ++i) {
    std::string need = neededAfter(i);
    Term &t = terms[i];
    if (failed(sumOut(imp, t, need + acc.labels)))
      return failure();
    FailureOr<Term> r = contract(imp, acc, t, need);
    if (failed(r))
      return failure();
    acc = *r;
    if (failed(sumOut(imp, acc, need)))
      return failure();
  }
  for (char c : out)
    if (acc.labels.find(c) == std::string::npos)
      return imp.error() << "output label '" << c << "' is not an input label";
  if (failed(permuteTo(imp, acc, out)))
    return failure();
  return imp.setOutput(0, acc.value);
}


//===----------------------------------------------------------------------===//
// ScatterND, ScatterElements
//===----------------------------------------------------------------------===//

FailureOr<TV> emitScatterND(GraphImporter &imp, TV &data, TV &indices,
                            TV &updates, StringRef reduction) {
  Type it = indices.elementType();
  if (!it.isSignlessInteger(32) && !it.isSignlessInteger(64))
    return imp.error() << "indices must be int32 or int64, got "
                       << indices.type;
  FailureOr<Value> vd = imp.materialize(data);
  if (failed(vd))
    return failure();
  FailureOr<Value> vi = imp.materialize(indices);
  if (failed(vi))
    return failure();
  FailureOr<Value> vu = imp.materialize(updates);
  if (failed(vu))
    return failure();
  FailureOr<Value> r = imp.create<ScatterNDOp>(
      data.type, *vd, *vi, *vu, imp.builder.getStringAttr(reduction));
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

LogicalResult importScatterND(GraphImporter &imp) {
  FailureOr<TV *> data = imp.input(0), indices = imp.input(1),
                  updates = imp.input(2);
  FailureOr<std::string> reduction = imp.stringAttr("reduction", "none");
  if (failed(data) || failed(indices) || failed(updates) || failed(reduction))
    return failure();
  return setResult(imp, emitScatterND(imp, **data, **indices, **updates,
                                      *reduction));
}

/// ScatterElements (and the deprecated Scatter): every element of
/// `indices` names one element of the result; their full coordinates (the
/// element's own position with the axis coordinate replaced) make a
/// ScatterND with rows of length rank.
LogicalResult importScatterElements(GraphImporter &imp) {
  FailureOr<TV *> data = imp.input(0), indices = imp.input(1),
                  updates = imp.input(2);
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", 0);
  FailureOr<std::string> reduction = imp.stringAttr("reduction", "none");
  if (failed(data) || failed(indices) || failed(updates) ||
      failed(axisAttr) || failed(reduction))
    return failure();
  int64_t rank = (*data)->rank();
  ArrayRef<int64_t> is = (*indices)->shape();
  if ((*indices)->rank() != rank || (*updates)->shape() != is)
    return imp.error() << "indices " << (*indices)->type << " and updates "
                       << (*updates)->type
                       << " must have one shape of the data's rank " << rank;
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
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
  SmallVector<int64_t> colShape(is);
  colShape.push_back(1);
  int64_t n = product(is);
  SmallVector<TV> cols;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == *axis) {
      FailureOr<TV> col = imp.emitReshape(idx, colShape);
      if (failed(col))
        return failure();
      cols.push_back(*col);
      continue;
    }
    // The element's own coordinate along d.
    SmallVector<int64_t> values(n);
    int64_t inner = product(is.drop_front(d + 1));
    for (int64_t e = 0; e < n; ++e)
      values[e] = (e / inner) % is[d];
    cols.push_back(i64Const(imp, colShape, values));
  }
  SmallVector<TV *> ptrs;
  for (TV &c : cols)
    ptrs.push_back(&c);
  FailureOr<TV> coords = imp.emitConcat(ptrs, rank);
  if (failed(coords))
    return failure();
  return setResult(imp, emitScatterND(imp, **data, *coords, **updates,
                                      *reduction));
}


/// MaxUnpool: the values scattered to their flat indices in a zero tensor of
/// the inferred shape, then zero-padded at the end to output_shape.
LogicalResult importMaxUnpool(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), indices = imp.input(1);
  if (failed(x) || failed(indices))
    return failure();
  int64_t rank = (*x)->rank(), k = rank - 2;
  if (rank < 3 || (*indices)->shape() != (*x)->shape())
    return imp.error() << "X and I must have one N x C x spatial... shape";
  FailureOr<SmallVector<int64_t>> kernel = imp.intsAttr("kernel_shape");
  FailureOr<SmallVector<int64_t>> strides =
      imp.intsAttr("strides", SmallVector<int64_t>(k, 1));
  FailureOr<SmallVector<int64_t>> pads =
      imp.intsAttr("pads", SmallVector<int64_t>(2 * k, 0));
  if (failed(kernel) || failed(strides) || failed(pads))
    return failure();
  if (static_cast<int64_t>(kernel->size()) != k ||
      static_cast<int64_t>(strides->size()) != k ||
      static_cast<int64_t>(pads->size()) != 2 * k)
    return imp.error() << "kernel_shape, strides and pads do not fit " << k
                       << " spatial dims";
  ArrayRef<int64_t> xs = (*x)->shape();
  SmallVector<int64_t> inferred = {xs[0], xs[1]};
  for (int64_t d = 0; d < k; ++d)
    inferred.push_back((xs[2 + d] - 1) * (*strides)[d] -
                       ((*pads)[d] + (*pads)[k + d]) + (*kernel)[d]);
  SmallVector<int64_t> outShape(inferred);
  if (imp.hasInput(2)) {
    FailureOr<TV *> os = imp.constInput(2, "the output_shape input");
    if (failed(os))
      return failure();
    FailureOr<SmallVector<int64_t>> v = imp.intsOf(**os, "output_shape");
    if (failed(v))
      return failure();
    if (static_cast<int64_t>(v->size()) != rank)
      return imp.error() << "output_shape must have " << rank << " entries";
    outShape = *v;
  }
  int64_t total = product(inferred), n = product(xs);
  Type elt = (*x)->elementType();
  TV zeros = imp.makeSplat(RankedTensorType::get({total}, elt), 0.0);
  FailureOr<TV> idx = imp.emitReshape(**indices, {n, 1});
  FailureOr<TV> upd = imp.emitReshape(**x, {n});
  if (failed(idx) || failed(upd))
    return failure();
  FailureOr<TV> y = emitScatterND(imp, zeros, *idx, *upd, "none");
  if (failed(y))
    return failure();
  FailureOr<TV> cur = imp.emitReshape(*y, inferred);
  if (failed(cur))
    return failure();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t extra = outShape[d] - inferred[d];
    if (extra < 0)
      return imp.error() << "output_shape " << shapeText(outShape)
                         << " is smaller than the unpooled shape "
                         << shapeText(inferred);
    if (!extra)
      continue;
    SmallVector<int64_t> zs(cur->shape());
    zs[d] = extra;
    TV z = imp.makeSplat(RankedTensorType::get(zs, elt), 0.0);
    TV *parts[] = {&*cur, &z};
    cur = imp.emitConcat(parts, d);
    if (failed(cur))
      return failure();
  }
  return imp.setOutput(0, *cur);
}


/// TensorScatter (KV-cache update): for every prefix index (dims before the
/// axis) and update position s, the cache row write_indices[batch] + s
/// (modulo the cache length in circular mode) receives the update row; a
/// kiln.scatter_nd with rows of length axis + 1.
LogicalResult importTensorScatter(GraphImporter &imp) {
  FailureOr<TV *> cache = imp.input(0), update = imp.input(1);
  FailureOr<std::string> mode = imp.stringAttr("mode", "linear");
  FailureOr<int64_t> axisAttr = imp.intAttr("axis", -2);
  if (failed(cache) || failed(update) || failed(mode) || failed(axisAttr))
    return failure();
  if (*mode != "linear" && *mode != "circular")
    return imp.error() << "unknown mode '" << *mode << "'";
  int64_t rank = (*cache)->rank();
  FailureOr<int64_t> axis = imp.normalizeAxis(*axisAttr, rank);
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> cs = (*cache)->shape(), us = (*update)->shape();
  if ((*update)->rank() != rank || *axis == 0)
    return imp.error() << "update " << (*update)->type
                       << " does not fit the cache " << (*cache)->type;
  for (int64_t d = 0; d < rank; ++d)
    if (d != *axis ? us[d] != cs[d] : us[d] > cs[d])
      return imp.error() << "update " << (*update)->type
                         << " does not fit the cache " << (*cache)->type;
  int64_t maxLen = cs[*axis], seq = us[*axis], batch = cs[0];
  Type i64 = imp.builder.getI64Type();
  // Row coordinates [prefix..., seq, axis + 1].
  ArrayRef<int64_t> prefix = us.take_front(*axis);
  SmallVector<int64_t> rowShape(prefix);
  rowShape.push_back(seq);
  int64_t rows = product(rowShape);
  SmallVector<int64_t> colShape(rowShape);
  colShape.push_back(1);
  SmallVector<TV> cols;
  for (int64_t d = 0; d < *axis; ++d) {
    SmallVector<int64_t> v(rows);
    int64_t inner = product(ArrayRef<int64_t>(rowShape).drop_front(d + 1));
    for (int64_t e = 0; e < rows; ++e)
      v[e] = (e / inner) % rowShape[d];
    cols.push_back(i64Const(imp, colShape, v));
  }
  SmallVector<int64_t> sShape(rowShape.size(), 1), sv;
  sShape.back() = seq;
  for (int64_t i = 0; i < seq; ++i)
    sv.push_back(i);
  TV pos = i64Const(imp, sShape, sv);
  if (imp.hasInput(2)) {
    FailureOr<TV *> wi = imp.input(2);
    if (failed(wi))
      return failure();
    TV w = **wi;
    if (w.elementType() != i64) {
      FailureOr<TV> c = imp.emitCast(w, i64);
      if (failed(c))
        return failure();
      w = *c;
    }
    SmallVector<int64_t> bShape(rowShape.size(), 1);
    bShape[0] = batch;
    FailureOr<TV> wb = imp.emitReshape(w, bShape);
    if (failed(wb))
      return failure();
    FailureOr<TV> p = imp.emitBinary(BinaryKind::Add, pos, *wb);
    if (failed(p))
      return failure();
    pos = *p;
    if (*mode == "circular") {
      TV m = scalarTV(imp, i64, double(maxLen));
      FailureOr<TV> over = imp.emitBinary(BinaryKind::Less, pos, m);
      FailureOr<TV> wrapped = imp.emitBinary(BinaryKind::Sub, pos, m);
      if (failed(over) || failed(wrapped))
        return failure();
      FailureOr<TV> sel = imp.emitWhere(*over, pos, *wrapped);
      if (failed(sel))
        return failure();
      pos = *sel;
    }
  }
  FailureOr<TV> posFull = imp.emitExpand(pos, rowShape);
  if (failed(posFull))
    return failure();
  FailureOr<TV> posCol = imp.emitReshape(*posFull, colShape);
  if (failed(posCol))
    return failure();
  cols.push_back(*posCol);
  SmallVector<TV *> ptrs;
  for (TV &c : cols)
    ptrs.push_back(&c);
  FailureOr<TV> coords = imp.emitConcat(ptrs, rowShape.size());
  if (failed(coords))
    return failure();
  return setResult(imp, emitScatterND(imp, **cache, *coords, **update, "none"));
}

//===----------------------------------------------------------------------===//
// TfIdfVectorizer
//===----------------------------------------------------------------------===//

/// TfIdfVectorizer over integer tokens ([N] or [B, N]): for every pool
/// n-gram g with min_gram_length <= n <= max_gram_length, the count of
/// (skip distance d, start s) with x[s + j d] == g[j] for all j, d in
/// 1..max_skip_count+1 (d = 1 only for unigrams), as ONNX's reference
/// counts; each is a product of token comparisons on shifted slices,
/// summed along the row. The mode applies per n-gram (TF: the count,
/// TFIDF: count * weight, IDF: weight (or 1) if it occurs; weights are per
/// n-gram as the spec and ONNX Runtime read them), and the values add up at
/// their output index. The output is float.
LogicalResult importTfIdfVectorizer(GraphImporter &imp) {
  FailureOr<TV *> xIn = imp.input(0);
  FailureOr<std::string> mode = imp.stringAttr("mode", "");
  FailureOr<int64_t> minLen = imp.intAttr("min_gram_length", 0);
  FailureOr<int64_t> maxLen = imp.intAttr("max_gram_length", 0);
  FailureOr<int64_t> maxSkip = imp.intAttr("max_skip_count", 0);
  FailureOr<SmallVector<int64_t>> counts = imp.intsAttr("ngram_counts");
  FailureOr<SmallVector<int64_t>> indexes = imp.intsAttr("ngram_indexes");
  FailureOr<SmallVector<int64_t>> pool = imp.intsAttr("pool_int64s");
  FailureOr<SmallVector<float>> weights = imp.floatsAttr("weights");
  if (failed(xIn) || failed(mode) || failed(minLen) || failed(maxLen) ||
      failed(maxSkip) || failed(counts) || failed(indexes) || failed(pool) ||
      failed(weights))
    return failure();
  if (imp.hasAttr("pool_strings"))
    return imp.error() << "string pools (pool_strings) are not supported";
  if (*mode != "TF" && *mode != "IDF" && *mode != "TFIDF")
    return imp.error() << "mode must be TF, IDF or TFIDF, got \"" << *mode
                       << "\"";
  TV x = **xIn;
  if (!isa<IntegerType>(x.elementType()) || x.elementType().isInteger(1) ||
      (x.rank() != 1 && x.rank() != 2))
    return imp.error() << "input must be a 1-D or 2-D integer tensor, got "
                       << x.type;
  if (*minLen < 1 || *maxLen < *minLen || *maxSkip < 0)
    return imp.error() << "bad gram lengths [" << *minLen << ", " << *maxLen
                       << "] or max_skip_count " << *maxSkip;
  if (indexes->empty())
    return imp.error() << "ngram_indexes is empty";
  int64_t outSize = 0;
  for (int64_t i : *indexes) {
    if (i < 0)
      return imp.error() << "negative ngram index " << i;
    outSize = std::max(outSize, i + 1);
  }
  // The pool's n-grams (id order) with their lengths.
  struct Gram {
    int64_t n;
    SmallVector<int64_t> tokens;
  };
  SmallVector<Gram> grams;
  int64_t total = pool->size();
  for (size_t i = 0; i < counts->size(); ++i) {
    int64_t n = i + 1;
    int64_t start = (*counts)[i];
    int64_t end = i + 1 < counts->size() ? (*counts)[i + 1] : total;
    if (start < 0 || end > total || end < start)
      return imp.error() << "ngram_counts do not fit the pool";
    for (int64_t p = start; p + n <= end; p += n)
      grams.push_back({n, SmallVector<int64_t>(pool->begin() + p,
                                               pool->begin() + p + n)});
  }
  if (grams.size() > indexes->size())
    return imp.error() << "ngram_indexes has " << indexes->size()
                       << " entries for " << grams.size() << " n-grams";
  if (!weights->empty() && weights->size() < grams.size())
    return imp.error() << "weights has " << weights->size()
                       << " entries for " << grams.size() << " n-grams";
  int64_t len = x.shape().back();
  int64_t axis = x.rank() - 1;
  SmallVector<int64_t> rowShape(x.shape().drop_back());
  Type f32 = imp.builder.getF32Type(), elt = x.elementType();
  if (static_cast<int64_t>(grams.size()) * (*maxSkip + 1) > 65536)
    return imp.error() << "the pool is too large to unroll";
  // Later duplicates of an n-gram replace earlier ones (as the reference's
  // trie does): keep the last id of each.
  std::map<SmallVector<int64_t>, size_t> lastId;
  for (auto [id, g] : llvm::enumerate(grams))
    lastId[g.tokens] = id;
  SmallVector<std::optional<TV>> columns(outSize);
  TV zero = scalarTV(imp, f32, 0.0), one = scalarTV(imp, f32, 1.0);
  for (auto [id, g] : llvm::enumerate(grams)) {
    if (g.n < *minLen || g.n > *maxLen || lastId[g.tokens] != id)
      continue;
    // Occurrences over every skip distance.
    std::optional<TV> count;
    int64_t maxD = g.n == 1 ? 1 : *maxSkip + 1;
    for (int64_t d = 1; d <= maxD; ++d) {
      int64_t starts = len - (g.n - 1) * d;
      if (starts <= 0)
        break;
      std::optional<TV> match;
      for (int64_t j = 0; j < g.n; ++j) {
        FailureOr<TV> sl = sliceAxis(imp, x, axis, j * d, starts);
        if (failed(sl))
          return failure();
        TV tok = scalarTV(imp, elt, double(g.tokens[j]));
        FailureOr<TV> eq = imp.emitBinary(BinaryKind::Equal, *sl, tok);
        if (failed(eq))
          return failure();
        if (!match) {
          match = *eq;
          continue;
        }
        FailureOr<TV> both = imp.emitBinary(BinaryKind::And, *match, *eq);
        if (failed(both))
          return failure();
        match = *both;
      }
      FailureOr<TV> asF = imp.emitCast(*match, f32);
      if (failed(asF))
        return failure();
      FailureOr<TV> c = imp.emitReduce(ReduceKind::Sum, *asF, {axis}, false);
      if (failed(c))
        return failure();
      if (!count) {
        count = *c;
        continue;
      }
      FailureOr<TV> sum = imp.emitBinary(BinaryKind::Add, *count, *c);
      if (failed(sum))
        return failure();
      count = *sum;
    }
    if (!count)
      continue;
    // The n-gram's value in the mode; weights are per n-gram (the spec's
    // and ONNX Runtime's reading).
    TV value = *count;
    std::optional<TV> w;
    if (!weights->empty())
      w = scalarTV(imp, f32, (*weights)[id]);
    if (*mode == "TFIDF" && w) {
      FailureOr<TV> m = imp.emitBinary(BinaryKind::Mul, value, *w);
      if (failed(m))
        return failure();
      value = *m;
    } else if (*mode == "IDF") {
      FailureOr<TV> present = imp.emitBinary(BinaryKind::Greater, value, zero);
      if (failed(present))
        return failure();
      FailureOr<TV> v = imp.emitWhere(*present, w ? *w : one, zero);
      if (failed(v))
        return failure();
      value = *v;
    }
    std::optional<TV> &col = columns[(*indexes)[id]];
    if (!col) {
      col = value;
      continue;
    }
    FailureOr<TV> sum = imp.emitBinary(BinaryKind::Add, *col, value);
    if (failed(sum))
      return failure();
    col = *sum;
  }
  // Stack the columns into [..., outSize].
  SmallVector<int64_t> colShape(rowShape);
  colShape.push_back(1);
  SmallVector<TV> parts;
  for (std::optional<TV> &col : columns) {
    TV c = col ? *col : imp.makeSplat(RankedTensorType::get(rowShape, f32), 0);
    FailureOr<TV> r = imp.emitReshape(c, colShape);
    if (failed(r))
      return failure();
    parts.push_back(*r);
  }
  SmallVector<TV *> ptrs;
  for (TV &p : parts)
    ptrs.push_back(&p);
  if (ptrs.size() == 1)
    return imp.setOutput(0, parts.front());
  return setResult(imp, imp.emitConcat(ptrs, axis));
}

//===----------------------------------------------------------------------===//
// Unique
//===----------------------------------------------------------------------===//

/// Unique: its output shapes depend on the values, so kiln evaluates it at
/// import and needs the input at compile time. Slices along `axis` (single
/// elements without it) compare lexicographically, NaNs equal and last, as
/// numpy.unique; sorted=0 keeps first-occurrence order.
LogicalResult importUnique(GraphImporter &imp) {
  FailureOr<TV *> in = imp.constInput(0, "the input");
  FailureOr<int64_t> sortedAttr = imp.intAttr("sorted", 1);
  if (failed(in) || failed(sortedAttr))
    return failure();
  TV x = **in;
  bool isFloat = isa<FloatType>(x.elementType());
  ArrayRef<int64_t> shape = x.shape();
  int64_t rank = x.rank();
  std::optional<int64_t> axis;
  if (imp.hasAttr("axis")) {
    FailureOr<int64_t> a = imp.intAttr("axis", 0);
    if (failed(a))
      return failure();
    FailureOr<int64_t> na = imp.normalizeAxis(*a, rank);
    if (failed(na))
      return failure();
    axis = *na;
  }
  int64_t total = product(shape);
  // Slices: count along the axis, each of `inner` x `outer` elements in
  // (outer, inner) order.
  int64_t count = axis ? shape[*axis] : total;
  int64_t outer = axis ? product(shape.take_front(*axis)) : 1;
  int64_t inner = axis ? product(shape.drop_front(*axis + 1)) : 1;
  auto elem = [&](int64_t slice, int64_t j) -> double {
    int64_t o = j / inner, i = j % inner;
    int64_t flat = axis ? (o * count + slice) * inner + i : slice;
    return isFloat ? x.data->floats[flat] : double(x.data->ints[flat]);
  };
  auto elemInt = [&](int64_t slice, int64_t j) -> int64_t {
    int64_t o = j / inner, i = j % inner;
    int64_t flat = axis ? (o * count + slice) * inner + i : slice;
    return x.data->ints[flat];
  };
  int64_t width = outer * inner;
  // -1, 0, 1 comparison of two slices.
  auto compare = [&](int64_t a, int64_t b) -> int {
    for (int64_t j = 0; j < width; ++j) {
      if (!isFloat) {
        int64_t p = elemInt(a, j), q = elemInt(b, j);
        if (p != q)
          return p < q ? -1 : 1;
        continue;
      }
      double p = elem(a, j), q = elem(b, j);
      bool pn = std::isnan(p), qn = std::isnan(q);
      if (pn || qn) {
        if (pn && qn)
          continue;
        return pn ? 1 : -1;
      }
      if (p != q)
        return p < q ? -1 : 1;
    }
    return 0;
  };
  SmallVector<int64_t> order(count);
  for (int64_t i = 0; i < count; ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return compare(a, b) < 0; });
  // Groups of equal slices: their first occurrence and size.
  SmallVector<int64_t> first, counts, groupOf(count);
  for (int64_t k = 0; k < count; ++k) {
    int64_t s = order[k];
    if (k == 0 || compare(order[k - 1], s) != 0) {
      first.push_back(s);
      counts.push_back(0);
    }
    ++counts.back();
    groupOf[s] = first.size() - 1;
  }
  int64_t u = first.size();
  SmallVector<int64_t> rank2pos(u);
  for (int64_t i = 0; i < u; ++i)
    rank2pos[i] = i;
  if (!*sortedAttr) {
    // First-occurrence order (stable sort by first index).
    SmallVector<int64_t> byFirst(u);
    for (int64_t i = 0; i < u; ++i)
      byFirst[i] = i;
    std::stable_sort(byFirst.begin(), byFirst.end(),
                     [&](int64_t a, int64_t b) { return first[a] < first[b]; });
    SmallVector<int64_t> f2, c2;
    for (int64_t i = 0; i < u; ++i) {
      rank2pos[byFirst[i]] = i;
      f2.push_back(first[byFirst[i]]);
      c2.push_back(counts[byFirst[i]]);
    }
    first = f2;
    counts = c2;
  }
  // Y: the unique slices in output order.
  Contents y;
  SmallVector<int64_t> yShape;
  if (axis) {
    yShape.assign(shape.begin(), shape.end());
    yShape[*axis] = u;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < u; ++k)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t flat = (o * count + first[k]) * inner + i;
          if (isFloat)
            y.floats.push_back(x.data->floats[flat]);
          else
            y.ints.push_back(x.data->ints[flat]);
        }
  } else {
    yShape = {u};
    for (int64_t k = 0; k < u; ++k) {
      if (isFloat)
        y.floats.push_back(x.data->floats[first[k]]);
      else
        y.ints.push_back(x.data->ints[first[k]]);
    }
  }
  if (failed(imp.setOutput(
          0, imp.makeConst(RankedTensorType::get(yShape, x.elementType()),
                           std::move(y)))))
    return failure();
  SmallVector<int64_t> inverse;
  for (int64_t s = 0; s < count; ++s)
    inverse.push_back(rank2pos[groupOf[s]]);
  if (failed(imp.setOutput(1, i64Const(imp, {u}, first))) ||
      failed(imp.setOutput(2, i64Const(imp, {count}, inverse))))
    return failure();
  return imp.setOutput(3, i64Const(imp, {u}, counts));
}

//===----------------------------------------------------------------------===//
// NonMaxSuppression
//===----------------------------------------------------------------------===//

/// NonMaxSuppression: the number of selected boxes depends on the values,
/// so kiln evaluates it at import on compile-time-constant inputs, as
/// ONNX's reference does (per batch and class: boxes above
/// score_threshold by descending score, ties by index; a box is kept
/// unless its IoU with a kept one exceeds iou_threshold; float arithmetic).
LogicalResult importNonMaxSuppression(GraphImporter &imp) {
  // Every needed constant is reported at once.
  SmallVector<TV *> in(5, nullptr);
  bool ok = true;
  const char *what[] = {"boxes", "scores", "max_output_boxes_per_class",
                        "iou_threshold", "score_threshold"};
  for (int i = 0; i < 5; ++i) {
    if (i >= 2 && !imp.hasInput(i))
      continue;
    FailureOr<TV *> t = imp.constInput(i, what[i]);
    if (failed(t)) {
      ok = false;
      continue;
    }
    in[i] = *t;
  }
  FailureOr<int64_t> center = imp.intAttr("center_point_box", 0);
  if (!ok || failed(center))
    return failure();
  TV &boxes = *in[0], &scores = *in[1];
  if (boxes.rank() != 3 || boxes.shape()[2] != 4 || scores.rank() != 3 ||
      scores.shape()[0] != boxes.shape()[0] ||
      scores.shape()[2] != boxes.shape()[1] ||
      !isa<FloatType>(boxes.elementType()) ||
      !isa<FloatType>(scores.elementType()))
    return imp.error() << "boxes must be [B, N, 4] and scores [B, C, N] "
                          "floats, got "
                       << boxes.type << " and " << scores.type;
  auto scalarOf = [&](TV *t, double dflt) -> double {
    if (!t || t->type.getNumElements() == 0)
      return dflt;
    return t->data->floats.empty() ? double(t->data->ints[0])
                                   : t->data->floats[0];
  };
  int64_t maxOut = std::max<int64_t>(int64_t(scalarOf(in[2], 0)), 0);
  float iouThreshold = float(scalarOf(in[3], 0));
  bool hasScoreThreshold = in[4] && in[4]->type.getNumElements() > 0;
  float scoreThreshold = float(scalarOf(in[4], 0));
  int64_t nb = boxes.shape()[0], nbox = boxes.shape()[1],
          nc = scores.shape()[1];
  auto box = [&](int64_t b, int64_t i, int k) {
    return float(boxes.data->floats[(b * nbox + i) * 4 + k]);
  };
  auto suppress = [&](int64_t b, int64_t i, int64_t j) {
    float x1min, x1max, x2min, x2max, y1min, y1max, y2min, y2max;
    auto minmax = [](float a, float c, float &lo, float &hi) {
      lo = a >= c ? c : a;
      hi = a >= c ? a : c;
    };
    if (*center == 0) {
      minmax(box(b, i, 1), box(b, i, 3), x1min, x1max);
      minmax(box(b, j, 1), box(b, j, 3), x2min, x2max);
      minmax(box(b, i, 0), box(b, i, 2), y1min, y1max);
      minmax(box(b, j, 0), box(b, j, 2), y2min, y2max);
    } else {
      float w1 = box(b, i, 2) / 2, h1 = box(b, i, 3) / 2;
      float w2 = box(b, j, 2) / 2, h2 = box(b, j, 3) / 2;
      x1min = box(b, i, 0) - w1, x1max = box(b, i, 0) + w1;
      x2min = box(b, j, 0) - w2, x2max = box(b, j, 0) + w2;
      y1min = box(b, i, 1) - h1, y1max = box(b, i, 1) + h1;
      y2min = box(b, j, 1) - h2, y2max = box(b, j, 1) + h2;
    }
    float ixmin = std::max(x1min, x2min), ixmax = std::min(x1max, x2max);
    if (ixmax <= ixmin)
      return false;
    float iymin = std::max(y1min, y2min), iymax = std::min(y1max, y2max);
    if (iymax <= iymin)
      return false;
    float inter = (ixmax - ixmin) * (iymax - iymin);
    if (inter <= 0)
      return false;
    float a1 = (x1max - x1min) * (y1max - y1min);
    float a2 = (x2max - x2min) * (y2max - y2min);
    float uni = a1 + a2 - inter;
    if (a1 <= 0 || a2 <= 0 || uni <= 0)
      return false;
    return inter / uni > iouThreshold;
  };
  SmallVector<int64_t> rows;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < nc; ++c) {
      SmallVector<std::pair<float, int64_t>> cand;
      for (int64_t i = 0; i < nbox; ++i) {
        float sc = float(scores.data->floats[(b * nc + c) * nbox + i]);
        if (!hasScoreThreshold || sc > scoreThreshold)
          cand.push_back({sc, i});
      }
      // Highest score first; equal scores by lower index.
      std::stable_sort(cand.begin(), cand.end(), [](auto &p, auto &q) {
        return p.first > q.first || (p.first == q.first && p.second < q.second);
      });
      SmallVector<int64_t> kept;
      for (auto &[sc, i] : cand) {
        if (static_cast<int64_t>(kept.size()) >= maxOut)
          break;
        bool keep = llvm::none_of(kept, [&](int64_t j) { return suppress(b, i, j); });
        if (!keep)
          continue;
        kept.push_back(i);
        rows.append({b, c, i});
      }
    }
  int64_t selected = rows.size() / 3;
  return imp.setOutput(0, i64Const(imp, {selected, 3}, rows));
}

} // namespace

void mlir::kiln::onnx::registerIndexingOps(llvm::StringMap<OpHandler> &map) {
  map["GatherElements"] = importGatherElements;
  map["TfIdfVectorizer"] = importTfIdfVectorizer;
  map["Unique"] = importUnique;
  map["NonMaxSuppression"] = importNonMaxSuppression;
  map["GatherND"] = importGatherND;
  map["ReverseSequence"] = importReverseSequence;
  map["CumSum"] = importCumulative<false>;
  map["CumProd"] = importCumulative<true>;
  map["Einsum"] = importEinsum;
  map["ScatterND"] = importScatterND;
  map["ScatterElements"] = importScatterElements;
  map["Scatter"] = importScatterElements;
  map["MaxUnpool"] = importMaxUnpool;
  map["TensorScatter"] = importTensorScatter;
}
