//===- OpsAttention.cpp - Attention and RotaryEmbedding ONNX ops ----------===//
//
// Part of kiln. ONNX's Attention (opset 23+) and RotaryEmbedding decompose
// into existing kiln ops, following onnx.reference step by step:
//   Attention: 3-D inputs split into heads (reshape + transpose); past
//     key/value concatenate into the present ones; one additive bias
//     collects the mask (bool -> 0 / -inf, padded to the kv length), the
//     causal and sliding-window masks (constants, or per batch from
//     nonpad_kv_seqlen) and the padding mask; grouped-query heads repeat
//     (reshape + expand); scores = (Q * sqrt(s)) x (K * sqrt(s))^T,
//     optionally soft-capped (tanh), plus the bias, then kiln.softmax (in
//     softmax_precision) with fully masked rows set to zero; Y = P x V.
//   RotaryEmbedding: cos/sin rows gathered at position_ids, the rotated
//     half (or interleaved pairs) combined as real/imaginary parts.
//   LinearAttention: the (gated / delta) recurrence unrolled over the
//     static sequence length in f32, matmuls per step.
//   FlexAttention (ai.onnx.preview): scaled scores, the score_mod and
//     prob_mod subgraphs imported inline around a max-shifted softmax.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// [B, S, H * D] -> [B, H, S, D].
FailureOr<TV> splitHeads(GraphImporter &imp, TV &x, int64_t heads,
                         StringRef what) {
  ArrayRef<int64_t> s = x.shape();
  if (heads <= 0 || s[2] % heads != 0)
    return imp.error() << what << " hidden size " << s[2]
                       << " does not divide into " << heads << " heads";
  FailureOr<TV> r = imp.emitReshape(x, {s[0], s[1], heads, s[2] / heads});
  if (failed(r))
    return failure();
  return imp.emitTranspose(*r, {0, 2, 1, 3});
}

/// where(cond, 0, -inf) in `elt`.
FailureOr<TV> maskToBias(GraphImporter &imp, TV &cond, Type elt) {
  TV zero = scalarTV(imp, elt, 0.0), neg = scalarTV(imp, elt, kNegInf);
  return imp.emitWhere(cond, zero, neg);
}

/// Adds `b` to the running bias (absent: zeros).
LogicalResult addBias(GraphImporter &imp, std::optional<TV> &bias, TV b) {
  if (!bias) {
    bias = b;
    return success();
  }
  FailureOr<TV> s = imp.emitBinary(BinaryKind::Add, *bias, b);
  if (failed(s))
    return failure();
  bias = *s;
  return success();
}

/// A mask allowing key j for query i when `allowed(i + offset - j)` holds;
/// `offsets` (int64 [B]) is per batch at run time, else `offset` is static.
/// Returns the 0 / -inf bias, [q, kv] or [B, 1, q, kv].
FailureOr<TV> positionBias(GraphImporter &imp, Type elt, int64_t q,
                           int64_t kv, int64_t offset, TV *offsets,
                           int64_t left, int64_t right, bool causal) {
  auto allowed = [&](int64_t diff) {
    if (causal && diff < 0)
      return false;
    if (left >= 0 && diff > left)
      return false;
    if (right >= 0 && -diff > right)
      return false;
    return true;
  };
  if (!offsets) {
    SmallVector<bool> m;
    for (int64_t i = 0; i < q; ++i)
      for (int64_t j = 0; j < kv; ++j)
        m.push_back(allowed(i + offset - j));
    TV mask = boolConst(imp, {q, kv}, m);
    return maskToBias(imp, mask, elt);
  }
  // diff[b, i, j] = i + off[b] - j, compared at run time.
  int64_t b = offsets->shape()[0];
  SmallVector<int64_t> ij;
  for (int64_t i = 0; i < q; ++i)
    for (int64_t j = 0; j < kv; ++j)
      ij.push_back(i - j);
  TV base = i64Const(imp, {q, kv}, ij);
  FailureOr<TV> off = imp.emitReshape(*offsets, {b, 1, 1});
  if (failed(off))
    return failure();
  FailureOr<TV> diff = imp.emitBinary(BinaryKind::Add, base, *off);
  if (failed(diff))
    return failure();
  Type i64 = imp.builder.getI64Type();
  std::optional<TV> ok;
  auto conj = [&](FailureOr<TV> c) -> LogicalResult {
    if (failed(c))
      return failure();
    if (!ok) {
      ok = *c;
      return success();
    }
    FailureOr<TV> a = imp.emitBinary(BinaryKind::And, *ok, *c);
    if (failed(a))
      return failure();
    ok = *a;
    return success();
  };
  if (causal) { // diff >= 0  <=>  !(diff < 0)
    TV zero = scalarTV(imp, i64, 0);
    FailureOr<TV> lt = imp.emitBinary(BinaryKind::Less, *diff, zero);
    if (failed(lt) || failed(conj(imp.emitUnary(UnaryKind::Not, *lt))))
      return failure();
  }
  if (left >= 0) { // diff <= left  <=>  !(diff > left)
    TV l = scalarTV(imp, i64, double(left));
    FailureOr<TV> gt = imp.emitBinary(BinaryKind::Greater, *diff, l);
    if (failed(gt) || failed(conj(imp.emitUnary(UnaryKind::Not, *gt))))
      return failure();
  }
  if (right >= 0) { // -diff <= right  <=>  !(diff < -right)
    TV r = scalarTV(imp, i64, double(-right));
    FailureOr<TV> lt = imp.emitBinary(BinaryKind::Less, *diff, r);
    if (failed(lt) || failed(conj(imp.emitUnary(UnaryKind::Not, *lt))))
      return failure();
  }
  if (!ok)
    return imp.makeSplat(RankedTensorType::get({q, kv}, elt), 0.0);
  FailureOr<TV> bias = maskToBias(imp, *ok, elt);
  if (failed(bias))
    return failure();
  return imp.emitReshape(*bias, {b, 1, q, kv});
}

