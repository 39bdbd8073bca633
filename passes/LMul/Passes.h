//===- Passes.h - L-Mul graph passes ------------------------------*- C++ -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_LMUL_PASSES_H
#define KILN_PASSES_LMUL_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace kiln {

#define GEN_PASS_DECL
#include "passes/LMul/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/LMul/Passes.h.inc"

/// Checks a set of kiln-lmul options (scope, format, mantissa, rounding);
/// on failure returns false and says why in `error`.
bool validateLMulOptions(const KilnLMulPassOptions &options,
                         std::string &error);

} // namespace kiln
} // namespace mlir

#endif // KILN_PASSES_LMUL_PASSES_H
