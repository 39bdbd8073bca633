//===- QuantCost.h - when quantized weights pay off -------------*- C++ -*-===//
//
// Part of kiln. The roofline behind `kiln compile --quantize=auto`: the
// estimated cycles of a [M, K] x [K, N] matmul on one CPU core with fp32
// weights and with weights stored at some bits per weight and dequantized
// in the kernel's inner loop. Quantized weights move fewer bytes but cost
// integer-to-float work per weight and row tile; they pay where the matmul
// is memory-bound (few rows: GEMV, decode) and not where it is compute-bound.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_QUANTCOST_H
#define KILN_COSTMODEL_QUANTCOST_H

#include "costmodel/LMulCost.h"

namespace mlir::kiln {

struct MatmulShape {
  int64_t m = 1, k = 1, n = 1;
};

/// Vector-lane ops spent per weight and row tile to turn stored integers
/// into f32 (unpack, convert, scale): calibrated on the w4/w8/w2w4 GEMV
/// 4096x4096 kernels (~0.13-0.15 cycles per weight on AVX-512, i.e. ~4-5
/// lane-ops of 2 x 16 lanes).
constexpr double kDequantLaneOps = 4.5;
/// Rows that share one dequantized weight vector (the kernel's row tile).
constexpr int64_t kQuantRowTile = 4;

/// Estimated cycles with weights of `bitsPerWeight` (32: fp32, no
/// dequantization).
double matmulCycles(const MatmulShape &shape, double bitsPerWeight,
                    const CpuThroughput &cpu);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_QUANTCOST_H
