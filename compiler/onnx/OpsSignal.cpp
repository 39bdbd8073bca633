//===- OpsSignal.cpp - ONNX signal-processing ops -------------------------===//
//
// Part of kiln. Handlers for the window functions, DFT, STFT and
// MelWeightMatrix:
//   HannWindow / HammingWindow / BlackmanWindow -> a constant (the size is
//     a compile-time constant, so the window is computed at import);
//   DFT -> two matrix products with constant cosine/sine tables along the
//     transformed axis (a direct O(n^2) transform over the static length):
//     forward, inverse, one-sided forward (rfft) and
//     one-sided inverse (irfft, Hermitian-extended), dft_length truncating or
//     zero-padding the signal;
//   STFT -> a gather of the frames, the window, that DFT;
//   MelWeightMatrix -> a constant (its scalar inputs are compile-time).
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include <cmath>

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

/// Largest window or DFT table the importer builds (elements).
constexpr int64_t kMaxTableElements = int64_t(1) << 24;

/// Reads a scalar (or one-element) integer constant input.
FailureOr<int64_t> scalarIntInput(GraphImporter &imp, int i, StringRef what) {
  FailureOr<TV *> in = imp.constInput(i, what);
  if (failed(in))
    return failure();
  if (!isa<IntegerType>((*in)->elementType()) ||
      (*in)->type.getNumElements() != 1)
    return imp.error() << what << " must be an integer scalar, got "
                       << (*in)->type;
  return (*in)->data->ints[0];
}

//===----------------------------------------------------------------------===//
// Window functions
//===----------------------------------------------------------------------===//

enum class Window { Hann, Hamming, Blackman };

/// w[n] = a0 - a1 cos(2 pi n / N') + a2 cos(4 pi n / N'), N' = size when
/// periodic, size - 1 otherwise (ONNX's definitions).
template <Window kind>
LogicalResult importWindow(GraphImporter &imp) {
  FailureOr<int64_t> size = scalarIntInput(imp, 0, "the size input");
  FailureOr<int64_t> periodic = imp.intAttr("periodic", 1);
  FailureOr<int64_t> dtype = imp.intAttr("output_datatype", 1);
  if (failed(size) || failed(periodic) || failed(dtype))
    return failure();
  if (*size < 0 || *size > kMaxTableElements)
    return imp.error() << "size " << *size << " is out of range [0, "
                       << kMaxTableElements << "]";
  Type elt = getElementType(imp.ctx, static_cast<int32_t>(*dtype));
  if (!elt || !isa<FloatType, IntegerType>(elt) || elt.isInteger(1))
    return imp.error() << "output_datatype " << *dtype
                       << " is not a supported numeric type";
  double a0, a1, a2 = 0;
  switch (kind) {
  case Window::Hann:
    a0 = 0.5, a1 = 0.5;
    break;
  case Window::Hamming:
    a0 = 25.0 / 46.0, a1 = 1 - a0;
    break;
  case Window::Blackman:
    a0 = 0.42, a1 = 0.5, a2 = 0.08;
    break;
  }
  double n1 = double(*periodic ? *size : *size - 1);
  Contents c;
  for (int64_t n = 0; n < *size; ++n) {
    double w = a0 - a1 * std::cos(2 * M_PI * double(n) / n1) +
               a2 * std::cos(4 * M_PI * double(n) / n1);
    if (isa<FloatType>(elt))
      c.floats.push_back(roundToFloatType(elt, w));
    else
      c.ints.push_back(wrapToIntType(elt, static_cast<int64_t>(w)));
  }
  return imp.setOutput(
      0, imp.makeConst(RankedTensorType::get({*size}, elt), std::move(c)));
}

//===----------------------------------------------------------------------===//
// DFT
//===----------------------------------------------------------------------===//

/// x [..., M, ...] (the transformed axis moved last: [..., M]) times a
/// constant [M, K] table -> [..., K].
FailureOr<TV> applyTable(GraphImporter &imp, TV &x, Type elt, int64_t m,
                         int64_t k, ArrayRef<double> table) {
  Contents c;
  for (double v : table)
    c.floats.push_back(roundToFloatType(elt, v));
  TV t = imp.makeConst(RankedTensorType::get({m, k}, elt), std::move(c));
  return imp.emitMatMul(x, t);
}