/// Repeats each head of [B, H, S, D] `reps` times in place (np.repeat on
/// axis 1).
FailureOr<TV> repeatHeads(GraphImporter &imp, TV &x, int64_t reps) {
  if (reps == 1)
    return x;
  ArrayRef<int64_t> s = x.shape();
  FailureOr<TV> u = imp.emitReshape(x, {s[0], s[1], 1, s[2], s[3]});
  if (failed(u))
    return failure();
  FailureOr<TV> e = imp.emitExpand(*u, {s[0], s[1], reps, s[2], s[3]});
  if (failed(e))
    return failure();
  return imp.emitReshape(*e, {s[0], s[1] * reps, s[2], s[3]});
}

FailureOr<TV> softmaxLast(GraphImporter &imp, TV &x) {
  FailureOr<Value> v = imp.materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = imp.create<SoftmaxOp>(
      x.type, *v, imp.builder.getI64IntegerAttr(x.rank() - 1));
  if (failed(r))
    return failure();
  return GraphImporter::fromValue(*r);
}

/// Output 0 from [B, H, S, Dv]; 3-D inputs merge the heads back.
LogicalResult setAttentionResult(GraphImporter &imp, TV y, int64_t rank) {
  if (rank == 3) {
    FailureOr<TV> t = imp.emitTranspose(y, {0, 2, 1, 3});
    if (failed(t))
      return failure();
    ArrayRef<int64_t> ts = t->shape();
    FailureOr<TV> r = imp.emitReshape(*t, {ts[0], ts[1], ts[2] * ts[3]});
    if (failed(r))
      return failure();
    y = *r;
  }
  return imp.setOutput(0, y);
}

