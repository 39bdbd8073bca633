//===- ConvAlgorithmCost.cpp - direct or Winograd for a 3x3 conv ----------===//
//
// Part of kiln. Calibration (Zen 5, 1 thread, chains of 8 equal convs,
// ms per conv, direct / F(2x2) / F(4x4)): 64 channels at 56x56 0.85 /
// 0.71 / 0.36; 128 at 28x28 0.83 / 0.49 / 0.33; 256 at 14x14 0.83 / 0.65
// / 0.90; 512 at 7x7 0.87 / 1.09 / 2.91. The estimates order every row
// the same way; the small maps lose because their GEMMs reuse each
// transformed weight over few tiles and stream U (16/9 of the direct
// kernel's weights for F(2x2), 4x for F(4x4)). With a bf16 direct kernel
// (twice the products per cycle) ResNet-50 measured 16.3 ms direct, 17.3
// with F(2x2) at 14x14 and F(4x4) above, 15.7 with F(4x4) only above.
//
// Zen 3 (AVX2, 1 thread, same chains): 64 channels at 56x56 2.54 / 1.68
// / 1.39; 128 at 28x28 2.42 / 1.73 / 1.32; 256 at 14x14 2.53 / 1.93 /
// 1.17; 512 at 7x7 2.76 / 1.57 / 3.60. Here the GEMM's time and U's
// stream overlap: 512 at 7x7 F(2x2) ran 4.5 Mcycles against 4.8 for the
// larger of the two and 9.0 for their sum, while on Zen 5 256 at 14x14
// F(4x4) ran their sum (3.8 measured, 3.9 sum, 2.7 larger).
//
//===----------------------------------------------------------------------===//

#include "costmodel/ConvAlgorithmCost.h"

#include <algorithm>
#include <cstdio>

using namespace mlir::kiln;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// A compile-time packed left operand read as broadcasts streams at about
/// this fraction of the memory rate (U of the 14x14 and 7x7 convs above).
constexpr double kBroadcastStreamShare = 0.35;

double directCycles(const Conv3x3Shape &s, const CpuThroughput &cpu) {
  double macs = double(s.batch) * s.filters * s.channels * 9 * s.outH * s.outW;
  double weights = 4.0 * s.filters * s.channels * 9;
  double pairs = s.bf16Direct ? 2 : 1;
  return std::max(macs / (cpu.fmaLanes * pairs),
                  weights / pairs / cpu.memoryBytes);
}

double winogradCycles(const Conv3x3Shape &s, int64_t m,
                      const CpuThroughput &cpu) {
  int64_t alpha = m + 2, points = alpha * alpha;
  int64_t tiles = s.batch * ceilDiv(s.outH, m) * ceilDiv(s.outW, m);
  // The GEMM's columns are tiles, in whole vectors.
  int64_t lanes = std::max<int64_t>(1, int64_t(cpu.fmaLanes) / 2);
  double paddedTiles = double(ceilDiv(tiles, lanes) * lanes);
  double macs = double(points) * s.filters * s.channels * paddedTiles;
  double u = 4.0 * points * s.filters * s.channels;
  double v = 4.0 * points * s.channels * tiles;
  double mBytes = 4.0 * points * s.filters * tiles;
  double input = 4.0 * s.batch * s.channels * (s.outH + 2) * (s.outW + 2);
  double output = 4.0 * s.batch * s.filters * s.outH * s.outW;
  double traffic = input + 2 * v + 2 * mBytes + output;
  double rate = std::max(v, mBytes) <= double(cpu.l2Bytes) ? cpu.cacheBytes
                                                           : cpu.memoryBytes;
  double gemm = macs / cpu.fmaLanes;
  double stream = u / (cpu.memoryBytes * kBroadcastStreamShare);
  // With 256-bit vectors the GEMM's multiply-adds hide U's stream; with
  // 512-bit ones (twice the products per broadcast) they do not.
  double gemmAndStream = lanes <= 8 ? std::max(gemm, stream) : gemm + stream;
  return gemmAndStream + traffic / rate;
}

} // namespace

std::vector<ConvAlgorithmEstimate>
mlir::kiln::estimateConvAlgorithms(const Conv3x3Shape &shape,
                                   const CpuThroughput &cpu) {
  return {{0, directCycles(shape, cpu)},
          {2, winogradCycles(shape, 2, cpu)},
          {4, winogradCycles(shape, 4, cpu)}};
}

const ConvAlgorithmEstimate &mlir::kiln::fastestConvAlgorithm(
    const std::vector<ConvAlgorithmEstimate> &estimates) {
  return *std::min_element(
      estimates.begin(), estimates.end(),
      [](const ConvAlgorithmEstimate &a, const ConvAlgorithmEstimate &b) {
        return a.cycles < b.cycles;
      });
}

std::string mlir::kiln::convAlgorithmName(int64_t winogradTile) {
  if (!winogradTile)
    return "direct";
  std::string m = std::to_string(winogradTile);
  return "F(" + m + "x" + m + ")";
}

std::string mlir::kiln::describeConvAlgorithms(
    const std::vector<ConvAlgorithmEstimate> &estimates) {
  std::vector<ConvAlgorithmEstimate> sorted = estimates;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const ConvAlgorithmEstimate &a, const ConvAlgorithmEstimate &b) {
        return a.cycles < b.cycles;
      });
  std::string text;
  for (const ConvAlgorithmEstimate &e : sorted) {
    char cycles[32];
    std::snprintf(cycles, sizeof cycles, " %.3g Mcycles", e.cycles * 1e-6);
    text +=
        (text.empty() ? "" : ", ") + convAlgorithmName(e.winogradTile) + cycles;
  }
  return text;
}
