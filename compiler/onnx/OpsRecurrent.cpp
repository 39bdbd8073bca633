//===- OpsRecurrent.cpp - RNN, GRU and LSTM ONNX ops ----------------------===//
//
// Part of kiln. The recurrent ops unroll over the static sequence length
// into existing kiln ops: the input projection of every time step is one
// matmul up front ([seq * batch, input] x W^T, plus both biases), then each
// step multiplies the previous hidden state by R^T, splits the gates
// (slices) and applies the activations elementwise. Directions run
// independently (reverse walks the steps backwards) and their states are
// concatenated into Y [seq, dirs, batch, hidden], Y_h and Y_c (transposed
// for layout = 1). sequence_lens shorter than the sequence freeze the
// state and zero Y past each batch entry's end (forward direction).
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include "llvm/ADT/StringExtras.h"

#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

enum class Cell { RNN, GRU, LSTM };

struct Activation {
  std::string name;
  std::optional<float> alpha, beta;
};

/// Applies an ONNX recurrent activation function by name.
FailureOr<TV> activate(GraphImporter &imp, const Activation &act, TV &x) {
  std::string n = StringRef(act.name).lower();
  Type elt = x.elementType();
  auto sc = [&](double v) { return scalarTV(imp, elt, v); };
  auto mulS = [&](TV &a, double v) -> FailureOr<TV> {
    TV s = sc(v);
    return imp.emitBinary(BinaryKind::Mul, a, s);
  };
  auto addS = [&](TV &a, double v) -> FailureOr<TV> {
    TV s = sc(v);
    return imp.emitBinary(BinaryKind::Add, a, s);
  };
  if (n == "tanh")
    return imp.emitUnary(UnaryKind::Tanh, x);
  if (n == "sigmoid")
    return imp.emitUnary(UnaryKind::Sigmoid, x);
  if (n == "relu")
    return imp.emitUnary(UnaryKind::Relu, x);
  if (n == "affine") {
    FailureOr<TV> m = mulS(x, act.alpha.value_or(1.0f));
    if (failed(m))
      return failure();
    return addS(*m, act.beta.value_or(0.0f));
  }
  if (n == "scaledtanh") {
    FailureOr<TV> m = mulS(x, act.beta.value_or(1.0f));
    if (failed(m))
      return failure();
    FailureOr<TV> t = imp.emitUnary(UnaryKind::Tanh, *m);
    if (failed(t))
      return failure();
    return mulS(*t, act.alpha.value_or(1.0f));
  }
  if (n == "hardsigmoid") {
    FailureOr<TV> m = mulS(x, act.alpha.value_or(0.2f));
    if (failed(m))
      return failure();
    FailureOr<TV> a = addS(*m, act.beta.value_or(0.5f));
    if (failed(a))
      return failure();
    TV zero = sc(0), one = sc(1);
    FailureOr<TV> lo = imp.emitBinary(BinaryKind::Max, *a, zero);
    if (failed(lo))
      return failure();
    return imp.emitBinary(BinaryKind::Min, *lo, one);
  }
  if (n == "leakyrelu" || n == "thresholdedrelu" || n == "elu") {
    double alpha = act.alpha.value_or(n == "leakyrelu" ? 0.01f : 1.0f);
    TV zero = sc(0);
    if (n == "thresholdedrelu") {
      TV a = sc(alpha);
      FailureOr<TV> gt = imp.emitBinary(BinaryKind::Greater, x, a);
      if (failed(gt))
        return failure();
      return imp.emitWhere(*gt, x, zero);
    }
    FailureOr<TV> neg = imp.emitBinary(BinaryKind::Less, x, zero);
    if (failed(neg))
      return failure();
    FailureOr<TV> low;
    if (n == "leakyrelu") {
      low = mulS(x, alpha);
    } else {
      FailureOr<TV> e = imp.emitUnary(UnaryKind::Exp, x);
      if (failed(e))
        return failure();
      FailureOr<TV> em1 = addS(*e, -1.0);
      if (failed(em1))
        return failure();
      low = mulS(*em1, alpha);
    }
    if (failed(low))
      return failure();
    return imp.emitWhere(*neg, *low, x);
  }
  if (n == "softsign") {
    FailureOr<TV> a = imp.emitUnary(UnaryKind::Abs, x);
    if (failed(a))
      return failure();
    FailureOr<TV> d = addS(*a, 1.0);
    if (failed(d))
      return failure();
    return imp.emitBinary(BinaryKind::Div, x, *d);
  }
  if (n == "softplus") {
    FailureOr<TV> e = imp.emitUnary(UnaryKind::Exp, x);
    if (failed(e))
      return failure();
    FailureOr<TV> a = addS(*e, 1.0);
    if (failed(a))
      return failure();
    return imp.emitUnary(UnaryKind::Log, *a);
  }
  return imp.error() << "unsupported activation '" << act.name << "'";
}

