//===- GPTQ.cpp - Hessian-aware rounding of group-wise weights ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/GPTQ.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir::kiln;

bool mlir::kiln::choleskyLower(std::vector<double> &a, int64_t k) {
  for (int64_t j = 0; j < k; ++j) {
    double *rj = &a[j * k];
    double d = rj[j];
    for (int64_t p = 0; p < j; ++p)
      d -= rj[p] * rj[p];
    if (!(d > 0.0) || !std::isfinite(d))
      return false;
    double l = std::sqrt(d);
    rj[j] = l;
    for (int64_t i = j + 1; i < k; ++i) {
      double *ri = &a[i * k];
      double s = ri[j];
      for (int64_t p = 0; p < j; ++p)
        s -= ri[p] * rj[p];
      ri[j] = s / l;
    }
  }
  return true;
}

namespace {

/// U, upper triangular with H^-1 = U^T U, row-major; empty when H is not
/// positive definite. With J the reversal of the K indices: J H J = M M^T
/// (Cholesky), so H = R R^T with R = J M J upper, and U = R^-1 = J M^-1 J.
std::vector<double> inverseCholeskyUpper(const std::vector<double> &h,
                                         int64_t k) {
  std::vector<double> m(k * k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j)
      m[i * k + j] = h[(k - 1 - i) * k + (k - 1 - j)];
  if (!choleskyLower(m, k))
    return {};
  // X = M^-1, lower, row by row: M[i][i] X[i][j] = [i == j] - sum_{p<i}
  // M[i][p] X[p][j].
  std::vector<double> x(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i) {
    double *xi = &x[i * k];
    for (int64_t p = 0; p < i; ++p) {
      double c = m[i * k + p];
      const double *xp = &x[p * k];
      for (int64_t j = 0; j <= p; ++j)
        xi[j] -= c * xp[j];
    }
    double inv = 1.0 / m[i * k + i];
    for (int64_t j = 0; j < i; ++j)
      xi[j] *= inv;
    xi[i] = inv;
  }
  std::vector<double> u(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      u[i * k + j] = x[(k - 1 - i) * k + (k - 1 - j)];
  return u;
}

} // namespace

GPTQFactor mlir::kiln::factorGPTQ(const std::vector<double> &hessian,
                                  int64_t k, const GPTQSettings &settings) {
  GPTQFactor f;
  // Act order: the inputs with the largest H[i][i] (the most energy)
  // first, while their error can still move to many rows; H and W are
  // permuted to that order and the codes written back in place.
  f.order.resize(k);
  std::iota(f.order.begin(), f.order.end(), 0);
  if (settings.actOrder)
    std::stable_sort(f.order.begin(), f.order.end(),
                     [&](int64_t a, int64_t b) {
                       return hessian[a * k + a] > hessian[b * k + b];
                     });
  std::vector<double> permuted(k * k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      permuted[i * k + j] = hessian[f.order[i] * k + f.order[j]];
  double meanDiag = 0.0;
  for (int64_t i = 0; i < k; ++i)
    meanDiag += permuted[i * k + i];
  meanDiag /= double(std::max<int64_t>(k, 1));
  // An input never seen in calibration (a zero row and column of H) gets
  // only the damping: its row is rounded to nearest and takes no error.
  for (double damp = settings.damp; f.u.empty() && damp <= settings.damp * 1000;
       damp *= 10) {
    std::vector<double> damped = permuted;
    for (int64_t i = 0; i < k; ++i)
      damped[i * k + i] += damp * meanDiag;
    f.u = inverseCholeskyUpper(damped, k);
  }
  f.rounding = f.u.empty();
  if (f.rounding) { // no usable H: round to nearest (U = I spreads nothing)
    f.u.assign(k * k, 0.0);
    for (int64_t i = 0; i < k; ++i)
      f.u[i * k + i] = 1.0;
  }
  return f;
}

QuantizedWeights mlir::kiln::quantizeGPTQ(const std::vector<float> &w,
                                          int64_t k, int64_t n,
                                          int64_t groupSize, bool symmetric,
                                          const GroupFitter &fit,
                                          const std::vector<double> &hessian,
                                          const GPTQSettings &settings,
                                          bool *usedRounding) {
  GPTQFactor f = factorGPTQ(hessian, k, settings);
  if (usedRounding)
    *usedRounding = f.rounding;
  return quantizeGPTQ(w, k, n, groupSize, symmetric, fit, f, settings);
}

QuantizedWeights mlir::kiln::quantizeGPTQ(const std::vector<float> &w,
                                          int64_t k, int64_t n,
                                          int64_t groupSize, bool symmetric,
                                          const GroupFitter &fit,
                                          const GPTQFactor &factor,
                                          const GPTQSettings &settings) {
  const std::vector<int64_t> &order = factor.order;
  const std::vector<double> &u = factor.u;
  int64_t groups = (k + groupSize - 1) / groupSize;
  QuantizedWeights q;
  q.values.resize(k * n);
  q.scales.resize(groups * n);
  if (!symmetric)
    q.zeroPoints.resize(groups * n);
  // W as updated so far, rows in processing order.
  std::vector<double> cur(k * n);
  for (int64_t i = 0; i < k; ++i)
    std::copy(&w[order[i] * n], &w[order[i] * n] + n, &cur[i * n]);
  // Groups are fitted on current weights when their first row comes up,
  // so blocks hold whole groups. Under act order a group's rows come up
  // anywhere: every group is fitted first, on the float weights (GPTQ's
  // static groups), and blocks have any size.
  int64_t block =
      settings.actOrder
          ? std::max<int64_t>(1, settings.blockRows)
          : groupSize * std::max<int64_t>(1, settings.blockRows / groupSize);
  std::vector<GroupQuantizer> fits(settings.actOrder ? groups * n : n);
  if (settings.actOrder)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t c = 0; c < n; ++c) {
        int64_t count = std::min(k, (g + 1) * groupSize) - g * groupSize;
        fits[g * n + c] = fit(&w[g * groupSize * n + c], n, count, g, c);
        q.scales[g * n + c] = fits[g * n + c].scale;
        if (!symmetric)
          q.zeroPoints[g * n + c] = int8_t(uint8_t(fits[g * n + c].zero));
      }
  std::vector<double> err(block * n);
  std::vector<float> column(groupSize);
  for (int64_t i1 = 0; i1 < k; i1 += block) {
    int64_t i2 = std::min(k, i1 + block);
    for (int64_t i = i1; i < i2; ++i) {
      if (!settings.actOrder && i % groupSize == 0) {
        int64_t g = i / groupSize, count = std::min(k, i + groupSize) - i;
        for (int64_t c = 0; c < n; ++c) {
          for (int64_t r = 0; r < count; ++r)
            column[r] = float(cur[(i + r) * n + c]);
          fits[c] = fit(column.data(), 1, count, g, c);
          q.scales[g * n + c] = fits[c].scale;
          if (!symmetric)
            q.zeroPoints[g * n + c] = int8_t(uint8_t(fits[c].zero));
        }
      }
      // Round row i; its error, scaled by 1 / U[i][i], moves to the rows
      // after it in proportion to U[i][j].
      const double *ui = &u[i * k];
      double *e = &err[(i - i1) * n];
      int64_t row = order[i];
      const GroupQuantizer *rowFits =
          settings.actOrder ? &fits[(row / groupSize) * n] : fits.data();
      for (int64_t c = 0; c < n; ++c) {
        float v = float(cur[i * n + c]);
        q.values[row * n + c] = int8_t(uint8_t(rowFits[c].code(v)));
        e[c] = (double(v) - double(rowFits[c].dequantized(v))) / ui[i];
      }
      for (int64_t j = i + 1; j < i2; ++j) {
        double f = ui[j];
        double *row = &cur[j * n];
        for (int64_t c = 0; c < n; ++c)
          row[c] -= f * e[c];
      }
    }
    // The block's errors reach the later blocks at once.
    for (int64_t j = i2; j < k; ++j) {
      double *row = &cur[j * n];
      for (int64_t i = i1; i < i2; ++i) {
        double f = u[i * k + j];
        const double *e = &err[(i - i1) * n];
        for (int64_t c = 0; c < n; ++c)
          row[c] -= f * e[c];
      }
    }
  }
  return q;
}

double mlir::kiln::relativeOutputError(const std::vector<float> &w,
                                       const QuantizedWeights &q, int64_t k,
                                       int64_t n, int64_t groupSize,
                                       const std::vector<double> &hessian) {
  std::vector<double> d(k * n);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c)
      d[r * n + c] = dequantizedWeight(q, r, c, n, groupSize) - w[r * n + c];
  // sum_c v_c^T H v_c through H's rows: (H v)[a] = sum_b H[a][b] v[b].
  auto quadratic = [&](auto value) {
    double total = 0.0;
    std::vector<double> hv(n);
    for (int64_t a = 0; a < k; ++a) {
      std::fill(hv.begin(), hv.end(), 0.0);
      for (int64_t b = 0; b < k; ++b) {
        double h = hessian[a * k + b];
        if (h == 0.0)
          continue;
        for (int64_t c = 0; c < n; ++c)
          hv[c] += h * value(b * n + c);
      }
      for (int64_t c = 0; c < n; ++c)
        total += value(a * n + c) * hv[c];
    }
    return total;
  };
  double num = quadratic([&](int64_t i) { return d[i]; });
  double den = quadratic([&](int64_t i) { return double(w[i]); });
  return den > 0.0 ? std::sqrt(std::max(num, 0.0) / den) : 0.0;
}