LogicalResult importAttention(GraphImporter &imp) {
  FailureOr<TV *> qIn = imp.input(0), kIn = imp.input(1), vIn = imp.input(2);
  if (failed(qIn) || failed(kIn) || failed(vIn))
    return failure();
  FailureOr<int64_t> isCausal = imp.intAttr("is_causal", 0);
  FailureOr<int64_t> qHeadsAttr = imp.intAttr("q_num_heads", 0);
  FailureOr<int64_t> kvHeadsAttr = imp.intAttr("kv_num_heads", 0);
  FailureOr<float> softcap = imp.floatAttr("softcap", 0.0f);
  FailureOr<int64_t> qkMode = imp.intAttr("qk_matmul_output_mode", 0);
  FailureOr<int64_t> left = imp.intAttr("left_window_size", -1);
  FailureOr<int64_t> right = imp.intAttr("right_window_size", -1);
  if (failed(isCausal) || failed(qHeadsAttr) || failed(kvHeadsAttr) ||
      failed(softcap) || failed(qkMode) || failed(left) || failed(right))
    return failure();
  TV q = **qIn, k = **kIn, v = **vIn;
  int64_t rank = q.rank();
  if ((rank != 3 && rank != 4) || k.rank() != rank || v.rank() != rank)
    return imp.error() << "Q, K and V must all be 3-D or all 4-D, got "
                       << q.type << ", " << k.type << " and " << v.type;
  Type elt = q.elementType();
  if (!isa<FloatType>(elt) || k.elementType() != elt ||
      v.elementType() != elt)
    return imp.error() << "Q, K and V must be float tensors of one type";
  if (rank == 3) {
    if (*qHeadsAttr <= 0 || *kvHeadsAttr <= 0)
      return imp.error() << "3-D inputs need q_num_heads and kv_num_heads";
    FailureOr<TV> q4 = splitHeads(imp, q, *qHeadsAttr, "Q");
    FailureOr<TV> k4 = splitHeads(imp, k, *kvHeadsAttr, "K");
    FailureOr<TV> v4 = splitHeads(imp, v, *kvHeadsAttr, "V");
    if (failed(q4) || failed(k4) || failed(v4))
      return failure();
    q = *q4;
    k = *k4;
    v = *v4;
  }
  int64_t batch = q.shape()[0], qHeads = q.shape()[1], qLen = q.shape()[2],
          headSize = q.shape()[3];
  double scale = 1.0 / std::sqrt(double(headSize));
  if (imp.hasAttr("scale")) {
    FailureOr<float> s = imp.floatAttr("scale", 1.0f);
    if (failed(s))
      return failure();
    scale = *s;
  }
  // Past and present key/value.
  bool hasPast = imp.hasInput(4) && imp.hasInput(5);
  int64_t pastLen = 0;
  if (hasPast) {
    FailureOr<TV *> pk = imp.input(4), pv = imp.input(5);
    if (failed(pk) || failed(pv))
      return failure();
    pastLen = (*pk)->shape().size() == 4 ? (*pk)->shape()[2] : 0;
    TV *kparts[] = {*pk, &k};
    FailureOr<TV> kc = imp.emitConcat(kparts, 2);
    TV *vparts[] = {*pv, &v};
    FailureOr<TV> vc = imp.emitConcat(vparts, 2);
    if (failed(kc) || failed(vc))
      return failure();
    k = *kc;
    v = *vc;
  }
  if (failed(imp.setOutput(1, k)) || failed(imp.setOutput(2, v)))
    return failure();
  int64_t kvLen = k.shape()[2];

  // The common form (a causal or unmasked decoder/encoder attention) is one
  // kiln.attention, which kiln-kv-layout and the kernels recognize.
  // ONNX aligns the causal mask after the past (query i sees keys j <=
  // past + i); kiln.attention aligns it to the end of the keys, which is
  // the same only when the keys are exactly past + the new ones.
  bool simple = !imp.hasInput(3) && !imp.hasInput(6) && *softcap == 0 &&
                !imp.outputUsed(3) && *left < 0 && *right < 0 &&
                (!*isCausal || kvLen - qLen == pastLen);
  if (simple && imp.hasAttr("softmax_precision")) {
    FailureOr<int64_t> sp = imp.intAttr("softmax_precision", 1);
    if (failed(sp))
      return failure();
    simple = getElementType(imp.ctx, *sp) == elt;
  }
  if (simple) {
    FailureOr<Value> vq = imp.materialize(q), vk = imp.materialize(k),
                     vv = imp.materialize(v);
    if (failed(vq) || failed(vk) || failed(vv))
      return failure();
    FailureOr<Value> r = imp.create<AttentionOp>(
        Type(), *vq, *vk, *vv, /*kv_length=*/Value(), /*key_scales=*/Value(),
        /*value_scales=*/Value(), /*key_sketch=*/Value(),
        /*recent_keys=*/Value(), /*recent_positions=*/Value(),
        /*value_mins=*/Value(), /*key_channels=*/Value(),
        /*block_table=*/Value(), /*outlier_bits=*/Value(),
        /*outlier_scales=*/Value(), /*outlier_channels=*/Value(),
        /*outlier_sketch=*/Value(),
        imp.builder.getF32FloatAttr(scale),
        *isCausal ? imp.builder.getUnitAttr() : UnitAttr(),
        /*value_bits=*/IntegerAttr(), /*recent_window=*/IntegerAttr(),
        /*key_tiled=*/UnitAttr(), /*outlier_group=*/IntegerAttr());
    if (failed(r))
      return failure();
    return setAttentionResult(imp, GraphImporter::fromValue(*r), rank);
  }

  // The additive bias.
  std::optional<TV> bias;
  std::optional<TV> mask;
  if (imp.hasInput(3)) {
    FailureOr<TV *> m = imp.input(3);
    if (failed(m))
      return failure();
    TV mm = **m;
    bool isBool = mm.elementType().isInteger(1);
    if (!isBool && mm.elementType() != elt) {
      FailureOr<TV> c = imp.emitCast(mm, elt);
      if (failed(c))
        return failure();
      mm = *c;
    }
    if (mm.rank() < 1)
      return imp.error() << "attn_mask must have rank >= 1";
    int64_t padWidth = kvLen - mm.shape().back();
    if (padWidth > 0) {
      SmallVector<int64_t> ps(mm.shape());
      ps.back() = padWidth;
      TV pad = isBool ? imp.makeSplat(RankedTensorType::get(ps, mm.elementType()), 0)
                      : imp.makeSplat(RankedTensorType::get(ps, elt), kNegInf);
      TV *parts[] = {&mm, &pad};
      FailureOr<TV> c = imp.emitConcat(parts, mm.rank() - 1);
      if (failed(c))
        return failure();
      mm = *c;
    }
    if (isBool) {
      FailureOr<TV> b = maskToBias(imp, mm, elt);
      if (failed(b))
        return failure();
      mm = *b;
    }
    mask = mm;
  }
  TV *nonpad = nullptr;
  std::optional<TV> offsets;
  if (imp.hasInput(6)) {
    FailureOr<TV *> np = imp.input(6);
    if (failed(np))
      return failure();
    if ((*np)->rank() != 1 || (*np)->shape()[0] != batch)
      return imp.error() << "nonpad_kv_seqlen must be [" << batch << "], got "
                         << (*np)->type;
    nonpad = *np;
    Type i64 = imp.builder.getI64Type();
    TV n64 = *nonpad;
    if (n64.elementType() != i64) {
      FailureOr<TV> c = imp.emitCast(n64, i64);
      if (failed(c))
        return failure();
      n64 = *c;
    }
    TV ql = scalarTV(imp, i64, double(qLen));
    FailureOr<TV> off = imp.emitBinary(BinaryKind::Sub, n64, ql);
    if (failed(off))
      return failure();
    offsets = *off;
  }
  TV *offsetsPtr = (!hasPast && offsets) ? &*offsets : nullptr;
  bool window = *left >= 0 || *right >= 0;
  if (mask && failed(addBias(imp, bias, *mask)))
    return failure();
  if (*isCausal || window) {
    FailureOr<TV> pb =
        positionBias(imp, elt, qLen, kvLen, pastLen, offsetsPtr, *left,
                     *right, *isCausal != 0);
    if (failed(pb) || failed(addBias(imp, bias, *pb)))
      return failure();
  }
  if (nonpad) {
    SmallVector<int64_t> iota;
    for (int64_t j = 0; j < kvLen; ++j)
      iota.push_back(j);
    TV j = i64Const(imp, {1, kvLen}, iota);
    Type i64 = imp.builder.getI64Type();
    TV n64 = *nonpad;
    if (n64.elementType() != i64) {
      FailureOr<TV> c = imp.emitCast(n64, i64);
      if (failed(c))
        return failure();
      n64 = *c;
    }
    FailureOr<TV> col = imp.emitReshape(n64, {batch, 1});
    if (failed(col))
      return failure();
    FailureOr<TV> lt = imp.emitBinary(BinaryKind::Less, j, *col);
    if (failed(lt))
      return failure();
    FailureOr<TV> pm = maskToBias(imp, *lt, elt);
    if (failed(pm))
      return failure();
    FailureOr<TV> pm4 = imp.emitReshape(*pm, {batch, 1, 1, kvLen});
    if (failed(pm4) || failed(addBias(imp, bias, *pm4)))
      return failure();
  }

  // Grouped-query attention: repeat the kv heads.
  int64_t kHeads = k.shape()[1], vHeads = v.shape()[1];
  if (qHeads != kHeads && kHeads > 0 && qHeads % kHeads == 0 &&
      kHeads == vHeads) {
    FailureOr<TV> kr = repeatHeads(imp, k, qHeads / kHeads);
    FailureOr<TV> vr = repeatHeads(imp, v, qHeads / kHeads);
    if (failed(kr) || failed(vr))
      return failure();
    k = *kr;
    v = *vr;
  }
  TV sq = scalarTV(imp, elt, std::sqrt(scale));
  FailureOr<TV> qs = imp.emitBinary(BinaryKind::Mul, q, sq);
  FailureOr<TV> kt = imp.emitTranspose(k, {0, 1, 3, 2});
  if (failed(qs) || failed(kt))
    return failure();
  FailureOr<TV> ks = imp.emitBinary(BinaryKind::Mul, *kt, sq);
  if (failed(ks))
    return failure();
  FailureOr<TV> qk = imp.emitMatMul(*qs, *ks);
  if (failed(qk))
    return failure();
  if (*softcap > 0) {
    TV c = scalarTV(imp, elt, *softcap);
    FailureOr<TV> d = imp.emitBinary(BinaryKind::Div, *qk, c);
    if (failed(d))
      return failure();
    FailureOr<TV> t = imp.emitUnary(UnaryKind::Tanh, *d);
    if (failed(t))
      return failure();
    qk = imp.emitBinary(BinaryKind::Mul, *t, c);
    if (failed(qk))
      return failure();
  }
  TV scores = *qk;
  if (bias) {
    FailureOr<TV> s = imp.emitBinary(BinaryKind::Add, scores, *bias);
    if (failed(s))
      return failure();
    scores = *s;
  }
  if (*qkMode == 0 || *qkMode == 1) {
    if (failed(imp.setOutput(3, *qk)))
      return failure();
  } else if (*qkMode == 2) {
    if (failed(imp.setOutput(3, scores)))
      return failure();
  } else if (*qkMode != 3) {
    return imp.error() << "unknown qk_matmul_output_mode " << *qkMode;
  }
  TV sm = scores;
  if (imp.hasAttr("softmax_precision")) {
    FailureOr<int64_t> sp = imp.intAttr("softmax_precision", 1);
    if (failed(sp))
      return failure();
    Type st = getElementType(imp.ctx, *sp);
    if (!st || !isa<FloatType>(st))
      return imp.error() << "unsupported softmax_precision "
                         << dataTypeName(*sp);
    if (st != elt) {
      FailureOr<TV> c = imp.emitCast(sm, st);
      if (failed(c))
        return failure();
      sm = *c;
    }
  }
  FailureOr<TV> p = softmaxLast(imp, sm);
  if (failed(p))
    return failure();
  // Rows the bias masks entirely attend to nothing: zero (not NaN).
  if (bias) {
    int64_t last = bias->rank() - 1;
    std::optional<TV> rowMasked;
    if (bias->hasData()) {
      ArrayRef<int64_t> bs = bias->shape();
      int64_t cols = bs.back(), rows = bias->type.getNumElements() / cols;
      SmallVector<bool> masked;
      bool any = false;
      for (int64_t r = 0; r < rows; ++r) {
        bool all = true;
        for (int64_t c = 0; c < cols && all; ++c)
          all = std::isinf(bias->data->floats[r * cols + c]) &&
                bias->data->floats[r * cols + c] < 0;
        masked.push_back(all);
        any |= all;
      }
      if (any) {
        SmallVector<int64_t> ms(bs);
        ms.back() = 1;
        rowMasked = boolConst(imp, ms, masked);
      }
    } else {
      FailureOr<TV> mx = imp.emitReduce(ReduceKind::Max, *bias, {last}, true);
      if (failed(mx))
        return failure();
      TV neg = scalarTV(imp, elt, kNegInf);
      FailureOr<TV> eq = imp.emitBinary(BinaryKind::Equal, *mx, neg);
      if (failed(eq))
        return failure();
      rowMasked = *eq;
    }
    if (rowMasked) {
      TV zero = scalarTV(imp, p->elementType(), 0.0);
      FailureOr<TV> z = imp.emitWhere(*rowMasked, zero, *p);
      if (failed(z))
        return failure();
      p = z;
    }
  }
  if (*qkMode == 3) {
    TV out3 = *p;
    if (out3.elementType() != elt) {
      FailureOr<TV> c = imp.emitCast(out3, elt);
      if (failed(c))
        return failure();
      out3 = *c;
    }
    if (failed(imp.setOutput(3, out3)))
      return failure();
  }
  if (p->elementType() != elt) {
    p = imp.emitCast(*p, elt);
    if (failed(p))
      return failure();
  }
  FailureOr<TV> y = imp.emitMatMul(*p, v);
  if (failed(y))
    return failure();
  return setAttentionResult(imp, *y, rank);
}

