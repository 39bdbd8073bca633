//===- OpsResize.cpp - Resize and Upsample ONNX ops -----------------------===//
//
// Part of kiln. Resize is separable: each resized axis maps input positions
// to output positions with a fixed [out, in] weight matrix that depends only
// on the shapes and attributes. The importer computes that matrix at compile
// time exactly as ONNX's reference does (coordinate transformation, nearest
// rounding, linear / cubic / antialiased coefficients, exclude_outside,
// edge clamping) and applies it per axis:
//   one-hot rows (nearest)  -> kiln.gather with constant indices;
//   otherwise               -> a matmul along the axis (moved last);
//   tf_crop_and_resize      -> then a select of extrapolation_value where the
//                              source coordinate falls outside the input.
// Scales and sizes must be compile-time constants.
// RoiAlign uses the same separable form with matrices computed at run time
// from the ROIs: per-axis bilinear weight matrices around the image of each
// ROI's batch entry. DeformConv samples through kiln.grid_sample at the
// offset kernel taps and contracts the samples with the weights.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/OpsHelpers.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;
using namespace mlir::kiln::onnx::helpers;

namespace {

struct ResizeParams {
  std::string mode = "nearest";
  std::string coordMode = "half_pixel";
  std::string nearestMode = "round_prefer_floor";
  double cubicA = -0.75;
  bool excludeOutside = false;
  bool antialias = false;
  double extrapolation = 0.0;
};

/// Interpolation coefficients for fractional position `ratio` in (0, 1].
SmallVector<double> coefficients(const ResizeParams &p, double ratio,
                                 double scale) {
  if (p.mode == "nearest") {
    if (ratio == std::floor(ratio))
      return {0, 1};
    const std::string &m = p.nearestMode;
    if (m == "round_prefer_ceil")
      return {double(ratio < 0.5), double(ratio >= 0.5)};
    if (m == "floor")
      return {1, 0};
    if (m == "ceil")
      return {0, 1};
    return {double(ratio <= 0.5), double(ratio > 0.5)}; // round_prefer_floor
  }
  if (p.mode == "linear") {
    if (!p.antialias)
      return {1 - ratio, ratio};
    double s = std::min(scale, 1.0);
    int64_t start = static_cast<int64_t>(std::floor(-1 / s) + 1);
    int64_t footprint = 2 - 2 * start;
    SmallVector<double> c;
    double sum = 0;
    for (int64_t i = start; i < start + footprint; ++i) {
      double v = std::clamp(1 - std::fabs((i - ratio) * s), 0.0, 1.0);
      c.push_back(v);
      sum += v;
    }
    for (double &v : c)
      v /= sum;
    return c;
  }
  // cubic
  double a = p.cubicA;
  if (!p.antialias) {
    double r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
    return {((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a,
            ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
            ((a + 2) * q - (a + 3)) * q * q + 1,
            ((a * q1 - 5 * a) * q1 + 8 * a) * q1 - 4 * a};
  }
  double s = std::min(scale, 1.0);
  auto coeff = [&](double x) {
    x = std::fabs(x);
    double x2 = x * x, x3 = x * x2;
    if (x <= 1)
      return (a + 2) * x3 - (a + 3) * x2 + 1;
    if (x < 2)
      return a * x3 - 5 * a * x2 + 8 * a * x - 4 * a;
    return 0.0;
  };
  int64_t start = static_cast<int64_t>(std::floor(-2 / s) + 1);
  int64_t end = 2 - start;
  SmallVector<double> c;
  double sum = 0;
  for (int64_t i = start; i < end; ++i) {
    c.push_back(coeff(s * (i - ratio)));
    sum += c.back();
  }
  for (double &v : c)
    v /= sum;
  return c;
}

/// The [out, in] weights of one axis and, for tf_crop_and_resize, which
/// outputs are extrapolated. Follows onnx.reference's
/// _interpolate_1d_along_axis.
LogicalResult axisWeights(GraphImporter &imp, const ResizeParams &p,
                          int64_t in, int64_t out, double scale,
                          std::optional<std::pair<double, double>> roi,
                          std::vector<double> &w, SmallVector<bool> &extrap) {
  w.assign(out * in, 0.0);
  extrap.assign(out, false);
  double outWidth = scale * in;
  for (int64_t y = 0; y < out; ++y) {
    double x;
    const std::string &m = p.coordMode;
    if (m == "align_corners") {
      x = outWidth == 1 ? 0.0 : y * double(in - 1) / (outWidth - 1);
    } else if (m == "asymmetric") {
      x = y / scale;
    } else if (m == "tf_crop_and_resize") {
      if (!roi)
        return imp.error() << "tf_crop_and_resize needs the roi input";
      double lo = roi->first, hi = roi->second;
      x = outWidth == 1 ? (hi - lo) * (in - 1) / 2
                        : y * (hi - lo) * (in - 1) / (outWidth - 1);
      x += lo * (in - 1);
      extrap[y] = x < 0 || x > in - 1;
    } else if (m == "pytorch_half_pixel") {
      x = outWidth == 1 ? -0.5 : (y + 0.5) / scale - 0.5;
    } else if (m == "half_pixel") {
      x = (y + 0.5) / scale - 0.5;
    } else if (m == "half_pixel_symmetric") {
      double adjustment = out / outWidth;
      double center = in / 2.0;
      x = center * (1 - adjustment) + (y + 0.5) / scale - 0.5;
    } else {
      return imp.error() << "unknown coordinate_transformation_mode '" << m
                         << "'";
    }
    double xi = std::floor(x);
    double ratio = x == xi ? 1.0 : x - xi;
    SmallVector<double> c = coefficients(p, ratio, scale);
    int64_t n = c.size();
    int64_t pad = (n + 1) / 2;
    double xp = x + pad;
    double pp = std::floor(xp), frac = xp - pp;
    int64_t offset;
    if (n % 2 == 0)
      offset = frac == 0 ? -(n / 2) : -(n / 2) + 1;
    else
      offset = frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1;
    int64_t start = static_cast<int64_t>(pp) + offset;
    SmallVector<int64_t> idx;
    for (int64_t j = 0; j < n; ++j)
      idx.push_back(start + j - pad);
    if (p.excludeOutside) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        if (idx[j] < 0 || idx[j] >= in)
          c[j] = 0;
        sum += c[j];
      }
      if (sum == 0)
        sum = 1;
      for (double &v : c)
        v /= sum;
    }
    for (int64_t j = 0; j < n; ++j)
      w[y * in + std::clamp<int64_t>(idx[j], 0, in - 1)] += c[j];
  }
  return success();
}

/// Resizes axis `a` of `x` to `out` with weights `w` ([out, in]).
FailureOr<TV> applyAxis(GraphImporter &imp, TV &x, int64_t a, int64_t out,
                        const std::vector<double> &w,
                        const SmallVector<bool> &extrap,
                        const ResizeParams &p) {
  int64_t in = x.shape()[a];
  // One-hot rows: a gather.
  SmallVector<int64_t> pick;
  for (int64_t y = 0; y < out; ++y) {
    int64_t hit = -1;
    bool oneHot = true;
    for (int64_t i = 0; i < in && oneHot; ++i) {
      double v = w[y * in + i];
      if (v == 0)
        continue;
      if (v != 1 || hit >= 0)
        oneHot = false;
      hit = i;
    }
    if (!oneHot || hit < 0) {
      pick.clear();
      break;
    }
    pick.push_back(hit);
  }
  Type elt = x.elementType();
  FailureOr<TV> r;
  if (static_cast<int64_t>(pick.size()) == out) {
    TV idx = i64Const(imp, {out}, pick);
    r = imp.emitGather(x, idx, a);
  } else {
    if (!isa<FloatType>(elt))
      return imp.error() << "mode '" << p.mode
                         << "' needs a float input, got " << x.type;
    SmallVector<double> wt(in * out);
    for (int64_t y = 0; y < out; ++y)
      for (int64_t i = 0; i < in; ++i)
        wt[i * out + y] = w[y * in + i];
    TV m = floatConst(imp, elt, {in, out}, wt);
    int64_t rank = x.rank();
    FailureOr<TV> moved = moveAxis(imp, x, a, rank - 1);
    if (failed(moved))
      return failure();
    FailureOr<TV> prod = imp.emitMatMul(*moved, m);
    if (failed(prod))
      return failure();
    r = moveAxis(imp, *prod, rank - 1, a);
  }
  if (failed(r) || llvm::none_of(extrap, [](bool b) { return b; }))
    return r;
  SmallVector<int64_t> maskShape(x.rank(), 1);
  maskShape[a] = out;
  TV mask = boolConst(imp, maskShape, extrap);
  TV value = scalarTV(imp, elt, p.extrapolation);
  return imp.emitWhere(mask, value, *r);
}

/// Float contents of a constant (scales, roi).
FailureOr<SmallVector<double>> floatsOf(GraphImporter &imp, TV &t,
                                        StringRef what) {
  if (!t.hasData())
    return imp.error() << what << " must be a compile-time constant";
  if (!t.data->floats.empty() || t.type.getNumElements() == 0)
    return SmallVector<double>(t.data->floats);
  SmallVector<double> v;
  for (int64_t i : t.data->ints)
    v.push_back(double(i));
  return v;
}

LogicalResult importResize(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0);
  if (failed(x))
    return failure();
  int64_t rank = (*x)->rank();
  ArrayRef<int64_t> inShape = (*x)->shape();
  bool upsample = imp.opType() == "Upsample";
  ResizeParams p;
  FailureOr<std::string> mode = imp.stringAttr("mode", "nearest");
  if (failed(mode))
    return failure();
  p.mode = *mode;
  if (p.mode == "bilinear" || p.mode == "trilinear")
    p.mode = "linear";
  if (p.mode != "nearest" && p.mode != "linear" && p.mode != "cubic")
    return imp.error() << "unknown mode '" << *mode << "'";
  bool legacy = upsample || imp.opset < 11;
  if (legacy) {
    // Upsample and Resize-10: asymmetric coordinates, nearest rounds down.
    p.coordMode = "asymmetric";
    p.nearestMode = "floor";
  } else {
    FailureOr<std::string> cm =
        imp.stringAttr("coordinate_transformation_mode", "half_pixel");
    FailureOr<std::string> nm =
        imp.stringAttr("nearest_mode", "round_prefer_floor");
    FailureOr<float> a = imp.floatAttr("cubic_coeff_a", -0.75f);
    FailureOr<int64_t> ex = imp.intAttr("exclude_outside", 0);
    FailureOr<int64_t> aa = imp.intAttr("antialias", 0);
    FailureOr<float> ev = imp.floatAttr("extrapolation_value", 0.0f);
    if (failed(cm) || failed(nm) || failed(a) || failed(ex) || failed(aa) ||
        failed(ev))
      return failure();
    p.coordMode = *cm;
    p.nearestMode = *nm;
    p.cubicA = *a;
    p.excludeOutside = *ex != 0;
    p.antialias = *aa != 0 && p.mode != "nearest";
    p.extrapolation = *ev;
  }
  FailureOr<std::string> policy =
      imp.stringAttr("keep_aspect_ratio_policy", "stretch");
  FailureOr<SmallVector<int64_t>> axesAttr = imp.intsAttr("axes");
  if (failed(policy) || failed(axesAttr))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t a : *axesAttr) {
    FailureOr<int64_t> n = imp.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    axes.push_back(*n);
  }
  bool allAxes = axes.empty();
  if (allAxes)
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  int64_t na = axes.size();

  // Scales or sizes (for the listed axes), and the roi.
  SmallVector<double> scales;
  SmallVector<int64_t> sizes;
  SmallVector<double> roi;
  if (upsample && imp.opset < 9) {
    FailureOr<SmallVector<float>> s = imp.floatsAttr("scales");
    if (failed(s))
      return failure();
    scales.assign(s->begin(), s->end());
  } else if (legacy) {
    FailureOr<TV *> s = imp.constInput(1, "the scales input");
    if (failed(s))
      return failure();
    FailureOr<SmallVector<double>> v = floatsOf(imp, **s, "scales");
    if (failed(v))
      return failure();
    scales = *v;
  } else {
    if (imp.hasInput(1)) {
      FailureOr<TV *> r = imp.input(1);
      if (failed(r))
        return failure();
      if ((*r)->type.getNumElements() > 0) {
        FailureOr<TV *> rc = imp.constInput(1, "the roi input");
        if (failed(rc))
          return failure();
        FailureOr<SmallVector<double>> v = floatsOf(imp, **rc, "roi");
        if (failed(v))
          return failure();
        roi = *v;
      }
    }
    if (imp.hasInput(3)) {
      FailureOr<TV *> s = imp.constInput(3, "the sizes input");
      if (failed(s))
        return failure();
      FailureOr<SmallVector<int64_t>> v = imp.intsOf(**s, "sizes");
      if (failed(v))
        return failure();
      sizes = *v;
    }
    if (sizes.empty() && imp.hasInput(2)) {
      FailureOr<TV *> s = imp.input(2);
      if (failed(s))
        return failure();
      if ((*s)->type.getNumElements() > 0) {
        FailureOr<TV *> sc = imp.constInput(2, "the scales input");
        if (failed(sc))
          return failure();
        FailureOr<SmallVector<double>> v = floatsOf(imp, **sc, "scales");
        if (failed(v))
          return failure();
        scales = *v;
      }
    }
    if (sizes.empty() && scales.empty())
      return imp.error() << "needs scales or sizes";
  }
  if (!scales.empty() && static_cast<int64_t>(scales.size()) != na)
    return imp.error() << "scales has " << scales.size() << " entries for "
                       << na << " axes";
  if (!sizes.empty() && static_cast<int64_t>(sizes.size()) != na)
    return imp.error() << "sizes has " << sizes.size() << " entries for "
                       << na << " axes";
  // Full-rank scale factors and output sizes, as the reference computes.
  SmallVector<double> scale(rank, 1.0);
  SmallVector<int64_t> outShape(inShape);
  if (!sizes.empty()) {
    for (int64_t i = 0; i < na; ++i)
      scale[axes[i]] = double(sizes[i]) / double(inShape[axes[i]]);
    for (int64_t i = 0; i < na; ++i)
      outShape[axes[i]] = sizes[i];
    if (*policy != "stretch") {
      if (*policy != "not_larger" && *policy != "not_smaller")
        return imp.error() << "unknown keep_aspect_ratio_policy '" << *policy
                           << "'";
      double s = scale[axes[0]];
      for (int64_t a : axes)
        s = *policy == "not_larger" ? std::min(s, scale[a])
                                    : std::max(s, scale[a]);
      for (int64_t a : axes) {
        scale[a] = s;
        outShape[a] = static_cast<int64_t>(s * inShape[a] + 0.5);
      }
    }
  } else {
    for (int64_t i = 0; i < na; ++i) {
      if (!(scales[i] > 0))
        return imp.error() << "scales must be positive";
      scale[axes[i]] = scales[i];
      outShape[axes[i]] =
          static_cast<int64_t>(scales[i] * double(inShape[axes[i]]));
    }
  }
  // Full-rank roi [starts..., ends...].
  SmallVector<double> fullRoi;
  if (!roi.empty()) {
    if (static_cast<int64_t>(roi.size()) != 2 * na)
      return imp.error() << "roi has " << roi.size() << " entries for " << na
                         << " axes";
    fullRoi.assign(rank, 0.0);
    fullRoi.append(rank, 1.0);
    for (int64_t i = 0; i < na; ++i) {
      fullRoi[axes[i]] = roi[i];
      fullRoi[rank + axes[i]] = roi[na + i];
    }
  }
  TV cur = **x;
  for (int64_t a : axes) {
    bool trivialRoi =
        fullRoi.empty() || (std::fabs(fullRoi[a]) < 1e-9 &&
                            std::fabs(fullRoi[rank + a] - 1.0) < 1e-9);
    if (std::fabs(scale[a] - 1.0) < 1e-9 && outShape[a] == inShape[a] &&
        trivialRoi)
      continue;
    if (outShape[a] <= 0 || inShape[a] <= 0)
      return imp.error() << "resizing dim " << a << " from " << inShape[a]
                         << " to " << outShape[a] << " is not supported";
    std::optional<std::pair<double, double>> axisRoi;
    if (!fullRoi.empty())
      axisRoi = std::make_pair(fullRoi[a], fullRoi[rank + a]);
    std::vector<double> w;
    SmallVector<bool> extrap;
    if (failed(axisWeights(imp, p, inShape[a], outShape[a], scale[a], axisRoi,
                           w, extrap)))
      return failure();
    FailureOr<TV> r = applyAxis(imp, cur, a, outShape[a], w, extrap, p);
    if (failed(r))
      return failure();
    cur = *r;
  }
  return imp.setOutput(0, cur);
}


