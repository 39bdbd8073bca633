//===- KernelConfig.cpp - tile sizes for CPU kernels ----------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/KernelConfig.h"

#include <algorithm>

using namespace mlir::kiln;

ContractionConfig mlir::kiln::chooseContractionConfig(
    const ContractionShape &shape, const CpuTarget &target) {
  ContractionConfig c;
  int64_t lanes = target.vectorBits / 32;
  // Two vectors of columns; the rows use what is left of the register file
  // after the two B vectors and a broadcast temporary.
  c.nr = 2 * lanes;
  int64_t accumulatorsPerRow = 2;
  if (shape.n <= lanes) {
    // Narrow outputs: one vector per row, twice the rows.
    c.nr = lanes;
    accumulatorsPerRow = 1;
  }
  int64_t freeRegisters = int64_t(target.vectorRegisters) - 4;
  c.mr = std::max<int64_t>(1, freeRegisters / accumulatorsPerRow);
  // Measured on AVX-512 (1024^3, bench/perf): 10 rows x 2 vectors with
  // kc = 512 beat 14 x 2 with kc = 192 by ~12% (fewer C reloads, fewer
  // broadcast streams).
  c.mr = std::min<int64_t>(c.mr, 10);
  c.mr = std::min(c.mr, shape.m);
  // K block: a B block (kc x nr) of about 1/16 of L2, at most 512 deep.
  c.kc = std::clamp<int64_t>((target.l2Bytes / 16) / (c.nr * 4), 64, 512);
  c.kc = std::min(c.kc, shape.k);
  return c;
}
