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
  c.mr = std::min<int64_t>(c.mr, 14);
  c.mr = std::min(c.mr, shape.m);
  // K block: the B block (kc x nr) takes about half of L1, leaving room for
  // the A rows it meets.
  c.kc = std::max<int64_t>(16, (target.l1Bytes / 2) / (c.nr * 4));
  c.kc = std::min(c.kc, shape.k);
  return c;
}
