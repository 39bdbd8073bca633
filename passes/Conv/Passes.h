//===- Passes.h - convolution algorithm passes --------------------*- C++ -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CONV_PASSES_H
#define KILN_PASSES_CONV_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace kiln {

#define GEN_PASS_DECL
#include "passes/Conv/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Conv/Passes.h.inc"

} // namespace kiln
} // namespace mlir

#endif // KILN_PASSES_CONV_PASSES_H
