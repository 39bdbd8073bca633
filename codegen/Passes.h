//===- Passes.h - kiln code generation passes ---------------------*- C++ -*-===//
//
// Part of kiln. Passes that lower the kiln dialect towards native code.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_PASSES_H
#define KILN_CODEGEN_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace kiln {

#define GEN_PASS_DECL
#include "codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Passes.h.inc"

/// Registers every codegen pass (for kiln-opt and textual pipelines).
inline void registerCodegenPasses() { registerKilnCodegenPasses(); }

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_PASSES_H