/// AffineGrid: theta [N, 2, 3] (or [N, 3, 4]) times the constant
/// homogeneous base grid of normalized coordinates (x, y[, z], 1).
LogicalResult importAffineGrid(GraphImporter &imp) {
  FailureOr<TV *> theta = imp.input(0);
  FailureOr<int64_t> alignCorners = imp.intAttr("align_corners", 0);
  if (failed(theta) || failed(alignCorners))
    return failure();
  FailureOr<TV *> sizeIn = imp.constInput(1, "the size input");
  if (failed(sizeIn))
    return failure();
  FailureOr<SmallVector<int64_t>> size = imp.intsOf(**sizeIn, "size");
  if (failed(size))
    return failure();
  if (size->size() != 4 && size->size() != 5)
    return imp.error() << "size must be [N, C, H, W] or [N, C, D, H, W]";
  int64_t k = size->size() - 2;
  int64_t n = (*size)[0];
  Type elt = (*theta)->elementType();
  if ((*theta)->shape() != ArrayRef<int64_t>{n, k, k + 1})
    return imp.error() << "theta must be [" << n << ", " << k << ", " << k + 1
                       << "], got " << (*theta)->type;
  SmallVector<int64_t> dims((*size).begin() + 2, (*size).end());
  // Per-dim normalized coordinates.
  SmallVector<SmallVector<double>> axis(k);
  for (int64_t d = 0; d < k; ++d) {
    int64_t m = dims[d];
    for (int64_t i = 0; i < m; ++i) {
      if (*alignCorners)
        axis[d].push_back(m == 1 ? -1.0 : -1.0 + i * 2.0 / (m - 1));
      else
        axis[d].push_back(-1.0 + 1.0 / m + i * 2.0 / m);
    }
  }
  // Base grid [k + 1, points]: rows x (last dim), y, [z], 1.
  int64_t points = product(dims);
  SmallVector<double> base((k + 1) * points);
  SmallVector<int64_t> counter(k, 0);
  for (int64_t p = 0; p < points; ++p) {
    for (int64_t r = 0; r < k; ++r)
      base[r * points + p] = axis[k - 1 - r][counter[k - 1 - r]];
    base[k * points + p] = 1.0;
    for (int64_t d = k - 1; d >= 0; --d) {
      if (++counter[d] < dims[d])
        break;
      counter[d] = 0;
    }
  }
  TV grid = floatConst(imp, elt, {k + 1, points}, base);
  FailureOr<TV> prod = imp.emitMatMul(**theta, grid); // [N, k, points]
  if (failed(prod))
    return failure();
  FailureOr<TV> t = imp.emitTranspose(*prod, {0, 2, 1});
  if (failed(t))
    return failure();
  SmallVector<int64_t> out = {n};
  llvm::append_range(out, dims);
  out.push_back(k);
  return setResult(imp, imp.emitReshape(*t, out));
}


