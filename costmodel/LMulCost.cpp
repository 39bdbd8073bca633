//===- LMulCost.cpp - where L-Mul pays, by latency or by energy -----------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "costmodel/LMulCost.h"

#include <algorithm>

using namespace mlir::kiln;

std::optional<Objective> mlir::kiln::parseObjective(std::string_view name) {
  if (name == "latency")
    return Objective::Latency;
  if (name == "energy")
    return Objective::Energy;
  return std::nullopt;
}

CpuThroughput CpuThroughput::forVector(unsigned vectorBits, uint64_t l2Bytes) {
  double lanes = std::max(1u, vectorBits / 32);
  CpuThroughput cpu;
  cpu.fmaLanes = 2 * lanes;
  cpu.intLanes = 2 * lanes;
  cpu.cacheBytes = 64;  // L2 -> core, one line per cycle
  cpu.memoryBytes = 10; // ~30 GB/s at 3 GHz
  cpu.l2Bytes = l2Bytes;
  return cpu;
}

namespace {
double memoryCycles(const OpWork &work, const CpuThroughput &cpu) {
  double rate = work.bytes <= cpu.l2Bytes ? cpu.cacheBytes : cpu.memoryBytes;
  return double(work.bytes) / rate;
}
} // namespace

double mlir::kiln::fp32Cycles(const OpWork &work, const CpuThroughput &cpu) {
  // A product and its accumulation fuse into one FMA; lone adds take one.
  double flops = double(std::max(work.products, work.adds));
  return std::max(flops / cpu.fmaLanes, memoryCycles(work, cpu));
}

double mlir::kiln::lmulCycles(const OpWork &work, const CpuThroughput &cpu) {
  double compute = double(work.products) * cpu.lmulIntOps / cpu.intLanes +
                   double(work.adds) / cpu.fmaLanes;
  return std::max(compute, memoryCycles(work, cpu));
}

double mlir::kiln::fp32Energy(const OpWork &work, const EnergyTable &table) {
  return double(work.products) * table.fp32Mul +
         double(work.adds) * table.fp32Add;
}

double mlir::kiln::lmulEnergy(const OpWork &work, unsigned operandBits,
                              const EnergyTable &table) {
  return double(work.products) * table.lmul(operandBits) +
         double(work.adds) * table.fp32Add;
}

bool mlir::kiln::prefersLMul(const OpWork &work, unsigned operandBits,
                             Objective objective, const CpuThroughput &cpu,
                             const EnergyTable &table) {
  if (work.products == 0)
    return false;
  if (objective == Objective::Latency)
    return lmulCycles(work, cpu) <= fp32Cycles(work, cpu);
  return lmulEnergy(work, operandBits, table) < fp32Energy(work, table);
}
