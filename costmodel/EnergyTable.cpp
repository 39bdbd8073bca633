//===- EnergyTable.cpp - per-op energy figures and estimates --------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "costmodel/EnergyTable.h"

using namespace mlir::kiln;

EnergyEstimate mlir::kiln::estimateEnergy(const ArithmeticCounts &counts,
                                          const EnergyTable &table) {
  EnergyEstimate e;
  e.multiplyPJ = double(counts.fp32Muls) * table.fp32Mul +
                 double(counts.lmul8) * table.lmul(8) +
                 double(counts.lmul32) * table.lmul(32);
  e.addPJ = double(counts.fp32Adds) * table.fp32Add;
  return e;
}