//===----------------------------------------------------------------------===//
// RotaryEmbedding
//===----------------------------------------------------------------------===//

LogicalResult importRotaryEmbedding(GraphImporter &imp) {
  FailureOr<TV *> xIn = imp.input(0), cosIn = imp.input(1),
                  sinIn = imp.input(2);
  FailureOr<int64_t> interleaved = imp.intAttr("interleaved", 0);
  FailureOr<int64_t> rotDimAttr = imp.intAttr("rotary_embedding_dim", 0);
  FailureOr<int64_t> numHeads = imp.intAttr("num_heads", 0);
  if (failed(xIn) || failed(cosIn) || failed(sinIn) || failed(interleaved) ||
      failed(rotDimAttr) || failed(numHeads))
    return failure();
  TV x = **xIn;
  int64_t rank = x.rank();
  if (rank != 3 && rank != 4)
    return imp.error() << "input must be 3-D or 4-D, got " << x.type;
  // To [B, S, H, D].
  if (rank == 4) {
    FailureOr<TV> t = imp.emitTranspose(x, {0, 2, 1, 3});
    if (failed(t))
      return failure();
    x = *t;
  } else {
    ArrayRef<int64_t> s = x.shape();
    if (*numHeads <= 0 || s[2] % *numHeads != 0)
      return imp.error() << "3-D input needs num_heads dividing "
                         << s[2];
    FailureOr<TV> r =
        imp.emitReshape(x, {s[0], s[1], *numHeads, s[2] / *numHeads});
    if (failed(r))
      return failure();
    x = *r;
  }
  ArrayRef<int64_t> s4 = x.shape();
  int64_t b = s4[0], seq = s4[1], heads = s4[2], head = s4[3];
  int64_t rot = *rotDimAttr ? *rotDimAttr : head;
  if (rot <= 0 || rot > head || rot % 2)
    return imp.error() << "rotary_embedding_dim " << rot
                       << " does not fit the head size " << head;
  int64_t half = rot / 2;
  TV cosC = **cosIn, sinC = **sinIn;
  if (imp.hasInput(3)) {
    FailureOr<TV *> pos = imp.input(3);
    if (failed(pos))
      return failure();
    FailureOr<TV> c = imp.emitGather(cosC, **pos, 0);
    FailureOr<TV> s = imp.emitGather(sinC, **pos, 0);
    if (failed(c) || failed(s))
      return failure();
    cosC = *c;
    sinC = *s;
  }
  if (cosC.shape().back() != half || sinC.shape().back() != half)
    return imp.error() << "the cos/sin caches' last dim must be " << half;
  // [B, S, 1, half]
  FailureOr<TV> cos4 = imp.emitReshape(cosC, {cosC.shape()[0], seq, 1, half});
  FailureOr<TV> sin4 = imp.emitReshape(sinC, {sinC.shape()[0], seq, 1, half});
  if (failed(cos4) || failed(sin4))
    return failure();
  FailureOr<TV> xr = sliceAxis(imp, x, 3, 0, rot);
  if (failed(xr))
    return failure();
  FailureOr<TV> x1 = *interleaved ? sliceAxis(imp, *xr, 3, 0, half, 2)
                                  : sliceAxis(imp, *xr, 3, 0, half);
  FailureOr<TV> x2 = *interleaved ? sliceAxis(imp, *xr, 3, 1, half, 2)
                                  : sliceAxis(imp, *xr, 3, half, half);
  if (failed(x1) || failed(x2))
    return failure();
  auto mul = [&](TV &a, TV &c) { return imp.emitBinary(BinaryKind::Mul, a, c); };
  FailureOr<TV> c1 = mul(*cos4, *x1), s2 = mul(*sin4, *x2),
                s1 = mul(*sin4, *x1), c2 = mul(*cos4, *x2);
  if (failed(c1) || failed(s2) || failed(s1) || failed(c2))
    return failure();
  FailureOr<TV> real = imp.emitBinary(BinaryKind::Sub, *c1, *s2);
  FailureOr<TV> imag = imp.emitBinary(BinaryKind::Add, *s1, *c2);
  if (failed(real) || failed(imag))
    return failure();
  FailureOr<TV> rotated;
  if (*interleaved) {
    SmallVector<int64_t> e = {b, seq, heads, half, 1};
    FailureOr<TV> re = imp.emitReshape(*real, e);
    FailureOr<TV> im = imp.emitReshape(*imag, e);
    if (failed(re) || failed(im))
      return failure();
    TV *parts[] = {&*re, &*im};
    FailureOr<TV> c = imp.emitConcat(parts, 4);
    if (failed(c))
      return failure();
    rotated = imp.emitReshape(*c, {b, seq, heads, rot});
  } else {
    TV *parts[] = {&*real, &*imag};
    rotated = imp.emitConcat(parts, 3);
  }
  if (failed(rotated))
    return failure();
  TV out = *rotated;
  if (rot < head) {
    FailureOr<TV> pass = sliceAxis(imp, x, 3, rot, head - rot);
    if (failed(pass))
      return failure();
    TV *parts[] = {&out, &*pass};
    FailureOr<TV> c = imp.emitConcat(parts, 3);
    if (failed(c))
      return failure();
    out = *c;
  }
  if (rank == 3)
    return setResult(imp, imp.emitReshape(out, (*xIn)->shape()));
  return setResult(imp, imp.emitTranspose(out, {0, 2, 1, 3}));
}