/// GridSample: kiln.grid_sample (the modes' old names bilinear / bicubic
/// map to linear / cubic).
LogicalResult importGridSample(GraphImporter &imp) {
  FailureOr<TV *> x = imp.input(0), grid = imp.input(1);
  FailureOr<std::string> mode = imp.stringAttr("mode", "linear");
  FailureOr<std::string> padding = imp.stringAttr("padding_mode", "zeros");
  FailureOr<int64_t> align = imp.intAttr("align_corners", 0);
  if (failed(x) || failed(grid) || failed(mode) || failed(padding) ||
      failed(align))
    return failure();
  std::string m = *mode;
  if (m == "bilinear")
    m = "linear";
  else if (m == "bicubic")
    m = "cubic";
  TV g = **grid;
  if (g.elementType() != (*x)->elementType()) {
    FailureOr<TV> c = imp.emitCast(g, (*x)->elementType());
    if (failed(c))
      return failure();
    g = *c;
  }
  FailureOr<Value> vx = imp.materialize(**x);
  if (failed(vx))
    return failure();
  FailureOr<Value> vg = imp.materialize(g);
  if (failed(vg))
    return failure();
  return setValue(imp, imp.create<GridSampleOp>(
                           Type(), *vx, *vg, imp.builder.getStringAttr(m),
                           imp.builder.getStringAttr(*padding),
                           imp.builder.getBoolAttr(*align != 0)));
}