/// The DFT of `x` [..., signal, 1 or 2] along `ax` (not the last dim) with
/// transform length `len`: forward, inverse (scaled by 1/len), one-sided
/// forward (the first len/2 + 1 bins), one-sided inverse (irfft: the input
/// holds bins 0..len/2 of a Hermitian spectrum, the output is real,
/// [..., len, ..., 1]).
FailureOr<TV> dft(GraphImporter &imp, TV x, int64_t ax, int64_t len,
                  bool inverse, bool onesided) {
  Type elt = x.elementType();
  int64_t rank = x.rank();
  bool isComplex = x.shape().back() == 2;
  int64_t m = x.shape()[ax];
  if (len < 1)
    return imp.error() << "dft_length must be >= 1, got " << len;
  bool irfft = inverse && onesided;
  // Output bins K and the input entries the sums read (the rest would be
  // zero padding, or lie beyond the truncation).
  int64_t outLen = irfft ? len : (onesided ? len / 2 + 1 : len);
  int64_t used = std::min(m, irfft ? len / 2 + 1 : len);
  if (used * outLen > kMaxTableElements)
    return imp.error() << "a DFT of length " << len
                       << " is too large for kiln's direct transform";

  // Real and imaginary parts, [..., M, ...] each, the axis then moved last.
  SmallVector<int64_t> partShape(x.shape().drop_back());
  auto part = [&](int64_t which) -> FailureOr<TV> {
    KILN_TRY(s, sliceAxis(imp, x, rank - 1, which, 1));
    KILN_TRY(r, imp.emitReshape(s, partShape));
    KILN_TRY(u, sliceAxis(imp, r, ax, 0, used));
    return moveAxis(imp, u, ax, rank - 2);
  };
  KILN_TRY(xr, part(0));
  std::optional<TV> xi;
  if (isComplex) {
    KILN_TRY(p, part(1));
    xi = p;
  }

  // Y[k] = sum_n A[k, n] x[n]; tables hold A transposed, [n, k].
  SmallVector<double> ar(used * outLen), ai(used * outLen);
  double sign = inverse ? 1.0 : -1.0;
  double scale = inverse ? 1.0 / double(len) : 1.0;
  for (int64_t n = 0; n < used; ++n)
    for (int64_t k = 0; k < outLen; ++k) {
      // Reduce n*k mod len first: exact angles for long transforms.
      double angle = 2 * M_PI * double((n * k) % len) / double(len);
      double f = scale;
      if (irfft) // Hermitian extension: bins 1..ceil(len/2)-1 count twice.
        f *= (n == 0 || 2 * n == len) ? 1.0 : 2.0;
      ar[n * outLen + k] = f * std::cos(angle);
      ai[n * outLen + k] = f * sign * std::sin(angle);
    }

  KILN_TRY(yr, applyTable(imp, xr, elt, used, outLen, ar));
  TV yi;
  if (irfft) {
    // y = Re(sum_n c_n X[n] e^{+i...}) / len = xr*cos - xi*sin.
    if (xi) {
      KILN_TRY(is, applyTable(imp, *xi, elt, used, outLen, ai));
      KILN_TRY(d, imp.emitBinary(BinaryKind::Sub, yr, is));
      yr = d;
    }
  } else {
    KILN_TRY(ri, applyTable(imp, xr, elt, used, outLen, ai));
    yi = ri;
    if (xi) {
      KILN_TRY(ii, applyTable(imp, *xi, elt, used, outLen, ai));
      KILN_TRY(ir, applyTable(imp, *xi, elt, used, outLen, ar));
      KILN_TRY(r2, imp.emitBinary(BinaryKind::Sub, yr, ii));
      KILN_TRY(i2, imp.emitBinary(BinaryKind::Add, yi, ir));
      yr = r2;
      yi = i2;
    }
  }

  // Back to [..., K, ..., 1 or 2].
  auto finish = [&](TV &y) -> FailureOr<TV> {
    KILN_TRY(t, moveAxis(imp, y, rank - 2, ax));
    SmallVector<int64_t> s(t.shape());
    s.push_back(1);
    return imp.emitReshape(t, s);
  };
  KILN_TRY(outR, finish(yr));
  if (irfft)
    return outR;
  KILN_TRY(outI, finish(yi));
  TV *parts[] = {&outR, &outI};
  return imp.emitConcat(parts, rank - 1);
}

/// Checks a [..., signal, 1 or 2] float input.
LogicalResult checkSignal(GraphImporter &imp, TV &x, int64_t minRank) {
  if (!isa<FloatType>(x.elementType()))
    return imp.error() << "expects a float input, got " << x.type;
  if (x.rank() < minRank || (x.shape().back() != 1 && x.shape().back() != 2))
    return imp.error() << "input must be [..., signal, 1 or 2] (rank >= "
                       << minRank << "), got " << x.type;
  return success();
}