/// Row `d` of a [dirs, ...] tensor, without the leading dim.
FailureOr<TV> direction(GraphImporter &imp, TV &x, int64_t d) {
  FailureOr<TV> s = sliceAxis(imp, x, 0, d, 1);
  if (failed(s))
    return failure();
  return imp.emitReshape(*s, x.shape().drop_front());
}

/// Columns [start, start + size) of a 2-D tensor.
FailureOr<TV> cols(GraphImporter &imp, TV &x, int64_t start, int64_t size) {
  return sliceAxis(imp, x, x.rank() - 1, start, size);
}

template <Cell Kind> LogicalResult importRecurrent(GraphImporter &imp) {
  constexpr int64_t gates = Kind == Cell::RNN ? 1 : Kind == Cell::GRU ? 3 : 4;
  FailureOr<TV *> xIn = imp.input(0), wIn = imp.input(1), rIn = imp.input(2);
  FailureOr<std::string> dirAttr = imp.stringAttr("direction", "forward");
  FailureOr<int64_t> layout = imp.intAttr("layout", 0);
  FailureOr<int64_t> hiddenAttr = imp.intAttr("hidden_size", 0);
  FailureOr<int64_t> lbr = imp.intAttr("linear_before_reset", 0);
  FailureOr<int64_t> inputForget = imp.intAttr("input_forget", 0);
  if (failed(xIn) || failed(wIn) || failed(rIn) || failed(dirAttr) ||
      failed(layout) || failed(hiddenAttr) || failed(lbr) ||
      failed(inputForget))
    return failure();
  if (*inputForget)
    return imp.error() << "input_forget = 1 is not supported";
  std::optional<float> clip;
  if (imp.hasAttr("clip")) {
    FailureOr<float> c = imp.floatAttr("clip", 0.0f);
    if (failed(c))
      return failure();
    clip = *c;
  }
  TV x = **xIn, w = **wIn, r = **rIn;
  Type elt = x.elementType();
  if (!isa<FloatType>(elt))
    return imp.error() << "X must be a float tensor, got " << x.type;
  if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3)
    return imp.error() << "X, W and R must be 3-D";
  if (*layout) {
    FailureOr<TV> t = imp.emitTranspose(x, {1, 0, 2});
    if (failed(t))
      return failure();
    x = *t;
  }
  int64_t seq = x.shape()[0], batch = x.shape()[1], in = x.shape()[2];
  int64_t dirs = w.shape()[0], hidden = r.shape()[2];
  bool bidi = *dirAttr == "bidirectional";
  if (*dirAttr != "forward" && *dirAttr != "reverse" && !bidi)
    return imp.error() << "unknown direction '" << *dirAttr << "'";
  if (dirs != (bidi ? 2 : 1))
    return imp.error() << "W has " << dirs << " directions for direction '"
                       << *dirAttr << "'";
  if (*hiddenAttr && *hiddenAttr != hidden)
    return imp.error() << "hidden_size " << *hiddenAttr
                       << " does not match R " << r.type;
  if (w.shape()[1] != gates * hidden || w.shape()[2] != in ||
      r.shape()[1] != gates * hidden)
    return imp.error() << "W " << w.type << " and R " << r.type
                       << " do not fit " << gates << " gates of size "
                       << hidden << " over inputs of size " << in;

  // Activations: defaults per cell, one list per direction.
  SmallVector<std::string> defaults;
  if (Kind == Cell::RNN)
    defaults = {"Tanh"};
  else if (Kind == Cell::GRU)
    defaults = {"Sigmoid", "Tanh"};
  else
    defaults = {"Sigmoid", "Tanh", "Tanh"};
  SmallVector<Activation> acts;
  if (const auto *a = imp.getAttr("activations")) {
    for (const std::string &s : a->strings())
      acts.push_back({s, {}, {}});
  }
  if (acts.empty())
    for (int64_t d = 0; d < dirs; ++d)
      for (const std::string &s : defaults)
        acts.push_back({s, {}, {}});
  if (acts.size() == defaults.size() && dirs == 2)
    acts.append(acts.begin(), acts.end());
  if (acts.size() != defaults.size() * dirs)
    return imp.error() << "expected " << defaults.size() * dirs
                       << " activations, got " << acts.size();
  FailureOr<SmallVector<float>> alphas = imp.floatsAttr("activation_alpha");
  FailureOr<SmallVector<float>> betas = imp.floatsAttr("activation_beta");
  if (failed(alphas) || failed(betas))
    return failure();
  for (size_t i = 0; i < acts.size(); ++i) {
    if (i < alphas->size())
      acts[i].alpha = (*alphas)[i];
    if (i < betas->size())
      acts[i].beta = (*betas)[i];
  }

  // Optional inputs.
  auto optional = [&](int i) -> FailureOr<std::optional<TV>> {
    if (!imp.hasInput(i))
      return std::optional<TV>();
    FailureOr<TV *> t = imp.input(i);
    if (failed(t))
      return failure();
    return std::optional<TV>(**t);
  };
  FailureOr<std::optional<TV>> bIn = optional(3), lensIn = optional(4),
                               h0In = optional(5), c0In = optional(6),
                               pIn = optional(7);
  if (failed(bIn) || failed(lensIn) || failed(h0In) || failed(c0In) ||
      failed(pIn))
    return failure();
  auto stateInit = [&](std::optional<TV> &s) -> FailureOr<TV> {
    if (!s)
      return imp.makeSplat(RankedTensorType::get({dirs, batch, hidden}, elt),
                           0.0);
    if (*layout)
      return imp.emitTranspose(*s, {1, 0, 2});
    return *s;
  };
  FailureOr<TV> h0 = stateInit(*h0In);
  FailureOr<TV> c0 = stateInit(*c0In);
  if (failed(h0) || failed(c0))
    return failure();
  // Sequence lengths: ignored when all are full; else per-step masks.
  std::optional<TV> lens;
  if (*lensIn) {
    TV l = **lensIn;
    bool full = l.hasData() && llvm::all_of(l.data->ints, [&](int64_t v) {
      return v == seq;
    });
    if (!full) {
      if (*dirAttr != "forward")
        return imp.error() << "sequence_lens shorter than the sequence are "
                              "only supported in the forward direction";
      Type i64 = imp.builder.getI64Type();
      if (l.elementType() != i64) {
        FailureOr<TV> c = imp.emitCast(l, i64);
        if (failed(c))
          return failure();
        l = *c;
      }
      FailureOr<TV> col = imp.emitReshape(l, {batch, 1});
      if (failed(col))
        return failure();
      lens = *col;
    }
  }

  FailureOr<TV> x2 = imp.emitReshape(x, {seq * batch, in});
  if (failed(x2))
    return failure();
  SmallVector<TV> yDirs, hDirs, cDirs;
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = *dirAttr == "reverse" || (bidi && d == 1);
    FailureOr<TV> wd = direction(imp, w, d), rd = direction(imp, r, d);
    if (failed(wd) || failed(rd))
      return failure();
    FailureOr<TV> wt = imp.emitTranspose(*wd, {1, 0});
    FailureOr<TV> rt = imp.emitTranspose(*rd, {1, 0});
    if (failed(wt) || failed(rt))
      return failure();
    // Input projection of all steps, plus the biases.
    FailureOr<TV> xw = imp.emitMatMul(*x2, *wt);
    if (failed(xw))
      return failure();
    std::optional<TV> rbH; // GRU, linear_before_reset: Rb of the h gate
    if (*bIn) {
      FailureOr<TV> bd = direction(imp, **bIn, d);
      if (failed(bd))
        return failure();
      FailureOr<TV> wb = cols(imp, *bd, 0, gates * hidden);
      FailureOr<TV> rb = cols(imp, *bd, gates * hidden, gates * hidden);
      if (failed(wb) || failed(rb))
        return failure();
      TV rbIn = *rb;
      if (Kind == Cell::GRU && *lbr) {
        FailureOr<TV> rh = cols(imp, *rb, 2 * hidden, hidden);
        FailureOr<TV> rzr = cols(imp, *rb, 0, 2 * hidden);
        if (failed(rh) || failed(rzr))
          return failure();
        rbH = *rh;
        TV zeros = imp.makeSplat(RankedTensorType::get({hidden}, elt), 0.0);
        TV *parts[] = {&*rzr, &zeros};
        FailureOr<TV> c = imp.emitConcat(parts, 0);
        if (failed(c))
          return failure();
        rbIn = *c;
      }
      FailureOr<TV> b = imp.emitBinary(BinaryKind::Add, *wb, rbIn);
      if (failed(b))
        return failure();
      xw = imp.emitBinary(BinaryKind::Add, *xw, *b);
      if (failed(xw))
        return failure();
    }
    FailureOr<TV> xw3 = imp.emitReshape(*xw, {seq, batch, gates * hidden});
    if (failed(xw3))
      return failure();
    std::optional<TV> peep[3];
    if (Kind == Cell::LSTM && *pIn) {
      FailureOr<TV> pd = direction(imp, **pIn, d);
      if (failed(pd))
        return failure();
      for (int k = 0; k < 3; ++k) {
        FailureOr<TV> pk = cols(imp, *pd, k * hidden, hidden);
        if (failed(pk))
          return failure();
        peep[k] = *pk;
      }
    }
    FailureOr<TV> hd = direction(imp, *h0, d), cd = direction(imp, *c0, d);
    if (failed(hd) || failed(cd))
      return failure();
    TV h = *hd, c = *cd;
    const Activation *f = &acts[d * defaults.size()];
    SmallVector<TV> ys(seq);
    auto clipped = [&](TV &v) -> FailureOr<TV> {
      if (!clip)
        return v;
      TV lo = scalarTV(imp, elt, -*clip), hi = scalarTV(imp, elt, *clip);
      FailureOr<TV> a = imp.emitBinary(BinaryKind::Max, v, lo);
      if (failed(a))
        return failure();
      return imp.emitBinary(BinaryKind::Min, *a, hi);
    };
    for (int64_t step = 0; step < seq; ++step) {
      int64_t t = reverse ? seq - 1 - step : step;
      FailureOr<TV> xt = sliceAxis(imp, *xw3, 0, t, 1);
      if (failed(xt))
        return failure();
      FailureOr<TV> xt2 = imp.emitReshape(*xt, {batch, gates * hidden});
      if (failed(xt2))
        return failure();
      TV hNew, cNew;
      auto act = [&](int i, TV v) -> FailureOr<TV> {
        FailureOr<TV> cv = clipped(v);
        if (failed(cv))
          return failure();
        return activate(imp, f[i], *cv);
      };
      if (Kind == Cell::RNN) {
        FailureOr<TV> hr = imp.emitMatMul(h, *rt);
        if (failed(hr))
          return failure();
        FailureOr<TV> s = imp.emitBinary(BinaryKind::Add, *xt2, *hr);
        if (failed(s))
          return failure();
        FailureOr<TV> a = act(0, *s);
        if (failed(a))
          return failure();
        hNew = *a;
      } else if (Kind == Cell::LSTM) {
        FailureOr<TV> hr = imp.emitMatMul(h, *rt);
        if (failed(hr))
          return failure();
        FailureOr<TV> g = imp.emitBinary(BinaryKind::Add, *xt2, *hr);
        if (failed(g))
          return failure();
        FailureOr<TV> gi = cols(imp, *g, 0, hidden),
                      go = cols(imp, *g, hidden, hidden),
                      gf = cols(imp, *g, 2 * hidden, hidden),
                      gc = cols(imp, *g, 3 * hidden, hidden);
        if (failed(gi) || failed(go) || failed(gf) || failed(gc))
          return failure();
        auto withPeep = [&](TV &gate, int k, TV &state) -> FailureOr<TV> {
          if (!peep[k])
            return gate;
          FailureOr<TV> m = imp.emitBinary(BinaryKind::Mul, *peep[k], state);
          if (failed(m))
            return failure();
          return imp.emitBinary(BinaryKind::Add, gate, *m);
        };
        FailureOr<TV> pi = withPeep(*gi, 0, c), pf = withPeep(*gf, 2, c);
        if (failed(pi) || failed(pf))
          return failure();
        FailureOr<TV> i = act(0, *pi), fg = act(0, *pf), cc = act(1, *gc);
        if (failed(i) || failed(fg) || failed(cc))
          return failure();
        FailureOr<TV> fc = imp.emitBinary(BinaryKind::Mul, *fg, c);
        FailureOr<TV> ic = imp.emitBinary(BinaryKind::Mul, *i, *cc);
        if (failed(fc) || failed(ic))
          return failure();
        FailureOr<TV> cn = imp.emitBinary(BinaryKind::Add, *fc, *ic);
        if (failed(cn))
          return failure();
        cNew = *cn;
        FailureOr<TV> po = withPeep(*go, 1, cNew);
        if (failed(po))
          return failure();
        FailureOr<TV> o = act(0, *po);
        if (failed(o))
          return failure();
        FailureOr<TV> hc = activate(imp, f[2], cNew);
        if (failed(hc))
          return failure();
        FailureOr<TV> hn = imp.emitBinary(BinaryKind::Mul, *o, *hc);
        if (failed(hn))
          return failure();
        hNew = *hn;
      } else { // GRU
        FailureOr<TV> rzr = cols(imp, *rt, 0, 2 * hidden);
        FailureOr<TV> rh = cols(imp, *rt, 2 * hidden, hidden);
        if (failed(rzr) || failed(rh))
          return failure();
        FailureOr<TV> hzr = imp.emitMatMul(h, *rzr);
        if (failed(hzr))
          return failure();
        FailureOr<TV> xzr = cols(imp, *xt2, 0, 2 * hidden);
        FailureOr<TV> xh = cols(imp, *xt2, 2 * hidden, hidden);
        if (failed(xzr) || failed(xh))
          return failure();
        FailureOr<TV> zr = imp.emitBinary(BinaryKind::Add, *xzr, *hzr);
        if (failed(zr))
          return failure();
        FailureOr<TV> zs = cols(imp, *zr, 0, hidden),
                      rs = cols(imp, *zr, hidden, hidden);
        if (failed(zs) || failed(rs))
          return failure();
        FailureOr<TV> z = act(0, *zs), rg = act(0, *rs);
        if (failed(z) || failed(rg))
          return failure();
        FailureOr<TV> pre;
        if (*lbr) {
          FailureOr<TV> hr = imp.emitMatMul(h, *rh);
          if (failed(hr))
            return failure();
          if (rbH) {
            hr = imp.emitBinary(BinaryKind::Add, *hr, *rbH);
            if (failed(hr))
              return failure();
          }
          FailureOr<TV> m = imp.emitBinary(BinaryKind::Mul, *rg, *hr);
          if (failed(m))
            return failure();
          pre = imp.emitBinary(BinaryKind::Add, *xh, *m);
        } else {
          FailureOr<TV> rhPrev = imp.emitBinary(BinaryKind::Mul, *rg, h);
          if (failed(rhPrev))
            return failure();
          FailureOr<TV> m = imp.emitMatMul(*rhPrev, *rh);
          if (failed(m))
            return failure();
          pre = imp.emitBinary(BinaryKind::Add, *xh, *m);
        }
        if (failed(pre))
          return failure();
        FailureOr<TV> hh = act(1, *pre);
        if (failed(hh))
          return failure();
        // (1 - z) * hh + z * h = hh + z * (h - hh)
        FailureOr<TV> diff = imp.emitBinary(BinaryKind::Sub, h, *hh);
        if (failed(diff))
          return failure();
        FailureOr<TV> zd = imp.emitBinary(BinaryKind::Mul, *z, diff.value());
        if (failed(zd))
          return failure();
        FailureOr<TV> hn = imp.emitBinary(BinaryKind::Add, *hh, *zd);
        if (failed(hn))
          return failure();
        hNew = *hn;
      }
      TV yt = hNew;
      if (lens) {
        Type i64 = imp.builder.getI64Type();
        TV tv = scalarTV(imp, i64, double(t));
        FailureOr<TV> live = imp.emitBinary(BinaryKind::Less, tv, *lens);
        if (failed(live))
          return failure();
        FailureOr<TV> hk = imp.emitWhere(*live, hNew, h);
        if (failed(hk))
          return failure();
        TV zero = scalarTV(imp, elt, 0.0);
        FailureOr<TV> yk = imp.emitWhere(*live, hNew, zero);
        if (failed(yk))
          return failure();
        yt = *yk;
        hNew = *hk;
        if (Kind == Cell::LSTM) {
          FailureOr<TV> ck = imp.emitWhere(*live, cNew, c);
          if (failed(ck))
            return failure();
          cNew = *ck;
        }
      }
      h = hNew;
      if (Kind == Cell::LSTM)
        c = cNew;
      FailureOr<TV> y4 = imp.emitReshape(yt, {1, 1, batch, hidden});
      if (failed(y4))
        return failure();
      ys[t] = *y4;
    }
    if (imp.outputUsed(0)) {
      SmallVector<TV *> ptrs;
      for (TV &y : ys)
        ptrs.push_back(&y);
      FailureOr<TV> yd = imp.emitConcat(ptrs, 0);
      if (failed(yd))
        return failure();
      yDirs.push_back(*yd);
    }
    FailureOr<TV> h3 = imp.emitReshape(h, {1, batch, hidden});
    FailureOr<TV> c3 = imp.emitReshape(c, {1, batch, hidden});
    if (failed(h3) || failed(c3))
      return failure();
    hDirs.push_back(*h3);
    cDirs.push_back(*c3);
  }
  auto join = [&](SmallVector<TV> &parts, int64_t axis) -> FailureOr<TV> {
    SmallVector<TV *> ptrs;
    for (TV &p : parts)
      ptrs.push_back(&p);
    return imp.emitConcat(ptrs, axis);
  };
  if (imp.outputUsed(0)) {
    FailureOr<TV> y = join(yDirs, 1);
    if (failed(y))
      return failure();
    if (*layout)
      y = imp.emitTranspose(*y, {2, 0, 1, 3});
    if (failed(setResult(imp, y, 0)))
      return failure();
  }
  FailureOr<TV> yh = join(hDirs, 0);
  if (failed(yh))
    return failure();
  if (*layout)
    yh = imp.emitTranspose(*yh, {1, 0, 2});
  if (failed(setResult(imp, yh, 1)))
    return failure();
  if (Kind == Cell::LSTM) {
    FailureOr<TV> yc = join(cDirs, 0);
    if (failed(yc))
      return failure();
    if (*layout)
      yc = imp.emitTranspose(*yc, {1, 0, 2});
    return setResult(imp, yc, 2);
  }
  return success();
}

} // namespace

void mlir::kiln::onnx::registerRecurrentOps(llvm::StringMap<OpHandler> &map) {
  map["RNN"] = importRecurrent<Cell::RNN>;
  map["GRU"] = importRecurrent<Cell::GRU>;
  map["LSTM"] = importRecurrent<Cell::LSTM>;
}
