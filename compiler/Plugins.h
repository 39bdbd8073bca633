//===- Plugins.h - pass plugins at the pipeline's insertion points -*- C++ -*-===//
//
// Part of kiln. Loads pass plugins through MLIR's plugin ABI
// (mlirGetPassPluginInfo) and turns `--plugin-pipeline=POINT:PIPELINE`
// specs into a PipelineHook that adds the passes at their insertion point.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PLUGINS_H
#define KILN_COMPILER_PLUGINS_H

#include "compiler/Pipeline.h"
#include "llvm/ADT/ArrayRef.h"
#include <string>

namespace mlir {
namespace kiln {

/// Loads each plugin and registers its passes. On failure returns false and
/// sets `error` (naming the file and the loader's reason).
bool loadPassPlugins(llvm::ArrayRef<std::string> paths, std::string &error);

/// Parses specs like "after-fusion:my-pass{opt=1},canonicalize" into a hook.
/// Every pipeline is checked now (unknown insertion point, unknown pass, bad
/// options), so mistakes surface before any compile work. Returns false and
/// sets `error` on a bad spec.
bool parsePluginPipelines(llvm::ArrayRef<std::string> specs, PipelineHook &hook,
                          std::string &error);

} // namespace kiln
} // namespace mlir

#endif // KILN_COMPILER_PLUGINS_H