LogicalResult importDFT(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0);
  FailureOr<int64_t> inverse = imp.intAttr("inverse", 0);
  FailureOr<int64_t> onesided = imp.intAttr("onesided", 0);
  if (failed(in) || failed(inverse) || failed(onesided))
    return failure();
  TV x = **in;
  if (failed(checkSignal(imp, x, 2)))
    return failure();
  int64_t rank = x.rank();
  // The axis: an attribute before opset 20 (default 1), an optional input
  // since (default -2).
  int64_t axis;
  if (imp.opset >= 20) {
    axis = -2;
    if (imp.hasInput(2)) {
      FailureOr<int64_t> a = scalarIntInput(imp, 2, "the axis input");
      if (failed(a))
        return failure();
      axis = *a;
    }
  } else {
    FailureOr<int64_t> a = imp.intAttr("axis", 1);
    if (failed(a))
      return failure();
    axis = *a;
  }
  FailureOr<int64_t> ax = imp.normalizeAxis(axis, rank);
  if (failed(ax))
    return failure();
  if (*ax == rank - 1)
    return imp.error() << "axis " << axis
                       << " is the real/imaginary dim, not a signal dim";
  int64_t m = x.shape()[*ax];
  // The transform length: dft_length, else the input's (for a one-sided
  // inverse, the full length 2 (M - 1) the one-sided input came from).
  int64_t len = (*inverse && *onesided) ? 2 * (m - 1) : m;
  if (imp.hasInput(1)) {
    FailureOr<int64_t> l = scalarIntInput(imp, 1, "dft_length");
    if (failed(l))
      return failure();
    len = *l;
  }
  return setResult(imp, dft(imp, x, *ax, len, *inverse, *onesided));
}

/// STFT: frames of frame_length every frame_step samples (a gather along
/// the signal axis), times the window, each DFT'd (one-sided by default):
/// [batch, signal, 1 or 2] -> [batch, frames, bins, 2].
LogicalResult importSTFT(GraphImporter &imp) {
  FailureOr<TV *> in = imp.input(0);
  FailureOr<int64_t> step = scalarIntInput(imp, 1, "frame_step");
  FailureOr<int64_t> onesided = imp.intAttr("onesided", 1);
  if (failed(in) || failed(step) || failed(onesided))
    return failure();
  TV x = **in;
  if (failed(checkSignal(imp, x, 3)))
    return failure();
  if (x.rank() != 3)
    return imp.error() << "signal must be [batch, length, 1 or 2], got "
                       << x.type;
  TV *window = nullptr;
  if (imp.hasInput(2)) {
    FailureOr<TV *> w = imp.input(2);
    if (failed(w))
      return failure();
    window = *w;
    if (window->rank() != 1 || window->elementType() != x.elementType())
      return imp.error() << "window must be a 1-D tensor of the signal's "
                            "type, got "
                         << window->type;
  }
  int64_t length = x.shape()[1];
  int64_t frameLen = window ? window->shape()[0] : length;
  if (imp.hasInput(3)) {
    FailureOr<int64_t> l = scalarIntInput(imp, 3, "frame_length");
    if (failed(l))
      return failure();
    frameLen = *l;
  }
  if (window && window->shape()[0] != frameLen)
    return imp.error() << "window length " << window->shape()[0]
                       << " differs from frame_length " << frameLen;
  if (*step < 1 || frameLen < 1 || frameLen > length)
    return imp.error() << "frame_step " << *step << " and frame_length "
                       << frameLen << " do not fit a signal of " << length;
  int64_t frames = 1 + (length - frameLen) / *step;
  if (frames * frameLen > kMaxTableElements)
    return imp.error() << "too many frames (" << frames << " of " << frameLen
                       << ")";
  Contents idx;
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t k = 0; k < frameLen; ++k)
      idx.ints.push_back(f * *step + k);
  TV indices = imp.makeConst(
      RankedTensorType::get({frames, frameLen}, imp.builder.getI64Type()),
      std::move(idx));
  KILN_TRY(framed, imp.emitGather(x, indices, 1)); // [B, F, L, c]
  if (window) {
    KILN_TRY(w, imp.emitReshape(*window, {1, 1, frameLen, 1}));
    KILN_TRY(weighted, imp.emitBinary(BinaryKind::Mul, framed, w));
    framed = weighted;
  }
  return setResult(imp, dft(imp, framed, 2, frameLen, false, *onesided));
}

