//===- LMulScope.h - which products an L-Mul scope covers ---------*- C++ -*-===//
//
// Part of kiln. Shared by the kiln-lmul pass and the energy report.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_LMUL_LMULSCOPE_H
#define KILN_PASSES_LMUL_LMULSCOPE_H

#include "dialects/Kiln/KilnOps.h"
#include <optional>

namespace mlir::kiln {

enum class LMulScope { Attention, MatMul, All };

/// "attention", "matmul", "all".
std::optional<LMulScope> parseLMulScope(StringRef name);

/// Q*K^T (its result reaches a softmax through scale / mask / layout ops)
/// or softmax(..)*V (an operand is a softmax result up to layout ops).
bool isAttentionMatMul(MatMulOp op);

/// Whether `op` is a float matmul / conv2d / mul that `scope` covers.
bool inLMulScope(Operation *op, LMulScope scope);

} // namespace mlir::kiln

#endif // KILN_PASSES_LMUL_LMULSCOPE_H
