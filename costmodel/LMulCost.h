//===- LMulCost.h - where L-Mul pays, by latency or by energy ------*- C++ -*-===//
//
// Part of kiln. The analytic cost model behind `kiln compile --objective`:
// a roofline estimate of one op's time on a CPU core with fp32 products and
// with L-Mul products (an integer-SIMD emulation there), and its arithmetic
// energy from the op-energy table. `latency` puts L-Mul only where it costs
// no time (memory-bound ops, whose products hide behind the traffic);
// `energy` puts it wherever it lowers the energy. The learned model of
// issue 4 replaces the roofline's constants with measured kernels.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_LMULCOST_H
#define KILN_COSTMODEL_LMULCOST_H

#include "costmodel/EnergyTable.h"
#include <cstdint>
#include <optional>
#include <string_view>

namespace mlir::kiln {

/// What `kiln compile --objective` minimizes.
enum class Objective { Latency, Energy };

/// "latency", "energy".
std::optional<Objective> parseObjective(std::string_view name);

/// One op's work: float products, float adds and the bytes it moves
/// (operands read once, result written once).
struct OpWork {
  uint64_t products = 0;
  uint64_t adds = 0;
  uint64_t bytes = 0;
};

/// Throughputs of one CPU core, per cycle.
struct CpuThroughput {
  double fmaLanes;       // fp32 multiply-adds (2 FMA ports x vector lanes)
  double intLanes;       // integer vector lane-ops (2 ALU ports x lanes)
  double cacheBytes;     // working sets up to l2Bytes stream at this rate
  double memoryBytes;    // larger ones at this (DRAM, one core)
  uint64_t l2Bytes;
  /// Integer ops per L-Mul product in the emulation: operand rounding,
  /// the exponent|mantissa add and the zero/underflow/overflow/NaN/Inf
  /// selects of codegen/KilnToLinalg/LMul.cpp. Calibration: a 256x384x384
  /// matmul runs ~23x slower with L-Mul than fp32 on AVX-512
  /// (bench/lmul/bench_lmul.py --matmul).
  double lmulIntOps = 24;

  /// A core with `vectorBits`-wide registers and an `l2Bytes` L2.
  static CpuThroughput forVector(unsigned vectorBits, uint64_t l2Bytes);
};

/// Estimated cycles of `work` with fp32 products / with L-Mul products.
double fp32Cycles(const OpWork &work, const CpuThroughput &cpu);
double lmulCycles(const OpWork &work, const CpuThroughput &cpu);

/// Arithmetic energy (pJ) of `work` with fp32 products / with L-Mul
/// products on `operandBits`-bit operands.
double fp32Energy(const OpWork &work, const EnergyTable &table);
double lmulEnergy(const OpWork &work, unsigned operandBits,
                  const EnergyTable &table);

/// Whether `objective` is better served by L-Mul for this op. Latency:
/// only if it costs no extra cycles; energy: if it saves energy.
bool prefersLMul(const OpWork &work, unsigned operandBits, Objective objective,
                 const CpuThroughput &cpu, const EnergyTable &table);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_LMULCOST_H
