//===- QuantCost.cpp - when quantized weights pay off ---------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "costmodel/QuantCost.h"

#include <algorithm>

using namespace mlir::kiln;

double mlir::kiln::matmulCycles(const MatmulShape &shape, double bitsPerWeight,
                                const CpuThroughput &cpu) {
  double weights = double(shape.k) * double(shape.n);
  double compute = double(shape.m) * weights / cpu.fmaLanes;
  if (bitsPerWeight < 32) {
    double tiles = double((shape.m + kQuantRowTile - 1) / kQuantRowTile);
    compute += tiles * weights * kDequantLaneOps / cpu.fmaLanes;
  }
  double bytes = weights * bitsPerWeight / 8 +
                 4.0 * double(shape.m) * double(shape.k + shape.n);
  double rate = bytes <= double(cpu.l2Bytes) ? cpu.cacheBytes : cpu.memoryBytes;
  return std::max(compute, bytes / rate);
}