//===----------------------------------------------------------------------===//
// LinearAttention
//===----------------------------------------------------------------------===//

#define KILN_TRY(var, expr)                                                    \
  FailureOr<TV> var##OrFailure = (expr);                                       \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  TV var = std::move(*var##OrFailure)

/// LinearAttention (opset 27): the recurrence unrolled over the (static)
/// sequence, in f32 as onnx.reference computes it. Per step t, with the
/// state S [B, Hkv, dk, dv]:
///   gated:  S *= exp(g_t) (per head or per key dim);
///   delta:  v_t = beta_t * (v_t - k_t^T S);
///   S += k_t (x) v_t;  o_t = scale * q_t^T S (query heads grouped onto
///   their KV head).
LogicalResult importLinearAttention(GraphImporter &imp) {
  FailureOr<TV *> qIn = imp.input(0), kIn = imp.input(1), vIn = imp.input(2);
  FailureOr<int64_t> hq = imp.intAttr("q_num_heads", 0);
  FailureOr<int64_t> hkv = imp.intAttr("kv_num_heads", 0);
  FailureOr<float> scaleAttr = imp.floatAttr("scale", 0.0f);
  FailureOr<std::string> rule = imp.stringAttr("update_rule", "gated_delta");
  if (failed(qIn) || failed(kIn) || failed(vIn) || failed(hq) ||
      failed(hkv) || failed(scaleAttr) || failed(rule))
    return failure();
  if (*rule != "linear" && *rule != "gated" && *rule != "delta" &&
      *rule != "gated_delta")
    return imp.error() << "update_rule must be linear, gated, delta or "
                          "gated_delta, got \""
                       << *rule << "\"";
  if (*hq <= 0 || *hkv <= 0 || *hq % *hkv != 0)
    return imp.error() << "q_num_heads (" << *hq
                       << ") must be a positive multiple of kv_num_heads ("
                       << *hkv << ")";
  bool gating = *rule == "gated" || *rule == "gated_delta";
  bool delta = *rule == "delta" || *rule == "gated_delta";
  if (gating != imp.hasInput(4))
    return imp.error() << "update_rule '" << *rule
                       << (gating ? "' requires" : "' forbids")
                       << " the decay input";
  if (delta != imp.hasInput(5))
    return imp.error() << "update_rule '" << *rule
                       << (delta ? "' requires" : "' forbids")
                       << " the beta input";
  TV q = **qIn, k = **kIn, v = **vIn;
  for (TV *x : {&q, &k, &v})
    if (x->rank() != 3 || !isa<FloatType>(x->elementType()))
      return imp.error() << "query, key and value must be 3-D float "
                            "tensors, got "
                         << x->type;
  int64_t b = q.shape()[0], t = q.shape()[1];
  if (q.shape()[2] % *hq || k.shape()[2] % *hkv || v.shape()[2] % *hkv)
    return imp.error() << "hidden sizes do not divide into the heads";
  int64_t dk = q.shape()[2] / *hq, dv = v.shape()[2] / *hkv;
  int64_t group = *hq / *hkv;
  if (k.shape()[0] != b || k.shape()[1] != t || v.shape()[0] != b ||
      v.shape()[1] != t || k.shape()[2] != *hkv * dk)
    return imp.error() << "key " << k.type << " and value " << v.type
                       << " do not match query " << q.type;
  Type outElt = q.elementType(), f32 = imp.builder.getF32Type();
  auto toF32 = [&](TV x) -> FailureOr<TV> {
    if (x.elementType() == f32)
      return x;
    return imp.emitCast(x, f32);
  };
  // [B, T, H*D] -> [B, H, T, D] in f32.
  auto unpack = [&](TV x, int64_t heads) -> FailureOr<TV> {
    KILN_TRY(h, splitHeads(imp, x, heads, "input"));
    return toF32(h);
  };
  KILN_TRY(q4, unpack(q, *hq));
  KILN_TRY(k4, unpack(k, *hkv));
  KILN_TRY(v4, unpack(v, *hkv));
  std::optional<TV> decay4, beta4;
  if (gating) {
    FailureOr<TV *> d = imp.input(4);
    if (failed(d))
      return failure();
    TV dd = **d;
    int64_t last = dd.rank() == 3 ? dd.shape()[2] : -1;
    if (dd.rank() != 3 || dd.shape()[0] != b || dd.shape()[1] != t ||
        (last != *hkv && last != *hkv * dk))
      return imp.error() << "decay must be [" << b << ", " << t << ", "
                         << *hkv << " or " << *hkv * dk << "], got "
                         << dd.type;
    KILN_TRY(r, unpack(dd, *hkv)); // [B, Hkv, T, 1 or dk]
    decay4 = r;
  }
  if (delta) {
    FailureOr<TV *> bt = imp.input(5);
    if (failed(bt))
      return failure();
    TV bb = **bt;
    int64_t last = bb.rank() == 3 ? bb.shape()[2] : -1;
    if (bb.rank() != 3 || bb.shape()[0] != b || bb.shape()[1] != t ||
        (last != *hkv && last != 1))
      return imp.error() << "beta must be [" << b << ", " << t << ", "
                         << *hkv << " or 1], got " << bb.type;
    KILN_TRY(r, unpack(bb, last)); // [B, Hkv or 1, T, 1]
    beta4 = r;
  }
  Type stateElt = outElt;
  TV state;
  SmallVector<int64_t> stateShape{b, *hkv, dk, dv};
  if (imp.hasInput(3)) {
    FailureOr<TV *> p = imp.input(3);
    if (failed(p))
      return failure();
    if ((*p)->shape() != ArrayRef<int64_t>(stateShape) ||
        !isa<FloatType>((*p)->elementType()))
      return imp.error() << "past_state must be " << shapeText(stateShape)
                         << " floats, got " << (*p)->type;
    stateElt = (*p)->elementType();
    KILN_TRY(s0, toF32(**p));
    state = s0;
  } else {
    state = imp.makeSplat(RankedTensorType::get(stateShape, f32), 0.0);
  }
  double scale =
      *scaleAttr == 0.0f ? 1.0 / std::sqrt(double(dk)) : double(*scaleAttr);
  TV scaleTV = scalarTV(imp, f32, scale);

  SmallVector<TV> outs;
  for (int64_t i = 0; i < t; ++i) {
    KILN_TRY(qt, sliceAxis(imp, q4, 2, i, 1)); // [B, Hq, 1, dk]
    KILN_TRY(kt, sliceAxis(imp, k4, 2, i, 1)); // [B, Hkv, 1, dk]
    KILN_TRY(vt0, sliceAxis(imp, v4, 2, i, 1)); // [B, Hkv, 1, dv]
    TV vt = vt0;
    if (gating) {
      KILN_TRY(gt, sliceAxis(imp, *decay4, 2, i, 1)); // [B, Hkv, 1, X]
      int64_t x = gt.shape()[3];
      KILN_TRY(gcol, imp.emitReshape(gt, {b, *hkv, x, 1}));
      KILN_TRY(e, imp.emitUnary(UnaryKind::Exp, gcol));
      KILN_TRY(decayed, imp.emitBinary(BinaryKind::Mul, state, e));
      state = decayed;
    }
    if (delta) {
      KILN_TRY(retrieved, imp.emitMatMul(kt, state)); // [B, Hkv, 1, dv]
      KILN_TRY(diff, imp.emitBinary(BinaryKind::Sub, vt, retrieved));
      KILN_TRY(bt, sliceAxis(imp, *beta4, 2, i, 1)); // [B, Hkv|1, 1, 1]
      KILN_TRY(scaled, imp.emitBinary(BinaryKind::Mul, bt, diff));
      vt = scaled;
    }
    KILN_TRY(kcol, imp.emitReshape(kt, {b, *hkv, dk, 1}));
    KILN_TRY(outer, imp.emitMatMul(kcol, vt));
    KILN_TRY(updated, imp.emitBinary(BinaryKind::Add, state, outer));
    state = updated;
    KILN_TRY(qg, imp.emitReshape(qt, {b, *hkv, group, dk}));
    KILN_TRY(read, imp.emitMatMul(qg, state)); // [B, Hkv, group, dv]
    KILN_TRY(o, imp.emitReshape(read, {b, *hq, 1, dv}));
    KILN_TRY(os, imp.emitBinary(BinaryKind::Mul, o, scaleTV));
    outs.push_back(os);
  }
  SmallVector<TV *> ptrs;
  for (TV &o : outs)
    ptrs.push_back(&o);
  TV all;
  if (ptrs.size() == 1) {
    all = outs.front();
  } else {
    KILN_TRY(c, imp.emitConcat(ptrs, 2)); // [B, Hq, T, dv]
    all = c;
  }
  KILN_TRY(tr, imp.emitTranspose(all, {0, 2, 1, 3}));
  KILN_TRY(y, imp.emitReshape(tr, {b, t, *hq * dv}));
  if (outElt != f32) {
    KILN_TRY(yc, imp.emitCast(y, outElt));
    y = yc;
  }
  if (failed(imp.setOutput(0, y)))
    return failure();
  if (stateElt != f32) {
    KILN_TRY(sc, imp.emitCast(state, stateElt));
    state = sc;
  }
  return imp.setOutput(1, state);
}

