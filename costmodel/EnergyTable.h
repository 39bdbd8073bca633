//===- EnergyTable.h - per-op energy figures and estimates --------*- C++ -*-===//
//
// Part of kiln. The op-energy table of the analytic cost model: 45 nm
// figures from Horowitz (ISSCC 2014) as quoted in Luo & Sun 2024 ("Addition
// is All You Need", Table 1), and the energy of a count of arithmetic ops.
// Only arithmetic is modelled (no memory traffic, no transcendental ops):
// that is the part L-Mul changes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_ENERGYTABLE_H
#define KILN_COSTMODEL_ENERGYTABLE_H

#include <cstdint>

namespace mlir::kiln {

/// Energy per operation in picojoules.
struct EnergyTable {
  double int8Add = 0.03, int8Mul = 0.2;
  double int32Add = 0.1, int32Mul = 3.1;
  double fp16Add = 0.4, fp16Mul = 1.1;
  double fp32Add = 0.9, fp32Mul = 3.7;

  /// The 45 nm table (Horowitz ISSCC'14; Luo & Sun 2024, Table 1).
  static EnergyTable horowitz45nm() { return EnergyTable(); }

  /// One L-Mul: an integer add as wide as the operand format. The table has
  /// 8- and 32-bit adds only, so formats up to 8 bits (e4m3, e5m2) cost an
  /// int8 add and wider ones (bf16, fp16, fp32 and k-bit mantissas in an
  /// fp32 container) an int32 add (an upper bound for the 16-bit formats).
  double lmul(unsigned operandBits) const {
    return operandBits <= 8 ? int8Add : int32Add;
  }
};

/// Counts of the arithmetic of one inference, by how each op is executed.
struct ArithmeticCounts {
  uint64_t fp32Muls = 0;   // float products computed as fp32 multiplies
  uint64_t fp32Adds = 0;   // float adds (accumulation, elementwise add/sub)
  uint64_t lmul8 = 0;      // L-Mul products on <= 8-bit operand formats
  uint64_t lmul32 = 0;     // L-Mul products on wider operand formats

  ArithmeticCounts &operator+=(const ArithmeticCounts &o) {
    fp32Muls += o.fp32Muls;
    fp32Adds += o.fp32Adds;
    lmul8 += o.lmul8;
    lmul32 += o.lmul32;
    return *this;
  }
};

/// Energy of `counts` in picojoules, split into products and adds.
struct EnergyEstimate {
  double multiplyPJ = 0;
  double addPJ = 0;
  double totalPJ() const { return multiplyPJ + addPJ; }
};

EnergyEstimate estimateEnergy(const ArithmeticCounts &counts,
                              const EnergyTable &table);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_ENERGYTABLE_H
