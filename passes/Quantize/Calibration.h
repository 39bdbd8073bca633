//===- Calibration.h - activation statistics for w8a8 -----------*- C++ -*-===//
//
// Part of kiln. What static int8 activation quantization needs to know
// about the float model (plain C++, no MLIR): the range of each matmul's
// activation input over calibration samples (min-max or a percentile of
// |x|), its per-channel maxima, and the SmoothQuant factors. Which matmuls:
// W8A8Candidates.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZE_CALIBRATION_H
#define KILN_PASSES_QUANTIZE_CALIBRATION_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlir::kiln {

enum class CalibrationMethod { MinMax, Percentile };

/// Statistics of one matmul's activation input ([rows, channels] views of
/// every sample it saw).
class ActivationStats {
public:
  /// `keepValues`: keep |x| for percentiles (memory: at most kMaxKept
  /// floats); without it only the maxima are recorded.
  ActivationStats(int64_t channels, bool keepValues);

  /// Adds `rows` rows of `channels` values.
  void observe(const float *x, int64_t rows);

  /// The range to quantize to: max |x| (MinMax), or the `percentile`-th
  /// percentile of |x| over every value seen (nearest rank). NaNs are
  /// ignored; 0 when nothing finite was seen. Past kMaxKept values the
  /// percentile is over an evenly strided subset (every 2^i-th value);
  /// without kept values it is the maximum.
  float range(CalibrationMethod method, double percentile) const;

  /// max |x[:, j]| per channel j.
  const std::vector<float> &channelMax() const { return channelMax_; }
  int64_t channels() const { return channels_; }

  static constexpr size_t kMaxKept = size_t(1) << 22; // 16 MiB

private:
  int64_t channels_;
  std::vector<float> channelMax_;
  float max_ = 0.0f;
  bool keepValues_;
  std::vector<float> kept_; // |x|, for percentiles
  uint64_t seen_ = 0, stride_ = 1;
};

/// SmoothQuant (techniques.md): s_j = max|X_j|^alpha / max|W_j|^(1-alpha)
/// per input channel j, from the activations' channel maxima and the
/// weights' row maxima (over every output column of every matmul sharing
/// the activation), the weight maxima and the factors clamped to >= 1e-5
/// as in SmoothQuant's smooth.py. A channel whose activation or weight
/// maximum is 0 (never seen in calibration) keeps s_j = 1, so that a value
/// there at run time is not blown up. Computed in double, returned as f32.
std::vector<float> smoothingFactors(const std::vector<float> &channelMax,
                                    const std::vector<float> &weightRowMax,
                                    double alpha);

} // namespace mlir::kiln

#endif // KILN_PASSES_QUANTIZE_CALIBRATION_H