//===----------------------------------------------------------------------===//
// FlexAttention (ai.onnx.preview)
//===----------------------------------------------------------------------===//

/// FlexAttention: scores = (Q sqrt(s)) (K sqrt(s))^T in the input type,
/// then in softmax_precision (f32 for narrower inputs): the score_mod
/// subgraph, a max-shifted softmax, the prob_mod subgraph, times V; the
/// modifier subgraphs import inline. KV heads repeat for grouped queries.
LogicalResult importFlexAttention(GraphImporter &imp) {
  FailureOr<TV *> qIn = imp.input(0), kIn = imp.input(1), vIn = imp.input(2);
  if (failed(qIn) || failed(kIn) || failed(vIn))
    return failure();
  TV q = **qIn, k = **kIn, v = **vIn;
  for (TV *x : {&q, &k, &v})
    if (x->rank() != 4 || !isa<FloatType>(x->elementType()))
      return imp.error() << "Q, K and V must be rank-4 float tensors, got "
                         << x->type;
  int64_t hq = q.shape()[1], hkv = k.shape()[1], e = q.shape()[3];
  if (v.shape()[1] != hkv || v.shape()[2] != k.shape()[2] ||
      k.shape()[3] != e || hkv <= 0 || hq % hkv != 0)
    return imp.error() << "Q " << q.type << ", K " << k.type << " and V "
                       << v.type << " do not fit together";
  FailureOr<float> scaleAttr = imp.floatAttr(
      "scale", static_cast<float>(1.0 / std::sqrt(double(e))));
  if (failed(scaleAttr))
    return failure();
  Type elt = q.elementType();
  Type compute = elt;
  if (cast<FloatType>(elt).getWidth() < 32)
    compute = imp.builder.getF32Type();
  if (imp.hasAttr("softmax_precision")) {
    FailureOr<int64_t> p = imp.intAttr("softmax_precision", 1);
    if (failed(p))
      return failure();
    compute = getElementType(imp.ctx, static_cast<int32_t>(*p));
    if (!compute || !isa<FloatType>(compute))
      return imp.error() << "softmax_precision " << *p
                         << " is not a float type";
  }
  KILN_TRY(kr, repeatHeads(imp, k, hq / hkv));
  KILN_TRY(vr, repeatHeads(imp, v, hq / hkv));
  double sqrtScale = std::sqrt(double(static_cast<float>(*scaleAttr)));
  TV ss = scalarTV(imp, elt, sqrtScale);
  KILN_TRY(qs, imp.emitBinary(BinaryKind::Mul, q, ss));
  KILN_TRY(ks, imp.emitBinary(BinaryKind::Mul, kr, ss));
  KILN_TRY(kt, imp.emitTranspose(ks, {0, 1, 3, 2}));
  KILN_TRY(scores0, imp.emitMatMul(qs, kt));
  TV scores = scores0;
  auto toCompute = [&](TV &x) -> FailureOr<TV> {
    if (x.elementType() == compute)
      return x;
    return imp.emitCast(x, compute);
  };
  auto applyMod = [&](StringRef name, TV &x) -> LogicalResult {
    const ::onnx::AttributeProto *a = imp.getAttr(name);
    if (!a)
      return success();
    if (!a->has_g())
      return imp.error() << "attribute '" << name << "' must be a graph";
    FailureOr<SmallVector<TV>> outs = imp.importSubgraph(a->g(), {x}, name);
    if (failed(outs))
      return failure();
    if (outs->size() != 1 || (*outs)[0].shape() != x.shape())
      return imp.error() << name << " must produce one tensor of shape "
                         << shapeText(x.shape());
    FailureOr<TV> c = toCompute((*outs)[0]);
    if (failed(c))
      return failure();
    x = *c;
    return success();
  };
  KILN_TRY(sc, toCompute(scores));
  scores = sc;
  if (failed(applyMod("score_mod", scores)))
    return failure();
  KILN_TRY(mx, imp.emitReduce(ReduceKind::Max, scores, {3}, true));
  KILN_TRY(shifted, imp.emitBinary(BinaryKind::Sub, scores, mx));
  KILN_TRY(ex, imp.emitUnary(UnaryKind::Exp, shifted));
  KILN_TRY(sum, imp.emitReduce(ReduceKind::Sum, ex, {3}, true));
  KILN_TRY(probs0, imp.emitBinary(BinaryKind::Div, ex, sum));
  TV probs = probs0;
  if (failed(applyMod("prob_mod", probs)))
    return failure();
  KILN_TRY(vc, toCompute(vr));
  KILN_TRY(out, imp.emitMatMul(probs, vc));
  if (out.elementType() != v.elementType()) {
    KILN_TRY(oc, imp.emitCast(out, v.elementType()));
    out = oc;
  }
  return imp.setOutput(0, out);
}

} // namespace

void mlir::kiln::onnx::registerAttentionOps(llvm::StringMap<OpHandler> &map) {
  map["Attention"] = importAttention;
  map["RotaryEmbedding"] = importRotaryEmbedding;
  map["LinearAttention"] = importLinearAttention;
  map["ai.onnx.preview.FlexAttention"] = importFlexAttention;
}
