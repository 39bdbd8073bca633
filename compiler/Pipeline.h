//===- Pipeline.h - kiln's pass pipelines and insertion points ----*- C++ -*-===//
//
// Part of kiln. The compile pipeline as C++ functions over options structs
// (no global cl::opts), with named insertion points where plugins and
// later passes hook in:
//
//   import ─▶ after-import ─▶ canonicalize ─▶ before-quantize ─▶ [quantize,
//   lmul, fuse] ─▶ after-fusion ─▶ [kv-layout] ─▶ before-lowering ─▶
//   kiln→linalg→buffers→workspace plan ─▶ before-llvm ─▶ LLVM dialect
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PIPELINE_H
#define KILN_COMPILER_PIPELINE_H

#include "passes/Conv/Passes.h"
#include "passes/KVLayout/Passes.h"
#include "passes/LMul/Passes.h"
#include "passes/Quantize/Passes.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"
#include <functional>
#include <optional>

namespace mlir {
class OpPassManager;
namespace kiln {

enum class InsertionPoint {
  AfterImport,
  BeforeQuantize,
  AfterFusion,
  BeforeLowering,
  BeforeLLVM,
};

/// "after-import", "before-quantize", ...
StringRef insertionPointName(InsertionPoint point);
std::optional<InsertionPoint> parseInsertionPoint(StringRef name);
/// All names, for error messages and --help.
std::string insertionPointList();

/// Called at every insertion point with the pass manager of the module.
using PipelineHook = std::function<void(InsertionPoint, OpPassManager &)>;

struct GraphPipelineOptions {
  PipelineHook hook;
  /// Run kiln-weight-quantize (before L-Mul) with these options.
  std::optional<KilnWeightQuantizePassOptions> weightQuantize;
  /// Run kiln-lmul (after quantization, before fusion) with these options.
  std::optional<KilnLMulPassOptions> lmul;
  /// Run kiln-w8a8-quantize (next to kiln-weight-quantize) with these
  /// options.
  std::optional<KilnW8A8QuantizePassOptions> w8a8Quantize;
  /// Run kiln-kv-layout (after fusion) with these options.
  std::optional<KilnKVLayoutPassOptions> kvLayout;
  /// Run kiln-smooth-quant (right before kiln-w8a8-quantize) with these
  /// options (calibrated channel maxima).
  std::optional<KilnSmoothQuantPassOptions> smoothQuant;
  /// Run kiln-winograd (after batch-norm folding) with these options.
  std::optional<KilnWinogradPassOptions> winograd;
};

/// Graph-level passes on the kiln dialect (canonicalization, weight
/// quantization and kiln-lmul when their options are set, fusion; KV
/// layout slots in at its point).
void buildGraphPipeline(OpPassManager &pm, const GraphPipelineOptions &options);

} // namespace kiln
} // namespace mlir

#endif // KILN_COMPILER_PIPELINE_H
