//===- ConvAlgorithmCost.h - direct or Winograd for a 3x3 conv ----*- C++
//-*-===//
//
// Part of kiln. The latency estimate that chooses, per 3x3 stride-1
// convolution, among the direct kernel and Winograd F(2x2, 3x3) and
// F(4x4, 3x3) (`kiln compile --winograd`). The shipped learned models
// rank configurations of one kernel and cannot compare algorithms, so this
// is a roofline over each algorithm's phases on one core, calibrated on
// chains of ResNet-50's 3x3 convs (bench/perf/conv_shapes.py --chain 8).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_CONVALGORITHMCOST_H
#define KILN_COSTMODEL_CONVALGORITHMCOST_H

#include "costmodel/LMulCost.h"
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::kiln {

/// A 3x3 stride-1 convolution: `batch` images of `channels` in, `filters`
/// out, an outH x outW output map.
struct Conv3x3Shape {
  int64_t batch = 1, channels = 1, filters = 1, outH = 1, outW = 1;
  /// The direct kernel multiplies bf16 pairs (--precision=bf16:
  /// vdpbf16ps, two products per lane, half the weight bytes); Winograd's
  /// GEMM stays f32.
  bool bf16Direct = false;
};

/// 0: direct; 2 or 4: Winograd F(m x m, 3x3).
struct ConvAlgorithmEstimate {
  int64_t winogradTile = 0;
  double cycles = 0;
};

/// Estimated cycles on one core of the direct kernel and of each Winograd
/// tile, in that order:
/// - direct: its multiply-adds at the FMA peak, or its weights from
///   memory if that is slower (the kernel prefetches them);
/// - Winograd F(m): the batched GEMM's multiply-adds ((m + 2)^2 per m x m
///   tile, channel and filter) at the peak, plus its transformed weights
///   U ((m + 2)^2 per filter and channel, read as broadcasts: measured
///   ~15 GB/s, ~0.35 of the memory rate), plus the transforms' traffic
///   (the input, V and M written and read, the output) at the rate of the
///   level their working set fits.
std::vector<ConvAlgorithmEstimate>
estimateConvAlgorithms(const Conv3x3Shape &shape, const CpuThroughput &cpu);

/// The estimate with the fewest cycles (the first of equals).
const ConvAlgorithmEstimate &
fastestConvAlgorithm(const std::vector<ConvAlgorithmEstimate> &estimates);

/// "direct", "F(2x2)" or "F(4x4)".
std::string convAlgorithmName(int64_t winogradTile);

/// "F(4x4) 0.36 Mcycles, F(2x2) 0.71 Mcycles, direct 0.87 Mcycles" for
/// --report: every estimate, cheapest first.
std::string
describeConvAlgorithms(const std::vector<ConvAlgorithmEstimate> &estimates);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_CONVALGORITHMCOST_H
