//===- KilnOpsMatMul.h - shared type inference of weight matmuls -*- C++ -*-===//
//
// Part of kiln. The result type of the matmuls with a [K, N] weight operand
// (kiln.quantized_matmul, kiln.dynamic_quantized_matmul,
// kiln.integer_matmul): the lhs's shape [.., M, K] with N last.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNOPSMATMUL_H
#define KILN_DIALECTS_KILN_KILNOPSMATMUL_H

#include "mlir/IR/Location.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace mlir::kiln {

/// Infers [.., M, N] of `element` (null: the lhs's element type) from
/// `lhs` [.., M, K] and `weights` [K, N]; an error naming `opName` and
/// `lhsName` when the ranks do not fit.
LogicalResult inferWeightMatMulType(std::optional<Location> loc,
                                    llvm::StringRef opName,
                                    llvm::StringRef lhsName, Type lhs,
                                    Type weights, Type element,
                                    llvm::SmallVectorImpl<Type> &inferred);

} // namespace mlir::kiln

#endif // KILN_DIALECTS_KILN_KILNOPSMATMUL_H