/// MelWeightMatrix: the [dft_length/2 + 1, num_mel_bins] triangular
/// filter bank, computed at import from its (constant) scalar inputs as
/// ONNX's reference does.
LogicalResult importMelWeightMatrix(GraphImporter &imp) {
  FailureOr<int64_t> bins = scalarIntInput(imp, 0, "num_mel_bins");
  FailureOr<int64_t> dftLen = scalarIntInput(imp, 1, "dft_length");
  FailureOr<int64_t> rate = scalarIntInput(imp, 2, "sample_rate");
  FailureOr<TV *> lo = imp.constInput(3, "lower_edge_hertz");
  FailureOr<TV *> hi = imp.constInput(4, "upper_edge_hertz");
  FailureOr<int64_t> dtype = imp.intAttr("output_datatype", 1);
  if (failed(bins) || failed(dftLen) || failed(rate) || failed(lo) ||
      failed(hi) || failed(dtype))
    return failure();
  auto scalarFloat = [&](TV *t, StringRef what) -> FailureOr<double> {
    if (!isa<FloatType>(t->elementType()) || t->type.getNumElements() != 1)
      return imp.error() << what << " must be a float scalar, got " << t->type;
    return t->data->floats[0];
  };
  FailureOr<double> loHz = scalarFloat(*lo, "lower_edge_hertz");
  FailureOr<double> hiHz = scalarFloat(*hi, "upper_edge_hertz");
  if (failed(loHz) || failed(hiHz))
    return failure();
  Type elt = getElementType(imp.ctx, static_cast<int32_t>(*dtype));
  if (!elt || !isa<FloatType, IntegerType>(elt) || elt.isInteger(1))
    return imp.error() << "output_datatype " << *dtype
                       << " is not a supported numeric type";
  int64_t specBins = *dftLen / 2 + 1;
  if (*bins < 1 || *dftLen < 1 || *rate < 1 ||
      specBins * *bins > kMaxTableElements)
    return imp.error() << "num_mel_bins " << *bins << ", dft_length "
                       << *dftLen << " and sample_rate " << *rate
                       << " are out of range";
  auto toMel = [](double hz) {
    return 2595 * std::log1p(hz / 700) / std::log(10.0);
  };
  double lowMel = toMel(*loHz), highMel = toMel(*hiHz);
  double step = (highMel - lowMel) / double(*bins + 2);
  SmallVector<int64_t> points;
  for (int64_t i = 0; i < *bins + 2; ++i) {
    double hz = 700 * std::expm1((double(i) * step + lowMel) / 2595 *
                                 std::log(10.0));
    points.push_back(
        static_cast<int64_t>(std::floor(double(*dftLen + 1) * hz /
                                        double(*rate))));
  }
  SmallVector<double> out(specBins * *bins, 0.0);
  auto set = [&](int64_t j, int64_t i, double v) -> LogicalResult {
    if (j < 0 || j >= specBins)
      return imp.error() << "mel bin " << i << " reaches spectrogram bin " << j
                         << ", outside [0, " << specBins << ")";
    out[j * *bins + i] = v;
    return success();
  };
  for (int64_t i = 0; i < *bins; ++i) {
    int64_t left = points[i], center = points[i + 1], right = points[i + 2];
    if (center == left) {
      if (failed(set(center, i, 1.0)))
        return failure();
    } else {
      for (int64_t j = left; j <= center; ++j)
        if (failed(set(j, i, double(j - left) / double(center - left))))
          return failure();
    }
    for (int64_t j = center; j < right; ++j)
      if (failed(set(j, i, double(right - j) / double(right - center))))
        return failure();
  }
  Contents c;
  for (double v : out) {
    if (isa<FloatType>(elt))
      c.floats.push_back(roundToFloatType(elt, v));
    else
      c.ints.push_back(wrapToIntType(elt, static_cast<int64_t>(v)));
  }
  return imp.setOutput(
      0, imp.makeConst(RankedTensorType::get({specBins, *bins}, elt),
                       std::move(c)));
}

} // namespace

void mlir::kiln::onnx::registerSignalOps(llvm::StringMap<OpHandler> &map) {
  map["HannWindow"] = importWindow<Window::Hann>;
  map["HammingWindow"] = importWindow<Window::Hamming>;
  map["BlackmanWindow"] = importWindow<Window::Blackman>;
  map["DFT"] = importDFT;
  map["STFT"] = importSTFT;
  map["MelWeightMatrix"] = importMelWeightMatrix;
}