//===----------------------------------------------------------------------===//
// RoiAlign
//===----------------------------------------------------------------------===//

/// emitBinary / emitWhere on temporaries.
FailureOr<TV> bin(GraphImporter &imp, BinaryKind k, TV a, TV b) {
  return imp.emitBinary(k, a, b);
}
FailureOr<TV> sel(GraphImporter &imp, TV c, TV a, TV b) {
  return imp.emitWhere(c, a, b);
}

#define KILN_TRY(var, expr)                                                    \
  FailureOr<TV> var##OrFailure = (expr);                                       \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  TV var = std::move(*var##OrFailure)

/// RoiAlign's per-axis bilinear weights for sample coordinates `c` [R, S]
/// (f64) on an axis of length `len`, as ONNX's reference computes them:
/// outside [-1, len] a sample is 0; else c = max(c, 0), low = floor(c) (the
/// last index, with c = low, when low >= len - 1), high = low + 1. Returns
/// the low-corner and high-corner weight matrices [R, S, len] (one-hot rows
/// times 1 - frac and frac) in `elt`.
FailureOr<std::pair<TV, TV>> roiAxisWeights(GraphImporter &imp, TV c,
                                            int64_t len, Type elt) {
  Type f64 = imp.builder.getF64Type();
  auto num = [&](double v) { return scalarTV(imp, f64, v); };
  KILN_TRY(below, bin(imp, BinaryKind::Less, c, num(-1.0)));
  KILN_TRY(above, bin(imp, BinaryKind::Greater, c, num(double(len))));
  KILN_TRY(out, bin(imp, BinaryKind::Or, below, above));
  KILN_TRY(c0, bin(imp, BinaryKind::Max, c, num(0.0)));
  FailureOr<Value> cv = imp.materialize(c0);
  if (failed(cv))
    return failure();
  FailureOr<Value> fl = imp.create<FloorOp>(c0.type, *cv);
  if (failed(fl))
    return failure();
  TV low0 = GraphImporter::fromValue(*fl);
  KILN_TRY(notClamped, bin(imp, BinaryKind::Less, low0,
                                      num(double(len - 1))));
  TV last = num(double(len - 1));
  KILN_TRY(low, sel(imp, notClamped, low0, last));
  KILN_TRY(pos, sel(imp, notClamped, c0, last));
  KILN_TRY(low1, bin(imp, BinaryKind::Add, low, num(1.0)));
  KILN_TRY(high, sel(imp, notClamped, low1, last));
  KILN_TRY(fracIn, bin(imp, BinaryKind::Sub, pos, low));
  KILN_TRY(frac, sel(imp, out, num(0.0), fracIn));
  KILN_TRY(restIn, bin(imp, BinaryKind::Sub, num(1.0), fracIn));
  KILN_TRY(rest, sel(imp, out, num(0.0), restIn));
  ArrayRef<int64_t> s = c.shape();
  SmallVector<double> iotaValues;
  for (int64_t i = 0; i < len; ++i)
    iotaValues.push_back(double(i));
  TV iota = floatConst(imp, f64, {1, 1, len}, iotaValues);
  auto weights = [&](TV &index, TV &w) -> FailureOr<TV> {
    KILN_TRY(i3, imp.emitReshape(index, {s[0], s[1], 1}));
    KILN_TRY(w3, imp.emitReshape(w, {s[0], s[1], 1}));
    KILN_TRY(hit, bin(imp, BinaryKind::Equal, i3, iota));
    TV zero = num(0.0);
    KILN_TRY(m, sel(imp, hit, w3, zero));
    return imp.emitCast(m, elt);
  };
  KILN_TRY(wl, weights(low, rest));
  KILN_TRY(wh, weights(high, frac));
  return std::make_pair(wl, wh);
}

