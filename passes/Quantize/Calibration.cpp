//===- Calibration.cpp - activation statistics for static w8a8 ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/Calibration.h"

#include <algorithm>
#include <cmath>

using namespace mlir::kiln;

ActivationStats::ActivationStats(int64_t channels, bool keepValues)
    : channels_(channels), channelMax_(channels, 0.0f),
      keepValues_(keepValues) {}

void ActivationStats::observe(const float *x, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < channels_; ++j) {
      float a = std::fabs(x[r * channels_ + j]);
      if (std::isnan(a))
        continue;
      channelMax_[j] = std::max(channelMax_[j], a);
      max_ = std::max(max_, a);
      if (!keepValues_ || seen_++ % stride_ != 0)
        continue;
      kept_.push_back(a);
      // Too many to keep: halve what is kept and keep every other one
      // from now on, so the subset stays evenly spread.
      if (kept_.size() >= kMaxKept) {
        size_t half = 0;
        for (size_t i = 0; i < kept_.size(); i += 2)
          kept_[half++] = kept_[i];
        kept_.resize(half);
        stride_ *= 2;
      }
    }
}

float ActivationStats::range(CalibrationMethod method,
                             double percentile) const {
  if (method == CalibrationMethod::MinMax || kept_.empty())
    return std::isfinite(max_) ? max_ : 0.0f;
  // Nearest rank: the smallest value with at least p% of the values <= it.
  std::vector<float> sorted(kept_);
  double rank = std::ceil(percentile / 100.0 * double(sorted.size()));
  size_t index = size_t(std::clamp(rank, 1.0, double(sorted.size()))) - 1;
  std::nth_element(sorted.begin(), sorted.begin() + index, sorted.end());
  float v = sorted[index];
  return std::isfinite(v) ? v : 0.0f;
}

std::vector<float>
mlir::kiln::smoothingFactors(const std::vector<float> &channelMax,
                             const std::vector<float> &weightRowMax,
                             double alpha) {
  std::vector<float> s(channelMax.size(), 1.0f);
  for (size_t j = 0; j < channelMax.size() && j < weightRowMax.size(); ++j) {
    double x = channelMax[j], w = weightRowMax[j];
    if (!(x > 0) || !(w > 0))
      continue;
    // As SmoothQuant's smooth.py: both the weight maxima and the factors
    // are clamped to >= 1e-5.
    double f = std::max(
        std::pow(x, alpha) / std::pow(std::max(w, 1e-5), 1.0 - alpha), 1e-5);
    if (std::isfinite(float(f)))
      s[j] = float(f);
  }
  return s;
}
