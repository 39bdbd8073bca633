//===- EnergyReport.h - energy per inference with and without L-Mul -*- C++ -*-===//
//
// Part of kiln. Counts the float products and adds of a kiln-dialect module
// and prices them with the cost model's op-energy table, for fp32 and for
// each L-Mul scope (kiln compile --report).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_LMUL_ENERGYREPORT_H
#define KILN_PASSES_LMUL_ENERGYREPORT_H

#include "costmodel/EnergyTable.h"
#include "costmodel/LMulCost.h"
#include "passes/LMul/LMulScope.h"
#include "passes/LMul/Passes.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::kiln {

/// The arithmetic of one op the report counts.
struct ArithmeticSite {
  enum class Kind { AttentionMatMul, MatMul, Conv, Mul, AddSub };
  Operation *op;
  Kind kind;
  uint64_t products; // multiplications (MACs for matmul/conv)
  uint64_t adds;     // accumulations or elementwise adds
  uint64_t bytes;    // operands read once + result written once

  OpWork work() const { return {products, adds, bytes}; }
};

/// Every float matmul, conv2d, mul, add and sub under `root`.
SmallVector<ArithmeticSite> collectArithmetic(Operation *root);

/// Counts with L-Mul applied to the products `scope` covers, on operands of
/// `operandBits` bits; nullopt scope: as the ops' `lmul` attributes say.
ArithmeticCounts countArithmetic(ArrayRef<ArithmeticSite> sites,
                                 std::optional<LMulScope> scope,
                                 unsigned operandBits);

/// Prints the estimate for fp32, each scope and this compile. `mode`: the
/// compile's L-Mul options (format for the what-if scopes), or null.
void printEnergyReport(Operation *root, const KilnLMulPassOptions *mode,
                       const EnergyTable &table, llvm::raw_ostream &os);

} // namespace mlir::kiln

#endif // KILN_PASSES_LMUL_ENERGYREPORT_H