/// RoiAlign with a static sampling grid: the sample coordinates of every
/// ROI are computed at run time (f64), their bilinear weights become
/// per-axis interpolation matrices Wy [R, PH*g, H] and Wx [R, PW*g, W], the
/// samples are Wy x X[batch] x Wx^T (per corner pair for "max", summed for
/// "avg"), then averaged / maxed over each bin's g x g samples.
LogicalResult importRoiAlign(GraphImporter &imp) {
  FailureOr<TV *> xIn = imp.input(0), roisIn = imp.input(1),
                  biIn = imp.input(2);
  FailureOr<std::string> mode = imp.stringAttr("mode", "avg");
  FailureOr<int64_t> ph = imp.intAttr("output_height", 1);
  FailureOr<int64_t> pw = imp.intAttr("output_width", 1);
  FailureOr<int64_t> ratio = imp.intAttr("sampling_ratio", 0);
  FailureOr<float> scaleAttr = imp.floatAttr("spatial_scale", 1.0f);
  FailureOr<std::string> ctm = imp.stringAttr(
      "coordinate_transformation_mode",
      imp.opset >= 16 ? "half_pixel" : "output_half_pixel");
  if (failed(xIn) || failed(roisIn) || failed(biIn) || failed(mode) ||
      failed(ph) || failed(pw) || failed(ratio) || failed(scaleAttr) ||
      failed(ctm))
    return failure();
  TV x = **xIn, rois = **roisIn, bi = **biIn;
  Type elt = x.elementType();
  if (x.rank() != 4 || !isa<FloatType>(elt))
    return imp.error() << "X must be a 4-D float tensor, got " << x.type;
  if (rois.rank() != 2 || rois.shape()[1] != 4 ||
      !isa<FloatType>(rois.elementType()))
    return imp.error() << "rois must be [R, 4] floats, got " << rois.type;
  int64_t r = rois.shape()[0];
  if (bi.rank() != 1 || bi.shape()[0] != r ||
      !isa<IntegerType>(bi.elementType()))
    return imp.error() << "batch_indices must be [" << r
                       << "] integers, got " << bi.type;
  if (*mode != "avg" && *mode != "max")
    return imp.error() << "mode must be avg or max, got \"" << *mode << "\"";
  if (*ctm != "half_pixel" && *ctm != "output_half_pixel")
    return imp.error() << "unknown coordinate_transformation_mode \"" << *ctm
                       << "\"";
  if (*ph < 1 || *pw < 1)
    return imp.error() << "output sizes must be positive";
  if (*ratio <= 0)
    return imp.error() << "sampling_ratio " << *ratio
                       << " (an adaptive grid that depends on the ROIs) is "
                          "not supported; give a positive sampling_ratio";
  int64_t g = *ratio;
  int64_t c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  bool halfPixel = *ctm == "half_pixel";
  Type f64 = imp.builder.getF64Type();
  auto num = [&](double v) { return scalarTV(imp, f64, v); };
  KILN_TRY(r64, imp.emitCast(rois, f64));
  auto coord = [&](int64_t k) -> FailureOr<TV> {
    KILN_TRY(col, sliceAxis(imp, r64, 1, k, 1)); // [R, 1]
    KILN_TRY(sc, bin(imp, BinaryKind::Mul, col,
                                num(double(*scaleAttr))));
    return bin(imp, BinaryKind::Sub, sc, num(halfPixel ? 0.5 : 0.0));
  };
  KILN_TRY(sw, coord(0));
  KILN_TRY(sh, coord(1));
  KILN_TRY(ew, coord(2));
  KILN_TRY(eh, coord(3));
  KILN_TRY(rw0, bin(imp, BinaryKind::Sub, ew, sw));
  KILN_TRY(rh0, bin(imp, BinaryKind::Sub, eh, sh));
  TV rw = rw0, rh = rh0;
  if (!halfPixel) {
    KILN_TRY(a, bin(imp, BinaryKind::Max, rw0, num(1.0)));
    KILN_TRY(b, bin(imp, BinaryKind::Max, rh0, num(1.0)));
    rw = a;
    rh = b;
  }
  // Sample positions: start + bin * (p + (i + 0.5) / g).
  auto samples = [&](TV &start, TV &extent, int64_t bins) -> FailureOr<TV> {
    KILN_TRY(binSize, bin(imp, BinaryKind::Div, extent, num(double(bins))));
    SmallVector<double> f;
    for (int64_t p = 0; p < bins; ++p)
      for (int64_t i = 0; i < g; ++i)
        f.push_back(double(p) + (double(i) + 0.5) / double(g));
    TV factors = floatConst(imp, f64, {1, bins * g}, f);
    KILN_TRY(off, bin(imp, BinaryKind::Mul, binSize, factors));
    return bin(imp, BinaryKind::Add, start, off); // [R, bins*g]
  };
  KILN_TRY(ys, samples(sh, rh, *ph));
  KILN_TRY(xs, samples(sw, rw, *pw));
  FailureOr<std::pair<TV, TV>> wy = roiAxisWeights(imp, ys, h, elt);
  FailureOr<std::pair<TV, TV>> wx = roiAxisWeights(imp, xs, w, elt);
  if (failed(wy) || failed(wx))
    return failure();
  KILN_TRY(xb, imp.emitGather(x, bi, 0)); // [R, C, H, W]
  int64_t syn = *ph * g, sxn = *pw * g;
  auto sample = [&](TV &my, TV &mx) -> FailureOr<TV> {
    KILN_TRY(my4, imp.emitReshape(my, {r, 1, syn, h}));
    KILN_TRY(rowsOut, imp.emitMatMul(my4, xb)); // [R, C, Sy, W]
    KILN_TRY(mxt, imp.emitTranspose(mx, {0, 2, 1}));
    KILN_TRY(mx4, imp.emitReshape(mxt, {r, 1, w, sxn}));
    return imp.emitMatMul(rowsOut, mx4); // [R, C, Sy, Sx]
  };
  TV vals;
  if (*mode == "avg") {
    KILN_TRY(my, bin(imp, BinaryKind::Add, wy->first, wy->second));
    KILN_TRY(mx, bin(imp, BinaryKind::Add, wx->first, wx->second));
    KILN_TRY(v, sample(my, mx));
    vals = v;
  } else {
    std::optional<TV> best;
    for (TV *my : {&wy->first, &wy->second})
      for (TV *mx : {&wx->first, &wx->second}) {
        KILN_TRY(v, sample(*my, *mx));
        if (!best) {
          best = v;
          continue;
        }
        KILN_TRY(m, bin(imp, BinaryKind::Max, *best, v));
        best = m;
      }
    vals = *best;
  }
  KILN_TRY(bins, imp.emitReshape(vals, {r, c, *ph, g, *pw, g}));
  return setResult(imp, imp.emitReduce(*mode == "avg" ? ReduceKind::Mean
                                                      : ReduceKind::Max,
                                       bins, {3, 5}, false));
}

