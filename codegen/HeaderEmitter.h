//===- HeaderEmitter.h - the C header of a compiled model ---------*- C++ -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_HEADEREMITTER_H
#define KILN_CODEGEN_HEADEREMITTER_H

#include "codegen/Artifact.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace kiln {

/// Writes `<name>.h`: the descriptor declaration, one macro block per input
/// and output (name, rank, element count, dims), the workspace size and a
/// typed `static inline <name>_run(ctx, inputs..., outputs...)` that calls
/// kiln_model_run. The banner names the `source` model, the header's own
/// file name and the artifact (object or library) it goes with.
void emitCHeader(const ModelSignature &model, StringRef source,
                 StringRef headerFile, StringRef artifactFile,
                 llvm::raw_ostream &os);

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_HEADEREMITTER_H