//===----------------------------------------------------------------------===//
// DeformConv
//===----------------------------------------------------------------------===//

/// DeformConv (2-D): every kernel tap samples X bilinearly (zero padding) at
/// its regular position plus the learned offset, as ONNX's reference does
/// through GridSample with align_corners: the positions of each offset
/// group form one kiln.grid_sample grid over that group's channels; the
/// samples are scaled by the mask, then contracted with the weights per
/// group (a batched matmul over channels x taps), plus the bias.
LogicalResult importDeformConv(GraphImporter &imp) {
  FailureOr<TV *> xIn = imp.input(0), wIn = imp.input(1), oIn = imp.input(2);
  if (failed(xIn) || failed(wIn) || failed(oIn))
    return failure();
  TV x = **xIn, wt = **wIn, off = **oIn;
  Type elt = x.elementType();
  if (x.rank() != 4 || wt.rank() != 4 || off.rank() != 4 ||
      !isa<FloatType>(elt))
    return imp.error() << "only 2-D DeformConv on floats is supported (X "
                       << x.type << ", W " << wt.type << ", offset "
                       << off.type << ")";
  int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2],
          w = x.shape()[3];
  int64_t oc = wt.shape()[0], cg = wt.shape()[1];
  FailureOr<SmallVector<int64_t>> kernel =
      imp.intsAttr("kernel_shape", {wt.shape()[2], wt.shape()[3]});
  FailureOr<SmallVector<int64_t>> dil = imp.intsAttr("dilations", {1, 1});
  FailureOr<SmallVector<int64_t>> pads = imp.intsAttr("pads", {0, 0, 0, 0});
  FailureOr<SmallVector<int64_t>> strides = imp.intsAttr("strides", {1, 1});
  FailureOr<int64_t> group = imp.intAttr("group", 1);
  FailureOr<int64_t> offGroup = imp.intAttr("offset_group", 1);
  if (failed(kernel) || failed(dil) || failed(pads) || failed(strides) ||
      failed(group) || failed(offGroup))
    return failure();
  if (kernel->size() != 2 || dil->size() != 2 || pads->size() != 4 ||
      strides->size() != 2)
    return imp.error() << "kernel_shape, dilations, strides (2) and pads (4) "
                          "must fit a 2-D convolution";
  int64_t kh = (*kernel)[0], kw = (*kernel)[1], k = kh * kw;
  int64_t g = *group, og = *offGroup;
  if (g < 1 || og < 1 || c != cg * g || oc % g != 0 || c % og != 0 ||
      (*kernel)[0] != wt.shape()[2] || (*kernel)[1] != wt.shape()[3])
    return imp.error() << "X " << x.type << ", W " << wt.type << ", group "
                       << g << " and offset_group " << og
                       << " do not fit together";
  int64_t oh = off.shape()[2], ow = off.shape()[3];
  int64_t eh = (kh - 1) * (*dil)[0] + 1, ew = (kw - 1) * (*dil)[1] + 1;
  if (off.shape()[0] != n || off.shape()[1] != og * 2 * k ||
      oh != (h - eh + (*pads)[0] + (*pads)[2]) / (*strides)[0] + 1 ||
      ow != (w - ew + (*pads)[1] + (*pads)[3]) / (*strides)[1] + 1)
    return imp.error() << "offset " << off.type
                       << " does not fit the output of the convolution";
  if (h < 2 || w < 2)
    return imp.error() << "the input must be at least 2x2 (sampling "
                          "positions are normalized by H - 1 and W - 1)";
  if (off.elementType() != elt)
    return imp.error() << "offset must have X's type, got " << off.type;
  // Sampling positions: base + offset, [N, OG, kH, kW, oH, oW] per axis.
  KILN_TRY(off7, imp.emitReshape(off, {n, og, kh, kw, 2, oh, ow}));
  auto axisPositions = [&](int64_t a) -> FailureOr<TV> {
    KILN_TRY(o, sliceAxis(imp, off7, 4, a, 1));
    KILN_TRY(o6, imp.emitReshape(o, {n, og, kh, kw, oh, ow}));
    SmallVector<double> base;
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t xx = 0; xx < ow; ++xx)
            base.push_back(
                a == 0 ? double(-(*pads)[0] + (*strides)[0] * y + i * (*dil)[0])
                       : double(-(*pads)[1] + (*strides)[1] * xx +
                                j * (*dil)[1]));
    TV baseTV = floatConst(imp, elt, {1, 1, kh, kw, oh, ow}, base);
    KILN_TRY(pos, bin(imp, BinaryKind::Add, o6, baseTV));
    // align_corners normalization: p / (L - 1) * 2 - 1.
    double len = double(a == 0 ? h : w);
    KILN_TRY(sc, bin(imp, BinaryKind::Mul, pos,
                     scalarTV(imp, elt, 2.0 / (len - 1.0))));
    KILN_TRY(nrm, bin(imp, BinaryKind::Sub, sc, scalarTV(imp, elt, 1.0)));
    return imp.emitReshape(nrm, {n * og, k * oh, ow, 1});
  };
  KILN_TRY(gy, axisPositions(0));
  KILN_TRY(gx, axisPositions(1));
  TV *parts[] = {&gx, &gy};
  KILN_TRY(grid, imp.emitConcat(parts, 3)); // [N*OG, K*oH, oW, 2]
  KILN_TRY(xg, imp.emitReshape(x, {n * og, c / og, h, w}));
  FailureOr<Value> vx = imp.materialize(xg);
  FailureOr<Value> vg = imp.materialize(grid);
  if (failed(vx) || failed(vg))
    return failure();
  FailureOr<Value> sampled = imp.create<GridSampleOp>(
      Type(), *vx, *vg, imp.builder.getStringAttr("linear"),
      imp.builder.getStringAttr("zeros"), imp.builder.getBoolAttr(true));
  if (failed(sampled))
    return failure();
  TV samples = GraphImporter::fromValue(*sampled); // [N*OG, C/OG, K*oH, oW]
  int64_t p = oh * ow;
  KILN_TRY(s5, imp.emitReshape(samples, {n, og, c / og, k, p}));
  TV sm = s5;
  if (imp.hasInput(4)) {
    FailureOr<TV *> mIn = imp.input(4);
    if (failed(mIn))
      return failure();
    TV mask = **mIn;
    if (mask.type != RankedTensorType::get({n, og * k, oh, ow}, elt))
      return imp.error() << "mask must be " << shapeText({n, og * k, oh, ow})
                         << " of X's type, got " << mask.type;
    KILN_TRY(m5, imp.emitReshape(mask, {n, og, 1, k, p}));
    KILN_TRY(masked, bin(imp, BinaryKind::Mul, s5, m5));
    sm = masked;
  }
  KILN_TRY(sg, imp.emitReshape(sm, {n, g, cg * k, p}));
  KILN_TRY(wg, imp.emitReshape(wt, {g, oc / g, cg * k}));
  KILN_TRY(prod, imp.emitMatMul(wg, sg)); // [N, G, OC/G, P]
  KILN_TRY(y, imp.emitReshape(prod, {n, oc, oh, ow}));
  if (imp.hasInput(3)) {
    FailureOr<TV *> bIn = imp.input(3);
    if (failed(bIn))
      return failure();
    if ((*bIn)->type != RankedTensorType::get({oc}, elt))
      return imp.error() << "B must be [" << oc << "] of X's type, got "
                         << (*bIn)->type;
    KILN_TRY(b4, imp.emitReshape(**bIn, {1, oc, 1, 1}));
    KILN_TRY(yb, bin(imp, BinaryKind::Add, y, b4));
    y = yb;
  }
  return imp.setOutput(0, y);
}

} // namespace

void mlir::kiln::onnx::registerResizeOps(llvm::StringMap<OpHandler> &map) {
  map["Resize"] = importResize;
  map["Upsample"] = importResize;
  map["AffineGrid"] = importAffineGrid;
  map["GridSample"] = importGridSample;
  map["RoiAlign"] = importRoiAlign;
  map["DeformConv"] = importDeformConv;
}
